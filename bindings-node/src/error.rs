//! Errors as JavaScript sees them: `Error` objects whose `code` is the stable name of core's
//! [`ErrorCode`], with the full error answer (`answer::core_error`, `policy_error`...) kept
//! aside for `index.js` to attach as `error.answer`, `error.number`, `error.path`...

use std::cell::RefCell;

use mcp_policy::ErrorCode;
use mcp_policy::answer;
use napi_derive::napi;
use serde_json::{Map, Value};

/// A thrown error: status = core's error name.
pub(crate) type JsErr = napi::Error<String>;
/// What every exported function returns (named `Result` so that `#[napi]` sees a fallible call).
pub(crate) type Result<T> = std::result::Result<T, JsErr>;

thread_local! {
    /// The answer of the last error thrown on this thread, taken by `index.js` right after it
    /// catches the error (JavaScript runs one call at a time per thread, so nothing interleaves).
    static DETAIL: RefCell<Option<Value>> = const { RefCell::new(None) };
}

/// An error to throw, with `detail` (an answer of the `{"error": {...}}` shape) kept for
/// `index.js`.
pub(crate) fn throw(detail: Value) -> JsErr {
    let code = detail["error"]["code"]
        .as_str()
        .unwrap_or(ErrorCode::Internal.name())
        .to_owned();
    let message = detail["error"]["message"]
        .as_str()
        .unwrap_or("error")
        .to_owned();
    DETAIL.with(|d| *d.borrow_mut() = Some(detail));
    napi::Error::new(code, message)
}

/// An error of a code with a message (no more detail than the code, number and message).
pub(crate) fn coded(code: ErrorCode, message: impl AsRef<str>) -> JsErr {
    throw(answer::error(code, message.as_ref(), Map::new()))
}

/// A host passed an unusable argument: names what and what to do.
pub(crate) fn bad_arg(message: impl AsRef<str>) -> JsErr {
    coded(ErrorCode::InvalidArgument, message)
}

/// A message, context or limits error of core.
pub(crate) fn core(e: &mcp_policy::Error) -> JsErr {
    throw(answer::core_error(e))
}

/// An error of any crate type that has a code and a message (OAuth, tokens...).
pub(crate) fn other(code: ErrorCode, e: &impl std::fmt::Display) -> JsErr {
    coded(code, e.to_string())
}

/// napi's own errors (a failed conversion) as `INVALID_ARGUMENT`.
pub(crate) fn napi(e: napi::Error) -> JsErr {
    bad_arg(e.reason)
}

/// The answer of the last error thrown on this thread (`{"error": {code, number, message,
/// path?, offset?, hint?, issues?, position?}}`), once: `index.js` calls it when it catches an
/// error of this package to attach the detail to the `Error`. Not for applications.
#[napi(catch_unwind, js_name = "__takeErrorDetail")]
pub fn take_error_detail() -> Option<Value> {
    DETAIL.with(|d| d.borrow_mut().take())
}

/// Every error code of the engine, in numeric order: `{ number, name }`. The `code` of every
/// error this package throws is one of these names.
#[napi(catch_unwind)]
pub fn error_codes() -> Vec<ErrorCodeInfo> {
    ErrorCode::ALL
        .iter()
        .map(|c| ErrorCodeInfo {
            number: c.code(),
            name: c.name().to_owned(),
        })
        .collect()
}

/// One code of the engine's error code set.
#[napi(object)]
#[derive(Debug)]
pub struct ErrorCodeInfo {
    /// The stable number (the C ABI's result value).
    pub number: u32,
    /// The stable name (`error.code`).
    pub name: String,
}

/// Panics on purpose: the test of the panic boundary (a panic must become an `INTERNAL` error,
/// never abort Node). Not for applications.
#[napi(catch_unwind, js_name = "__panicForTest")]
pub fn panic_for_test() {
    panic!("a deliberate panic to test the boundary");
}
