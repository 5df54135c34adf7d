//! Results, the last error of each thread, and the helpers every function goes through:
//! pointer checks and the panic boundary.

use core::ffi::c_char;
use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};

use mcp_policy::ErrorCode;
use serde_json::Value;

/// The result of a call: `MCP_POLICY_RESULT_OK` (0) or one of core's error codes, with the
/// same numbers (`mcp_policy::ErrorCode`): 1xx a message that cannot be read, 2xx the protocol
/// around it, 3xx configuration, 4xx expressions, 5xx tokens, 6xx OAuth documents, 9xx the call
/// itself. Details of the last failure: [`mcp_policy_last_error_message`].
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum mcp_policy_result {
    /// Success.
    Ok = 0,
    /// A body, message or document above its size limit.
    TooLarge = 101,
    /// JSON nested deeper than the limit.
    TooDeep = 102,
    /// A batch with more messages than the limit.
    BatchTooLong = 103,
    /// A string longer than the limit.
    StringTooLong = 104,
    /// An object with more members than the limit.
    TooManyKeys = 105,
    /// Bytes that are not UTF-8.
    InvalidUtf8 = 106,
    /// A `\u` escape of a lone surrogate.
    LoneSurrogate = 107,
    /// Not JSON.
    Syntax = 108,
    /// Bytes after the JSON value.
    TrailingData = 109,
    /// An object member given twice.
    DuplicateKey = 110,
    /// Not a JSON-RPC 2.0 message.
    InvalidRequest = 201,
    /// Parameters of the wrong shape for the method.
    InvalidParams = 202,
    /// A batch where the revision forbids them.
    BatchNotAllowed = 203,
    /// An `Mcp-Method` / `Mcp-Name` header that differs from the body.
    HeaderMismatch = 204,
    /// An `MCP-Protocol-Version` the engine does not know.
    UnsupportedProtocolVersion = 205,
    /// A body type the engine does not judge.
    UnsupportedMediaType = 206,
    /// A request id already waiting for its answer.
    DuplicateId = 207,
    /// Too many requests waiting in one session.
    TooManyPending = 208,
    /// Limits that do not hold together.
    InvalidLimits = 301,
    /// A context document or attributes that cannot be read.
    InvalidContext = 302,
    /// A policy that does not compile.
    InvalidPolicy = 303,
    /// An expression that does not compile.
    InvalidExpression = 401,
    /// An expression that failed while evaluating.
    EvaluationFailed = 402,
    /// An access token that is refused.
    InvalidToken = 501,
    /// An access token without the scopes needed.
    InsufficientScope = 502,
    /// A string that is not a usable URL.
    InvalidUrl = 601,
    /// An unusable metadata document.
    InvalidMetadata = 602,
    /// A `WWW-Authenticate` value that does not parse.
    InvalidChallenge = 603,
    /// A JWKS document without usable keys.
    InvalidJwks = 604,
    /// A token validator that cannot be built.
    InvalidValidatorConfig = 605,
    /// An upstream challenge or metadata document that cannot be relayed.
    RelayFailed = 606,
    /// An unusable argument: a NULL pointer where one is needed, a length without its bytes,
    /// a value out of range.
    InvalidArgument = 901,
    /// A caller buffer too small; the size needed is written to the length out-parameter.
    BufferTooSmall = 902,
    /// A bug: a panic caught at the boundary. Report it with the last error message.
    Internal = 999,
}

