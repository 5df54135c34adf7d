//! The request context conditions read: built from a header array and an attributes JSON, or
//! from the whole context document.

use mcp_policy::Context;

use crate::error::{Failure, boundary, bytes, free_box, into_handle, optional, out, put, quiet};
use crate::mcp_policy_header;
use crate::mcp_policy_result;

/// What conditions read about a request (`#request.headers`, `#context.attributes`, ...).
/// Immutable once built: share it between threads and calls freely. Free with
/// [`mcp_policy_context_free`]. Functions taking a context accept NULL for an empty one.
#[derive(Debug)]
pub struct mcp_policy_context {
    pub(crate) ctx: Context<'static>,
}

static EMPTY: std::sync::LazyLock<Context<'static>> = std::sync::LazyLock::new(Context::default);

/// The context behind a pointer that may be NULL (empty).
///
/// # Safety
/// `p` must be NULL or a live context.
pub(crate) unsafe fn context_or_empty<'a>(p: *const mcp_policy_context) -> &'a Context<'static> {
    // SAFETY: NULL or a live context (the caller's promise).
    match unsafe { p.as_ref() } {
        Some(c) => &c.ctx,
        None => &EMPTY,
    }
}

/// A header as name and value bytes.
pub(crate) type Pair<'a> = (&'a [u8], &'a [u8]);

/// The headers a caller passed, as byte pairs.
///
/// # Safety
/// `headers` must be NULL (with `count` 0) or point to `count` headers whose pointers each
/// point to their lengths of readable bytes.
pub(crate) unsafe fn header_pairs<'a>(
    headers: *const mcp_policy_header,
    count: usize,
) -> Result<Vec<Pair<'a>>, Failure> {
    if headers.is_null() {
        if count != 0 {
            return Err(Failure::argument(
                "headers",
                "NULL with a non-zero count; pass the array, or count 0",
            ));
        }
        return Ok(Vec::new());
    }
    if count > isize::MAX as usize / core::mem::size_of::<mcp_policy_header>() {
        return Err(Failure::argument("count", "larger than any array can be"));
    }
    // SAFETY: `headers` points to `count` headers (the caller's promise), a size checked to fit.
    let array = unsafe { core::slice::from_raw_parts(headers, count) };
    array
        .iter()
        .map(|h| {
            // SAFETY: each header's pointers point to their lengths of bytes (the caller's promise).
            let name = unsafe { bytes(h.name, h.name_len, "headers[].name") }?;
            // SAFETY: as above.
            let value = unsafe { bytes(h.value, h.value_len, "headers[].value") }?;
            Ok((name, value))
        })
        .collect()
}

/// Builds a context from the request's headers (`count` of them; credential headers such as
/// `Authorization` and `Cookie` are left out, since conditions must not read secrets; a header
/// that is not UTF-8 is skipped) and the attributes the host computed, as a JSON object
/// (`{"user.roles": ["mcp:tools"]}`; NULL for none). On success writes a new context to `out`.
///
/// Errors: `MCP_POLICY_RESULT_INVALID_CONTEXT` or a JSON code for attributes that are not a
/// JSON object; `MCP_POLICY_RESULT_INVALID_ARGUMENT` for NULL pointers with lengths.
///
/// # Safety
/// `headers` must point to `count` headers (or be NULL with `count` 0), each naming readable
/// bytes; `attributes_json` to `attributes_len` bytes or NULL; `out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_context_new(
    headers: *const mcp_policy_header,
    count: usize,
    attributes_json: *const u8,
    attributes_len: usize,
    out_context: *mut *mut mcp_policy_context,
) -> mcp_policy_result {
    boundary(|| {
        out(out_context, "out_context")?;
        // SAFETY: forwarded from the caller's promise.
        let pairs = unsafe { header_pairs(headers, count) }?;
        // SAFETY: forwarded from the caller's promise.
        let attrs = unsafe { optional(attributes_json, attributes_len, "attributes_json") }?;
        let attrs = attrs
            .map(|a| {
                core::str::from_utf8(a).map_err(|e| {
                    Failure::argument(
                        "attributes_json",
                        &format!("not UTF-8 (at byte {})", e.valid_up_to()),
                    )
                })
            })
            .transpose()?;
        let ctx = Context::from_parts(&pairs, attrs).map_err(|e| Failure::core(&e))?;
        let ctx = ctx.into_owned();
        // SAFETY: `out_context` checked writable above.
        unsafe { put(out_context, into_handle(mcp_policy_context { ctx })) };
        Ok(())
    })
}

/// Builds a context from the whole context document (ARCHITECTURE.md §3:
/// `{"request": {"headers": {...}, ...}, "attributes": {...}, "api": ..., ...}`). On success
/// writes a new context to `out_context`.
///
/// # Safety
/// `json` must point to `len` readable bytes; `out_context` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_context_from_json(
    json: *const u8,
    len: usize,
    out_context: *mut *mut mcp_policy_context,
) -> mcp_policy_result {
    boundary(|| {
        out(out_context, "out_context")?;
        // SAFETY: forwarded from the caller's promise.
        let b = unsafe { bytes(json, len, "json") }?;
        let text = core::str::from_utf8(b).map_err(|e| {
            Failure::argument("json", &format!("not UTF-8 (at byte {})", e.valid_up_to()))
        })?;
        let ctx = Context::from_json(text)
            .map_err(|e| Failure::core(&e))?
            .into_owned();
        // SAFETY: `out_context` checked writable above.
        unsafe { put(out_context, into_handle(mcp_policy_context { ctx })) };
        Ok(())
    })
}

/// Frees a context; NULL is ignored.
///
/// # Safety
/// `context` must be NULL or a context from this library, not freed before, and not in use
/// by another call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_context_free(context: *mut mcp_policy_context) {
    // SAFETY: forwarded from the caller's promise.
    quiet((), || unsafe { free_box(context) })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_context_is_shareable() {
        fn shareable<T: Send + Sync>() {}
        shareable::<super::mcp_policy_context>();
    }
}
