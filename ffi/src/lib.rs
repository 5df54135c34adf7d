//! The C ABI of the mcp-policy engine: compile a policy, judge MCP exchanges (client bodies,
//! server answers as JSON or SSE, stdio lines), evaluate expressions, build OAuth challenges
//! and metadata, from C, C++, Go, Lua or anything that can call C.
//!
//! A thin layer over [`mcp_policy::exchange`]: every rule lives in core; these functions only
//! check pointers, convert, and catch panics. The header is `include/mcp_policy.h` (generated
//! by cbindgen); `README.md` beside this crate gives the ownership, threading and error rules.
//!
//! Conventions, the same for every function:
//! - Names are `mcp_policy_<noun>_<verb>`; every handle has a `_free` that accepts NULL.
//! - Functions that can fail return [`mcp_policy_result`]: `MCP_POLICY_RESULT_OK` (0) or one of
//!   core's error codes (the same numbers as `mcp_policy::ErrorCode`). The message and the JSON
//!   answer of the last failure on the calling thread are read with
//!   [`mcp_policy_last_error_message`] and [`mcp_policy_last_error_json`].
//! - Out-parameters are written only on success.
//! - Inputs are pointer and length; a NULL pointer is allowed with length 0 (empty, or absent
//!   where the parameter says so).
//! - Nothing escapes as a panic: each body runs inside `catch_unwind`, and a panic becomes
//!   `MCP_POLICY_RESULT_INTERNAL`.

#![allow(non_camel_case_types)]

mod buffer;
mod context;
mod engine;
mod error;
mod exchange;
mod expr;
mod oauth;
mod output;

pub use buffer::*;
pub use context::*;
pub use engine::*;
pub use error::*;
pub use exchange::*;
pub use expr::*;
pub use oauth::*;
pub use output::*;

/// A view of bytes: `len` bytes at `data`. In results, the bytes belong to the object that
/// returned the view and stay valid until that object is freed (or, for outputs, changed).
/// An empty view may have a NULL `data`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct mcp_policy_slice {
    /// First byte; NULL when `len` is 0.
    pub data: *const u8,
    /// Number of bytes.
    pub len: usize,
}

impl mcp_policy_slice {
    pub(crate) const EMPTY: Self = Self {
        data: core::ptr::null(),
        len: 0,
    };

    pub(crate) fn of(bytes: &[u8]) -> Self {
        if bytes.is_empty() {
            return Self::EMPTY;
        }
        Self {
            data: bytes.as_ptr(),
            len: bytes.len(),
        }
    }
}

/// One HTTP header as a host has it: name and value, each pointer and length (not
/// NUL-terminated). Names are compared ignoring ASCII case.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct mcp_policy_header {
    /// Header name bytes.
    pub name: *const u8,
    /// Length of `name`.
    pub name_len: usize,
    /// Header value bytes.
    pub value: *const u8,
    /// Length of `value`.
    pub value_len: usize,
}

/// The library's version (the crate version), a static NUL-terminated string.
#[unsafe(no_mangle)]
pub extern "C" fn mcp_policy_version() -> *const core::ffi::c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}
