//! Trigger conditions in the Gravitee Expression Language (ARCHITECTURE.md §4): Spring SpEL in template
//! mode, the part policies use, with Gravitee's observable behaviour (including its surprises:
//! headers are lists, `{1 == 1}` is literal text, `oauth.payload` is a JSON string).
//!
//! A [`Template`] is compiled once (`Send + Sync`) and evaluated against an [`Env`]: the host's
//! [`Context`] plus the MCP message being judged ([`McpVars`]). Evaluation borrows everything,
//! does not allocate on the common path, and stops after [`Limits::max_expr_steps`] steps.
//!
//! ```
//! use mcp_policy::expr::{Env, McpVars, Template};
//! use mcp_policy::{Context, Limits};
//!
//! let cond = Template::compile(
//!     "{#context.attributes['user.roles'].contains('mcp:tools') && #mcp.name matches 'get_.*'}",
//!     &Limits::default(),
//! ).unwrap();
//! let ctx = Context::builder().attribute("user.roles", ["mcp:tools"]).build();
//! let env = Env { context: &ctx, mcp: Some(McpVars::new("tools/call").with_name("get_weather")) };
//! assert!(cond.eval_bool(&env).unwrap());
//!
//! // Headers are lists: comparing one with a string is false, as in Gravitee.
//! let ctx = Context::builder().header("X-Role", "admin").build();
//! let env = Env::new(&ctx);
//! let broken = Template::compile("{#request.headers['x-role'] == 'admin'}", &Limits::default()).unwrap();
//! assert!(!broken.eval_bool(&env).unwrap());
//! let fixed = Template::compile("{#request.headers['x-role'][0] == 'admin'}", &Limits::default()).unwrap();
//! assert!(fixed.eval_bool(&env).unwrap());
//! ```

mod ast;
mod error;
mod eval;
mod jsonpath;
mod lex;
mod parse;
mod regex;
mod value;

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

pub use error::{EvalError, EvalErrorKind, ExprError, ExprErrorKind};
pub use value::{ObjectRef, Value};

use crate::context::Context;
use crate::jsonrpc::{Message, RawValue};
use crate::limits::Limits;

use ast::Node;
use parse::Part;

/// The type a template's result is converted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ResultType {
    /// A string (Gravitee's `String.class`): lists comma-joined, null stays null.
    String,
    /// A boolean (Gravitee's `Boolean.class`): `"true"/"yes"/"on"/"1"` and their opposites
    /// convert, null stays null.
    Boolean,
    /// The value as computed (literal text and mixed templates are strings).
    #[default]
    Auto,
}

/// What the engine knows about the MCP message being judged: `#mcp` and the attribute
/// `mcp_tool_name` read it, and `#request.content` defaults to its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct McpVars<'a> {
    /// JSON-RPC method (`tools/call`).
    pub method: &'a str,
    /// `params.name` (tool or prompt).
    pub name: Option<&'a str>,
    /// `params.uri` (resource).
    pub uri: Option<&'a str>,
    /// `params`, as a view.
    pub params: Option<RawValue<'a>>,
    /// `params.arguments`, as a view.
    pub arguments: Option<RawValue<'a>>,
    /// The message's JSON text.
    pub body: &'a str,
}

impl<'a> McpVars<'a> {
    /// Variables for a message with only a method (other fields empty).
    pub fn new(method: &'a str) -> Self {
        Self {
            method,
            name: None,
            uri: None,
            params: None,
            arguments: None,
            body: "",
        }
    }

    /// Sets `name`.
    #[must_use]
    pub fn with_name(mut self, name: &'a str) -> Self {
        self.name = Some(name);
        self
    }

    /// Sets `uri`.
    #[must_use]
    pub fn with_uri(mut self, uri: &'a str) -> Self {
        self.uri = Some(uri);
        self
    }

    /// The variables of a parsed request or notification (`None` for responses).
    pub fn from_message(msg: &'a Message<'a>) -> Option<Self> {
        Some(Self {
            method: msg.method()?,
            name: msg.name(),
            uri: msg.uri(),
            params: msg.params(),
            arguments: msg.arguments(),
            body: msg.text(),
        })
    }
}

/// What an expression can see.
#[derive(Debug, Clone, Copy)]
pub struct Env<'a> {
    /// The host's context.
    pub context: &'a Context<'a>,
    /// The message being judged, when there is one.
    pub mcp: Option<McpVars<'a>>,
}

impl<'a> Env<'a> {
    /// An environment without a message.
    pub fn new(context: &'a Context<'a>) -> Self {
        Self { context, mcp: None }
    }

    /// Adds the message being judged.
    #[must_use]
    pub fn with_mcp(mut self, mcp: McpVars<'a>) -> Self {
        self.mcp = Some(mcp);
        self
    }
}

#[derive(Debug)]
enum Shape {
    /// No expression: text converted to the requested type.
    Literal(String),
    /// Exactly one expression and nothing around it: its value.
    Single(Node),
    /// Text and expressions: the concatenation of their strings.
    Composite(Vec<Part>),
}

