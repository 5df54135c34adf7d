//! The policy engine: Gravitee `mcp-acl` model and extensions (`model`), compilation to an
//! immutable [`Engine`] (`compile`), decisions (`decide`), result filtering (`filter`).
//!
//! ```
//! use mcp_policy::{Context, Limits, Message, policy::{Decision, Engine}};
//!
//! let policy = br#"{"authorizations":[{"authorizedFeatures":[
//!     {"type":"TOOLS","methods":["TOOLS_LIST","TOOLS_CALL"],"patternType":"LITERAL","patternValue":"echo"}]}]}"#;
//! let engine = Engine::from_json(policy, &Limits::default()).unwrap();
//! let ctx = Context::default();
//!
//! let call = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get-env"}}"#;
//! let msg = Message::parse(call, engine.limits()).unwrap();
//! match engine.check(&msg, &ctx) {
//!     Decision::Deny(d) => assert_eq!(
//!         d.jsonrpc_response(),
//!         r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"Unknown tool: get-env"}}"#
//!     ),
//!     Decision::Allow(..) => unreachable!(),
//! }
//! ```

mod compile;
mod decide;
mod filter;
mod model;

pub use compile::Engine;
pub use decide::{
    AllowReason, Audit, CondEntry, CondLog, CondOutcome, Decision, Denial, DenialKind,
    FORBIDDEN_CODE, Reason, RpcError,
};
pub(crate) use filter::cut_array;
pub use filter::{Filtered, HiddenItem, Rewrite};
pub use model::{
    AclMethod, Authorization, ConfigErrors, ConfigIssue, DenialMode, Effect, Feature, FeatureType,
    LinkMode, PathMode, PatternType, Policy,
};
