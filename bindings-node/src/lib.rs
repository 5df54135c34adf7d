//! Node.js bindings of the mcp-policy engine (npm package `mcp-policy`).
//!
//! The crate only converts: every decision is made by the `mcp-policy` crate, and every result
//! exposes its answer in core's one JSON answer format (`mcp_policy::answer`), so the shared
//! cases compare exactly what the Rust tests compare. Errors thrown to JavaScript carry core's
//! stable error name as `.code` (`index.js` attaches the rest: number, path, hint, answer).
//!
//! Every exported function is marked `catch_unwind`: a panic (a bug) becomes an `INTERNAL`
//! error instead of aborting the host process.

pub mod convert;
pub mod error;
pub mod exchange;
pub mod oauth;
pub mod policy;

pub use convert::Context;
pub use error::{error_codes, take_error_detail};
pub use exchange::{
    ClientVerdict, Exchange, Guard, Reply, ServerAnswer, ServerDelivery, Session, Step,
};
pub use policy::{Filtered, Policy, evaluate};