/// A compiled template (a trigger condition or any Gravitee EL string). Immutable,
/// `Send + Sync`, cheap to evaluate many times.
#[derive(Debug)]
pub struct Template {
    source: String,
    shape: Shape,
    max_steps: u32,
    max_regex: usize,
}

impl Template {
    /// Compiles `src` under `limits` (`max_expr_depth`, `max_regex_bytes`; `max_expr_steps`
    /// is kept for evaluation).
    ///
    /// Errors carry the byte offset in `src` and a hint:
    ///
    /// ```
    /// use mcp_policy::{expr::Template, Limits};
    /// let e = Template::compile("{#request.headers['x'] ==}", &Limits::default()).unwrap_err();
    /// assert_eq!(e.position(), 25);
    /// ```
    pub fn compile(src: &str, limits: &Limits) -> Result<Template, ExprError> {
        let mut parts = parse::parse_template(src, limits)?;
        let shape = if parts.is_empty() {
            Shape::Literal(String::new())
        } else if parts.len() == 1 {
            match parts.pop() {
                Some(Part::Expr(n)) => Shape::Single(n),
                Some(Part::Lit(s)) => Shape::Literal(s),
                None => Shape::Literal(String::new()),
            }
        } else {
            Shape::Composite(parts)
        };
        Ok(Template {
            source: String::from(src),
            shape,
            max_steps: limits.max_expr_steps,
            max_regex: limits.max_regex_bytes,
        })
    }

    /// The template text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the template is blank (an absent condition, which always applies).
    pub fn is_blank(&self) -> bool {
        matches!(&self.shape, Shape::Literal(s) if s.trim().is_empty())
    }

    /// The condition's value when it does not depend on the environment: `Some(true)` for a
    /// blank template (an absent condition applies) and for `"true"`, `"yes"`…, `Some(false)`
    /// for `"false"`…; `None` when it must be evaluated (or would fail to convert).
    pub fn is_constant(&self) -> Option<bool> {
        if self.is_blank() {
            return Some(true);
        }
        match &self.shape {
            Shape::Literal(s) => eval::string_to_bool(s).ok().flatten(),
            _ => None,
        }
    }

    /// Evaluates as a trigger condition: the result converted to a boolean, null (Gravitee's
    /// empty result) is false, a blank template is true (absent condition).
    pub fn eval_bool(&self, env: &Env<'_>) -> Result<bool, EvalError> {
        if let Shape::Single(node) = &self.shape {
            let mut cx = eval::Cx {
                env,
                steps: 0,
                max_steps: self.max_steps,
                max_regex: self.max_regex,
            };
            let v = eval::eval(node, &mut cx)?;
            if let Value::Bool(b) = v {
                return Ok(b);
            }
            return Ok(eval::to_bool(&v, node.pos)?.unwrap_or(false));
        }
        if self.is_blank() {
            return Ok(true);
        }
        match self.eval(env, ResultType::Boolean)? {
            Value::Bool(b) => Ok(b),
            _ => Ok(false),
        }
    }

    /// Evaluates and converts to `ty`. `Value::Null` is Gravitee's empty result.
    pub fn eval<'a>(&'a self, env: &'a Env<'a>, ty: ResultType) -> Result<Value<'a>, EvalError> {
        let mut cx = eval::Cx {
            env,
            steps: 0,
            max_steps: self.max_steps,
            max_regex: self.max_regex,
        };
        match &self.shape {
            Shape::Literal(s) => match ty {
                ResultType::Boolean => literal_bool(s),
                _ => Ok(Value::Str(Cow::Borrowed(s.as_str()))),
            },
            Shape::Single(node) => {
                let v = eval::eval(node, &mut cx)?;
                match ty {
                    ResultType::Auto => Ok(v),
                    ResultType::String => Ok(match eval::to_string(&v, &mut cx, node.pos)? {
                        Some(s) => Value::Str(s),
                        None => Value::Null,
                    }),
                    ResultType::Boolean => Ok(match eval::to_bool(&v, node.pos)? {
                        Some(b) => Value::Bool(b),
                        None => Value::Null,
                    }),
                }
            }
            Shape::Composite(parts) => {
                let mut out = String::new();
                for p in parts {
                    match p {
                        Part::Lit(s) => out.push_str(s),
                        Part::Expr(n) => {
                            let v = eval::eval(n, &mut cx)?;
                            if let Some(s) = eval::to_string(&v, &mut cx, n.pos)? {
                                out.push_str(&s);
                            }
                        }
                    }
                }
                match ty {
                    ResultType::Boolean => literal_bool(&out),
                    _ => Ok(Value::Str(Cow::Owned(out))),
                }
            }
        }
    }
}

fn literal_bool(s: &str) -> Result<Value<'static>, EvalError> {
    match eval::string_to_bool(s) {
        Ok(Some(b)) => Ok(Value::Bool(b)),
        Ok(None) => Ok(Value::Null),
        Err(m) => Err(EvalError::new(EvalErrorKind::Conversion, m, 0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn template_is_send_sync() {
        assert_send_sync::<Template>();
    }
}