impl mcp_policy_result {
    /// The result for a core error code: the same number.
    pub fn from_code(code: ErrorCode) -> Self {
        use mcp_policy_result as R;
        match code {
            ErrorCode::TooLarge => R::TooLarge,
            ErrorCode::TooDeep => R::TooDeep,
            ErrorCode::BatchTooLong => R::BatchTooLong,
            ErrorCode::StringTooLong => R::StringTooLong,
            ErrorCode::TooManyKeys => R::TooManyKeys,
            ErrorCode::InvalidUtf8 => R::InvalidUtf8,
            ErrorCode::LoneSurrogate => R::LoneSurrogate,
            ErrorCode::Syntax => R::Syntax,
            ErrorCode::TrailingData => R::TrailingData,
            ErrorCode::DuplicateKey => R::DuplicateKey,
            ErrorCode::InvalidRequest => R::InvalidRequest,
            ErrorCode::InvalidParams => R::InvalidParams,
            ErrorCode::BatchNotAllowed => R::BatchNotAllowed,
            ErrorCode::HeaderMismatch => R::HeaderMismatch,
            ErrorCode::UnsupportedProtocolVersion => R::UnsupportedProtocolVersion,
            ErrorCode::UnsupportedMediaType => R::UnsupportedMediaType,
            ErrorCode::DuplicateId => R::DuplicateId,
            ErrorCode::TooManyPending => R::TooManyPending,
            ErrorCode::InvalidLimits => R::InvalidLimits,
            ErrorCode::InvalidContext => R::InvalidContext,
            ErrorCode::InvalidPolicy => R::InvalidPolicy,
            ErrorCode::InvalidExpression => R::InvalidExpression,
            ErrorCode::EvaluationFailed => R::EvaluationFailed,
            ErrorCode::InvalidToken => R::InvalidToken,
            ErrorCode::InsufficientScope => R::InsufficientScope,
            ErrorCode::InvalidUrl => R::InvalidUrl,
            ErrorCode::InvalidMetadata => R::InvalidMetadata,
            ErrorCode::InvalidChallenge => R::InvalidChallenge,
            ErrorCode::InvalidJwks => R::InvalidJwks,
            ErrorCode::InvalidValidatorConfig => R::InvalidValidatorConfig,
            ErrorCode::RelayFailed => R::RelayFailed,
            ErrorCode::InvalidArgument => R::InvalidArgument,
            ErrorCode::BufferTooSmall => R::BufferTooSmall,
            // `ErrorCode` is non-exhaustive; a code added in core without a result here is
            // caught by the `every_code_has_its_result` test, never silently mapped.
            _ => R::Internal,
        }
    }
}

/// The stable name of a result (`"OK"`, `"INVALID_POLICY"`, ...), a static NUL-terminated
/// string; `"UNKNOWN"` for a number that is not a result.
#[unsafe(no_mangle)]
pub extern "C" fn mcp_policy_result_name(result: u32) -> *const c_char {
    let name: &'static str = quiet("UNKNOWN\0", || match result {
        0 => "OK\0",
        n => ErrorCode::from_code(n)
            .and_then(|code| NAMES.iter().find(|(c, _)| *c == code).map(|(_, n)| *n))
            .unwrap_or("UNKNOWN\0"),
    });
    name.as_ptr().cast()
}

/// Core's names, NUL-terminated for C (built once: core's names are `&str` without the NUL).
static NAMES: std::sync::LazyLock<Vec<(ErrorCode, &'static str)>> =
    std::sync::LazyLock::new(|| {
        ErrorCode::ALL
            .iter()
            .map(|&c| {
                let named: &'static str = Box::leak(format!("{}\0", c.name()).into_boxed_str());
                (c, named)
            })
            .collect()
    });

/// What the last failing call of a thread said.
struct LastError {
    message: String,
    json: String,
}

thread_local! {
    static LAST: RefCell<Option<LastError>> = const { RefCell::new(None) };
}

/// A failure: the result to return, with its message and JSON answer kept for the thread.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) result: mcp_policy_result,
    pub(crate) message: String,
    pub(crate) json: Value,
}

impl Failure {
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>, json: Value) -> Self {
        Self {
            result: mcp_policy_result::from_code(code),
            message: message.into(),
            json,
        }
    }

    /// An unusable argument, naming the parameter and what to pass instead.
    pub(crate) fn argument(param: &str, what: &str) -> Self {
        let message = format!("argument `{param}`: {what}");
        let json =
            mcp_policy::answer::error(ErrorCode::InvalidArgument, &message, Default::default());
        Self::new(ErrorCode::InvalidArgument, message, json)
    }

    /// A core error (message, context, limits).
    pub(crate) fn core(e: &mcp_policy::Error) -> Self {
        Self::new(e.code(), e.to_string(), mcp_policy::answer::core_error(e))
    }

    /// Any other error of core: its code, its message, the generic answer.
    pub(crate) fn other(code: ErrorCode, message: impl core::fmt::Display) -> Self {
        let message = message.to_string();
        let json = mcp_policy::answer::error(code, &message, Default::default());
        Self::new(code, message, json)
    }
}

