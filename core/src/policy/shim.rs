//! TEMPORARY stand-ins until the expression language lands (removed when it does).
#![allow(missing_docs, unreachable_pub, dead_code)]
pub use crate::context::Context;
use crate::jsonrpc::RawValue;
use crate::limits::Limits;
#[derive(Debug)]
pub struct Template;
#[derive(Debug)]
pub struct ExprError;
impl core::fmt::Display for ExprError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("conditions are not supported yet")
    }
}
impl Template {
    pub fn compile(_s: &str, _l: &Limits) -> Result<Self, ExprError> {
        Err(ExprError)
    }
    pub fn is_constant(&self) -> Option<bool> {
        None
    }
    pub fn eval_bool(&self, _e: &Env<'_>) -> Result<bool, ExprError> {
        Err(ExprError)
    }
}
pub struct Env<'a> {
    pub context: &'a Context<'a>,
    pub mcp: Option<McpVars<'a>>,
}
pub struct McpVars<'a> {
    pub method: &'a str,
    pub name: Option<&'a str>,
    pub uri: Option<&'a str>,
    pub params: Option<RawValue<'a>>,
    pub arguments: Option<RawValue<'a>>,
    pub body: &'a str,
}
