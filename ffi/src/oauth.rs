//! OAuth 2.1 for MCP, the parts a gateway in C needs: the challenges it answers with, the
//! protected resource metadata it serves, and the relay of a secured upstream's own.

use mcp_policy::ErrorCode;
use mcp_policy::oauth::{
    BearerChallenge, ProtectedResourceMetadata, protected_resource_metadata_url,
    rewrite_upstream_challenge, rewrite_upstream_metadata,
};

use crate::buffer::mcp_policy_buffer;
use crate::error::{Failure, boundary, bytes, into_handle, optional, out, put, text};
use crate::{mcp_policy_result, mcp_policy_slice};

/// Which `WWW-Authenticate` challenge to build.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum mcp_policy_challenge {
    /// 401 for a request without a token: `resource_metadata` (and `scope` when given), no
    /// `error` (RFC 6750 §3.1).
    Unauthorized = 1,
    /// 401 for a token that is refused: `error="invalid_token"` with the description.
    InvalidToken = 2,
    /// 403 step-up: `error="insufficient_scope"` and `scope` = every scope the operation needs.
    InsufficientScope = 3,
}

/// A list of strings as the caller passed it: `count` views.
///
/// # Safety
/// `items` NULL with `count` 0, or `count` slices each naming readable UTF-8 bytes.
unsafe fn strings<'a>(
    items: *const mcp_policy_slice,
    count: usize,
    param: &str,
) -> Result<Vec<&'a str>, Failure> {
    if items.is_null() {
        if count != 0 {
            return Err(Failure::argument(
                param,
                "NULL with a non-zero count; pass the array, or count 0",
            ));
        }
        return Ok(Vec::new());
    }
    if count > isize::MAX as usize / core::mem::size_of::<mcp_policy_slice>() {
        return Err(Failure::argument(
            param,
            "count larger than any array can be",
        ));
    }
    // SAFETY: `count` slices at `items` (the caller's promise), a size checked to fit.
    let array = unsafe { core::slice::from_raw_parts(items, count) };
    array
        .iter()
        // SAFETY: each slice names its length of readable bytes (the caller's promise).
        .map(|s| unsafe { text(s.data, s.len, param) })
        .collect()
}

/// Builds a `WWW-Authenticate` value: `kind`, naming the protected resource metadata URL,
/// with `scopes` (`scope_count` of them; may be 0) and a description (NULL for none; used by
/// `INVALID_TOKEN` and `INSUFFICIENT_SCOPE`). Writes the header value to a new buffer and
/// the HTTP status to answer with (401 or 403) to `out_status`.
///
/// # Safety
/// The strings must name their lengths of UTF-8 bytes (`description` may be NULL);
/// `scopes` NULL with 0 or `scope_count` slices; the outs writable.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn mcp_policy_oauth_challenge(
    kind: u32,
    resource_metadata_url: *const u8,
    url_len: usize,
    scopes: *const mcp_policy_slice,
    scope_count: usize,
    description: *const u8,
    description_len: usize,
    out_value: *mut *mut mcp_policy_buffer,
    out_status: *mut u16,
) -> mcp_policy_result {
    boundary(|| {
        out(out_value, "out_value")?;
        out(out_status, "out_status")?;
        // SAFETY: forwarded from the caller's promise.
        let url = unsafe { text(resource_metadata_url, url_len, "resource_metadata_url") }?;
        // SAFETY: forwarded from the caller's promise.
        let scopes = unsafe { strings(scopes, scope_count, "scopes") }?;
        // SAFETY: forwarded from the caller's promise.
        let description = unsafe { optional(description, description_len, "description") }?
            .map(|d| {
                core::str::from_utf8(d)
                    .map(str::to_owned)
                    .map_err(|_| Failure::argument("description", "not UTF-8"))
            })
            .transpose()?;
        if url.is_empty() {
            return Err(Failure::argument(
                "resource_metadata_url",
                "empty; pass the URL clients fetch the protected resource metadata from",
            ));
        }
        let c = match kind {
            1 => BearerChallenge::unauthorized(url).with_scope(scopes),
            2 => BearerChallenge::invalid_token(
                url,
                description.unwrap_or_else(|| "the access token is refused".to_owned()),
            )
            .with_scope(scopes),
            3 => BearerChallenge::insufficient_scope(url, scopes, description),
            _ => {
                return Err(Failure::argument(
                    "kind",
                    "not an mcp_policy_challenge; pass UNAUTHORIZED (1), INVALID_TOKEN (2) or INSUFFICIENT_SCOPE (3)",
                ));
            }
        };
        let status = c.http_status();
        // SAFETY: both checked writable above.
        unsafe {
            put(
                out_value,
                into_handle(mcp_policy_buffer::new(c.header_value())),
            )
        };
        // SAFETY: as above.
        unsafe { put(out_status, status) };
        Ok(())
    })
}