fn remember(message: String, json: String) {
    LAST.with(|l| *l.borrow_mut() = Some(LastError { message, json }));
}

/// Runs a function body at the boundary: its failure or panic becomes a result (and the
/// thread's last error); success clears nothing, so a host reads the error right after the
/// call that failed.
pub(crate) fn boundary(body: impl FnOnce() -> Result<(), Failure>) -> mcp_policy_result {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => mcp_policy_result::Ok,
        Ok(Err(f)) => {
            let result = f.result;
            remember(f.message, f.json.to_string());
            result
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".to_owned());
            let message = format!("internal error (a bug, please report it): {what}");
            let json = mcp_policy::answer::error(ErrorCode::Internal, &message, Default::default());
            remember(message, json.to_string());
            mcp_policy_result::Internal
        }
    }
}

/// Runs an accessor (no result to return) at the boundary: a panic gives `fallback`.
pub(crate) fn quiet<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

/// The bytes a caller passed: NULL with length 0 is empty; NULL with a length is an error.
///
/// # Safety
/// When `data` is not NULL, it must point to `len` readable bytes that stay unchanged for
/// the lifetime the caller picks for the result (the duration of the call).
pub(crate) unsafe fn bytes<'a>(
    data: *const u8,
    len: usize,
    param: &str,
) -> Result<&'a [u8], Failure> {
    if data.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(Failure::argument(
                param,
                "NULL with a non-zero length; pass the bytes, or length 0",
            ))
        };
    }
    if len > isize::MAX as usize {
        return Err(Failure::argument(
            param,
            "length larger than any object can be",
        ));
    }
    // SAFETY: the caller promises `len` readable bytes at the non-NULL `data`, unchanged
    // during the call; the length fits an object (checked above).
    Ok(unsafe { core::slice::from_raw_parts(data, len) })
}

/// Like [`bytes`], but NULL (whatever the length) means absent.
///
/// # Safety
/// As [`bytes`].
pub(crate) unsafe fn optional<'a>(
    data: *const u8,
    len: usize,
    param: &str,
) -> Result<Option<&'a [u8]>, Failure> {
    if data.is_null() {
        return Ok(None);
    }
    // SAFETY: forwarded from the caller's promise.
    unsafe { bytes(data, len, param) }.map(Some)
}

/// Bytes that must be UTF-8 text (URLs, expressions, messages of errors).
///
/// # Safety
/// As [`bytes`].
pub(crate) unsafe fn text<'a>(
    data: *const u8,
    len: usize,
    param: &str,
) -> Result<&'a str, Failure> {
    // SAFETY: forwarded from the caller's promise.
    let b = unsafe { bytes(data, len, param) }?;
    core::str::from_utf8(b).map_err(|e| {
        Failure::argument(
            param,
            &format!("not UTF-8 (at byte {}); pass UTF-8 text", e.valid_up_to()),
        )
    })
}

/// A handle the caller passed, by reference.
///
/// # Safety
/// `p`, when not NULL, must be a live handle of type `T` returned by this library, not
/// freed, and not used mutably by another thread during the call.
pub(crate) unsafe fn handle<'a, T>(p: *const T, param: &str) -> Result<&'a T, Failure> {
    // SAFETY: the caller promises a live handle or NULL.
    unsafe { p.as_ref() }
        .ok_or_else(|| Failure::argument(param, "NULL; pass a handle from its _new function"))
}

/// A handle the caller passed, for a change.
///
/// # Safety
/// As [`handle`], and no other reference to it exists during the call.
pub(crate) unsafe fn handle_mut<'a, T>(p: *mut T, param: &str) -> Result<&'a mut T, Failure> {
    // SAFETY: the caller promises a live, unshared handle or NULL.
    unsafe { p.as_mut() }
        .ok_or_else(|| Failure::argument(param, "NULL; pass a handle from its _new function"))
}

/// Checks an out-parameter before any work, so a NULL one fails the call instead of losing
/// the result.
pub(crate) fn out<T>(p: *mut T, param: &str) -> Result<(), Failure> {
    if p.is_null() {
        return Err(Failure::argument(
            param,
            "NULL; pass where to write the result",
        ));
    }
    Ok(())
}

