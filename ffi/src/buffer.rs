//! Owned bytes handed to C: JSON answers, header values, documents.

use crate::error::{free_box, quiet};
use crate::mcp_policy_slice;

/// Bytes the library made for the caller (a JSON answer, a header value, a document). Read
/// them with [`mcp_policy_buffer_data`]; free with [`mcp_policy_buffer_free`].
#[derive(Debug)]
pub struct mcp_policy_buffer {
    bytes: Vec<u8>,
}

impl mcp_policy_buffer {
    pub(crate) fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self {
            bytes: bytes.into(),
        }
    }
}

/// The bytes of a buffer, valid until it is freed. Not NUL-terminated. An empty view for NULL.
///
/// # Safety
/// `buffer` must be NULL or a live buffer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_buffer_data(
    buffer: *const mcp_policy_buffer,
) -> mcp_policy_slice {
    quiet(mcp_policy_slice::EMPTY, || {
        // SAFETY: NULL or a live buffer (the caller's promise).
        match unsafe { buffer.as_ref() } {
            Some(b) => mcp_policy_slice::of(&b.bytes),
            None => mcp_policy_slice::EMPTY,
        }
    })
}

/// Frees a buffer; NULL is ignored.
///
/// # Safety
/// `buffer` must be NULL or a buffer from this library, not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_buffer_free(buffer: *mut mcp_policy_buffer) {
    // SAFETY: forwarded from the caller's promise.
    quiet((), || unsafe { free_box(buffer) })
}