/// The protected resource metadata document (RFC 9728) a gateway serves for its public MCP
/// URL: `resource` = the URL's canonical form, the authorization servers, the scopes
/// supported (may be none), `bearer_methods_supported: ["header"]`. Writes the JSON document
/// to a new buffer.
///
/// Errors: `MCP_POLICY_RESULT_INVALID_METADATA` for a URL that is not an absolute http(s) URL
/// without a fragment, or no authorization server.
///
/// # Safety
/// The strings must name their lengths of UTF-8 bytes; the arrays NULL with 0 or their counts
/// of slices; `out_document` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_oauth_metadata(
    public_url: *const u8,
    url_len: usize,
    authorization_servers: *const mcp_policy_slice,
    server_count: usize,
    scopes: *const mcp_policy_slice,
    scope_count: usize,
    out_document: *mut *mut mcp_policy_buffer,
) -> mcp_policy_result {
    boundary(|| {
        out(out_document, "out_document")?;
        // SAFETY: forwarded from the caller's promise.
        let url = unsafe { text(public_url, url_len, "public_url") }?;
        // SAFETY: forwarded from the caller's promise.
        let servers =
            unsafe { strings(authorization_servers, server_count, "authorization_servers") }?;
        // SAFETY: forwarded from the caller's promise.
        let scopes = unsafe { strings(scopes, scope_count, "scopes") }?;
        let mut doc = ProtectedResourceMetadata::for_gateway(url, servers)
            .map_err(|e| Failure::other(e.code(), e))?;
        if !scopes.is_empty() {
            doc = doc.with_scopes_supported(scopes);
        }
        // SAFETY: checked writable above.
        unsafe {
            put(
                out_document,
                into_handle(mcp_policy_buffer::new(doc.to_json())),
            )
        };
        Ok(())
    })
}

/// The URL a gateway serves its protected resource metadata at, for its public MCP URL (the
/// path-inserted well-known form, `https://gw/.well-known/oauth-protected-resource/mcp`):
/// what to name in challenges. Writes it to a new buffer.
///
/// # Safety
/// `public_url` must name `url_len` bytes; `out_url` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_oauth_metadata_url(
    public_url: *const u8,
    url_len: usize,
    out_url: *mut *mut mcp_policy_buffer,
) -> mcp_policy_result {
    boundary(|| {
        out(out_url, "out_url")?;
        // SAFETY: forwarded from the caller's promise.
        let url = unsafe { text(public_url, url_len, "public_url") }?;
        let u = protected_resource_metadata_url(url)
            .map_err(|e| Failure::other(ErrorCode::InvalidUrl, e))?;
        // SAFETY: checked writable above.
        unsafe { put(out_url, into_handle(mcp_policy_buffer::new(u))) };
        Ok(())
    })
}

/// Relays a secured upstream's `WWW-Authenticate` value to the client: in each Bearer
/// challenge, `resource_metadata` becomes the gateway's own metadata URL (for its public URL),
/// so the client fetches the metadata through the gateway. Writes the new value to a buffer.
///
/// # Safety
/// The strings must name their lengths of bytes; `out_value` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_oauth_relay_challenge(
    upstream_value: *const u8,
    value_len: usize,
    gateway_public_url: *const u8,
    url_len: usize,
    out_value: *mut *mut mcp_policy_buffer,
) -> mcp_policy_result {
    boundary(|| {
        out(out_value, "out_value")?;
        // SAFETY: forwarded from the caller's promise.
        let v = unsafe { text(upstream_value, value_len, "upstream_value") }?;
        // SAFETY: forwarded from the caller's promise.
        let url = unsafe { text(gateway_public_url, url_len, "gateway_public_url") }?;
        let r = rewrite_upstream_challenge(v, url).map_err(|e| Failure::other(e.code(), e))?;
        // SAFETY: checked writable above.
        unsafe { put(out_value, into_handle(mcp_policy_buffer::new(r))) };
        Ok(())
    })
}

/// Relays a secured upstream's protected resource metadata document to the client with
/// `resource` rewritten to the gateway's public URL (every other member kept). Writes the new
/// document to a buffer.
///
/// # Safety
/// `document` must name `document_len` bytes, the URL its length of bytes; `out_document`
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_oauth_relay_metadata(
    document: *const u8,
    document_len: usize,
    gateway_public_url: *const u8,
    url_len: usize,
    out_document: *mut *mut mcp_policy_buffer,
) -> mcp_policy_result {
    boundary(|| {
        out(out_document, "out_document")?;
        // SAFETY: forwarded from the caller's promise.
        let d = unsafe { bytes(document, document_len, "document") }?;
        // SAFETY: forwarded from the caller's promise.
        let url = unsafe { text(gateway_public_url, url_len, "gateway_public_url") }?;
        let r = rewrite_upstream_metadata(d, url).map_err(|e| Failure::other(e.code(), e))?;
        // SAFETY: checked writable above.
        unsafe { put(out_document, into_handle(mcp_policy_buffer::new(r))) };
        Ok(())
    })
}