/// Writes an out-parameter checked by [`out`].
///
/// # Safety
/// `p` must be valid for a write of `T` (checked non-NULL by [`out`] in the same call).
pub(crate) unsafe fn put<T>(p: *mut T, value: T) {
    // SAFETY: the caller promises a writable `T`; `out` checked it is not NULL.
    unsafe { p.write(value) }
}

/// Hands a new object to C: it is freed by its `_free` function ([`free_box`]).
pub(crate) fn into_handle<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Frees what [`into_handle`] gave out; NULL is ignored.
///
/// # Safety
/// `p` must be NULL or a pointer from [`into_handle`] for the same `T`, not freed before.
pub(crate) unsafe fn free_box<T>(p: *mut T) {
    if !p.is_null() {
        // SAFETY: `p` came from `Box::into_raw` for this `T` and is freed once (the caller's
        // promise).
        drop(unsafe { Box::from_raw(p) });
    }
}

fn write_text(
    which: impl FnOnce(&LastError) -> &str,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> mcp_policy_result {
    let text = LAST.with(|l| {
        l.borrow()
            .as_ref()
            .map(|e| which(e).to_owned())
            .unwrap_or_default()
    });
    let needed = text.len();
    if !out_len.is_null() {
        // SAFETY: a non-NULL `out_len` points to a writable `size_t` (the caller's promise).
        unsafe { out_len.write(needed) };
    }
    if buf.is_null() || cap < needed + 1 {
        return mcp_policy_result::BufferTooSmall;
    }
    // SAFETY: `buf` has `cap >= needed + 1` writable bytes (the caller's promise, checked
    // against `needed`), and the message is a separate allocation, so they do not overlap.
    unsafe { core::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), needed) };
    // SAFETY: index `needed` < `cap`, inside the caller's buffer.
    let end = unsafe { buf.add(needed) };
    // SAFETY: `end` is inside the caller's writable buffer (above).
    unsafe { end.write(0) };
    mcp_policy_result::Ok
}

/// Writes the message of the last failure on this thread into `buf` (`cap` bytes), with a
/// terminating NUL, and its length (without the NUL) to `out_len` (which may be NULL). An
/// empty message when no call failed yet. Returns `MCP_POLICY_RESULT_BUFFER_TOO_SMALL`, with
/// the length needed in `out_len`, when `cap` is less than that length plus one (call it with
/// a NULL `buf` to learn the size). Reading does not clear it.
///
/// # Safety
/// `buf`, when not NULL, must have `cap` writable bytes; `out_len`, when not NULL, must be
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_last_error_message(
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> mcp_policy_result {
    quiet(mcp_policy_result::Internal, || {
        write_text(|e| &e.message, buf, cap, out_len)
    })
}

/// Like [`mcp_policy_last_error_message`], for the last failure in the JSON answer format:
/// `{"error": {"code": NAME, "number": n, "message": ..., ...}}` with what the error knows (the
/// JSON path and byte offset in a message, every issue of a policy that does not compile,
/// the position of an expression error).
///
/// # Safety
/// As [`mcp_policy_last_error_message`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_last_error_json(
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> mcp_policy_result {
    quiet(mcp_policy_result::Internal, || {
        write_text(|e| &e.json, buf, cap, out_len)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_internal_with_its_message() {
        let r = boundary(|| panic!("the bug"));
        assert_eq!(r, mcp_policy_result::Internal);
        let text = LAST.with(|l| {
            l.borrow()
                .as_ref()
                .map(|e| (e.message.clone(), e.json.clone()))
        });
        let (message, json) = text.unwrap();
        assert!(
            message.contains("the bug") && message.contains("report"),
            "{message}"
        );
        assert!(
            json.contains("\"code\":\"INTERNAL\"") && json.contains("999"),
            "{json}"
        );
        assert_eq!(quiet(7, || panic!("in an accessor")), 7);
    }

    #[test]
    fn every_code_has_its_result() {
        for code in ErrorCode::ALL {
            let r = mcp_policy_result::from_code(code);
            assert_eq!(r as u32, code.code(), "{code:?}");
            assert_eq!(ErrorCode::from_code(r as u32), Some(code));
            // SAFETY: the name is a static NUL-terminated string.
            let name = unsafe { core::ffi::CStr::from_ptr(mcp_policy_result_name(r as u32)) };
            assert_eq!(name.to_str().unwrap(), code.name());
        }
    }
}
