//! The compiled policy: compile, share, check one message, filter one answer.

use std::sync::Arc;

use mcp_policy::exchange::Options;
use mcp_policy::policy::{AllowReason, Decision, Engine};
use mcp_policy::{Guard, Limits, Message, answer};

use crate::buffer::mcp_policy_buffer;
use crate::context::{context_or_empty, mcp_policy_context};
use crate::error::{
    Failure, boundary, bytes, free_box, handle, into_handle, optional, out, put, quiet,
};
use crate::output::{Out, mcp_policy_output};
use crate::{mcp_policy_result, mcp_policy_slice};

/// How an engine answers beyond what the policy says. Pass NULL for the defaults.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct mcp_policy_options {
    /// The protected resource metadata URL (RFC 9728) named in the `WWW-Authenticate`
    /// challenge of a step-up denial (403 `insufficient_scope`); NULL for none.
    pub resource_metadata_url: *const u8,
    /// Length of `resource_metadata_url`.
    pub resource_metadata_url_len: usize,
    /// Most client requests of one session waiting for their answers; 0 for the default (1024).
    pub max_pending: usize,
    /// The scopes every request of the resource needs, separated by spaces (OAuth scope
    /// syntax); a step-up challenge names them before the rule's. NULL for none.
    pub challenge_scopes: *const u8,
    /// Length of `challenge_scopes`.
    pub challenge_scopes_len: usize,
}

/// A compiled policy and how to answer: immutable, shareable by every thread at once. Reload
/// by compiling a new one and swapping the pointer your threads read; exchanges already
/// started keep the engine they started with, so the old handle can be freed at once. Free
/// with [`mcp_policy_engine_free`].
#[derive(Debug)]
pub struct mcp_policy_engine {
    pub(crate) guard: Guard,
}

/// Compiles a policy (Gravitee `mcp-acl` JSON, with our extensions) with `options` (NULL for
/// the defaults). On success writes a new engine to `out_engine`.
///
/// Errors: `MCP_POLICY_RESULT_INVALID_POLICY` with every issue and its JSON path in
/// [`crate::mcp_policy_last_error_json`]; a JSON code (1xx) for a document that does not parse.
///
/// # Safety
/// `policy` must point to `len` readable bytes; `options` must be NULL or valid, its URL
/// pointing to its length of bytes; `out_engine` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_engine_new(
    policy: *const u8,
    len: usize,
    options: *const mcp_policy_options,
    out_engine: *mut *mut mcp_policy_engine,
) -> mcp_policy_result {
    boundary(|| {
        out(out_engine, "out_engine")?;
        // SAFETY: forwarded from the caller's promise.
        let doc = unsafe { bytes(policy, len, "policy") }?;
        let mut opts = Options::default();
        // SAFETY: NULL or valid options (the caller's promise).
        if let Some(o) = unsafe { options.as_ref() } {
            // SAFETY: forwarded from the caller's promise.
            let url = unsafe {
                optional(
                    o.resource_metadata_url,
                    o.resource_metadata_url_len,
                    "options.resource_metadata_url",
                )
            }?;
            if let Some(url) = url {
                let url = core::str::from_utf8(url).map_err(|_| {
                    Failure::argument(
                        "options.resource_metadata_url",
                        "not UTF-8; pass the URL as UTF-8 text",
                    )
                })?;
                opts.resource_metadata_url = Some(url.to_owned());
            }
            if o.max_pending != 0 {
                opts.max_pending = o.max_pending;
            }
            // SAFETY: forwarded from the caller's promise.
            let scopes = unsafe {
                optional(
                    o.challenge_scopes,
                    o.challenge_scopes_len,
                    "options.challenge_scopes",
                )
            }?;
            if let Some(scopes) = scopes {
                let scopes = core::str::from_utf8(scopes).map_err(|_| {
                    Failure::argument(
                        "options.challenge_scopes",
                        "not UTF-8; pass the scopes as UTF-8 text separated by spaces",
                    )
                })?;
                opts.challenge_scopes = scopes
                    .split(' ')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
            }
        }
        let engine = Engine::from_json(doc, &Limits::default())
            .map_err(|e| Failure::new(e.code(), e.to_string(), answer::policy_error(&e)))?;
        let guard = Guard::with_options(Arc::new(engine), opts);
        // SAFETY: `out_engine` checked writable above.
        unsafe { put(out_engine, into_handle(mcp_policy_engine { guard })) };
        Ok(())
    })
}

/// A second handle on the same engine (a reference count), for a thread or a module that
/// frees its own. On success writes it to `out_engine`.
///
/// # Safety
/// `engine` must be a live engine; `out_engine` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_engine_clone(
    engine: *const mcp_policy_engine,
    out_engine: *mut *mut mcp_policy_engine,
) -> mcp_policy_result {
    boundary(|| {
        out(out_engine, "out_engine")?;
        // SAFETY: forwarded from the caller's promise.
        let e = unsafe { handle(engine, "engine") }?;
        let guard = e.guard.clone();
        // SAFETY: `out_engine` checked writable above.
        unsafe { put(out_engine, into_handle(mcp_policy_engine { guard })) };
        Ok(())
    })
}

/// Frees an engine handle; NULL is ignored. Exchanges and sessions made from it stay usable.
///
/// # Safety
/// `engine` must be NULL or an engine from this library, not freed before, and not in use by
/// a call on another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_engine_free(engine: *mut mcp_policy_engine) {
    // SAFETY: forwarded from the caller's promise.
    quiet((), || unsafe { free_box(engine) })
}

/// The decision on one message. Read it with the `mcp_policy_decision_*` accessors; free with
/// [`mcp_policy_decision_free`].
#[derive(Debug)]
pub struct mcp_policy_decision {
    allowed: bool,
    status: u16,
    rule: i64,
    reason: DecisionReason,
    response: Vec<u8>,
}

#[derive(Debug)]
enum DecisionReason {
    Allow(AllowReason),
    Deny(String),
}

/// Judges one JSON-RPC message (not a batch: use [`mcp_policy_engine_check_json`] or an
/// exchange) with `context` (NULL for an empty one). On success writes the decision to
/// `out_decision`: a message that cannot be read is not a decision but an error (1xx, 2xx),
/// since nothing may be forwarded; answer the client with the JSON-RPC error of
/// [`crate::mcp_policy_last_error_json`], or use an exchange, which writes that answer for you.
///
/// # Safety
/// `message` must point to `len` readable bytes; `engine` and `context` (or NULL) must be
/// live; `out_decision` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_engine_check(
    engine: *const mcp_policy_engine,
    message: *const u8,
    len: usize,
    context: *const mcp_policy_context,
    out_decision: *mut *mut mcp_policy_decision,
) -> mcp_policy_result {
    boundary(|| {
        out(out_decision, "out_decision")?;
        // SAFETY: forwarded from the caller's promise.
        let e = unsafe { handle(engine, "engine") }?;
        // SAFETY: forwarded from the caller's promise.
        let body = unsafe { bytes(message, len, "message") }?;
        // SAFETY: forwarded from the caller's promise.
        let ctx = unsafe { context_or_empty(context) };
        let engine = e.guard.engine();
        let msg = Message::parse(body, engine.limits()).map_err(|e| Failure::core(&e))?;
        let d = match engine.check(&msg, ctx) {
            Decision::Allow(reason, audit) => mcp_policy_decision {
                allowed: true,
                status: 200,
                rule: audit.rule.map_or(-1, i64::from),
                reason: DecisionReason::Allow(reason),
                response: Vec::new(),
            },
            Decision::Deny(d) => mcp_policy_decision {
                allowed: false,
                status: d.http_status(),
                rule: d.audit.rule.map_or(-1, i64::from),
                reason: DecisionReason::Deny(d.reason.to_string()),
                response: d.jsonrpc_response().into_bytes(),
            },
        };
        // SAFETY: `out_decision` checked writable above.
        unsafe { put(out_decision, into_handle(d)) };
        Ok(())
    })
}

fn decision_ref<'a>(d: *const mcp_policy_decision) -> Option<&'a mcp_policy_decision> {
    // SAFETY: the accessors' callers promise NULL or a live decision.
    unsafe { d.as_ref() }
}

/// Whether the message may be forwarded; false for NULL.
///
/// # Safety
/// `decision` must be NULL or a live decision.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_decision_allowed(decision: *const mcp_policy_decision) -> bool {
    quiet(false, || decision_ref(decision).is_some_and(|d| d.allowed))
}

/// The HTTP status to answer a denial with (200 for an allowed message or a JSON-RPC denial,
/// 403 or 401 for a step-up denial); 0 for NULL.
///
/// # Safety
/// `decision` must be NULL or a live decision.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_decision_status(decision: *const mcp_policy_decision) -> u16 {
    quiet(0, || decision_ref(decision).map_or(0, |d| d.status))
}

/// The index of the policy rule that decided (in `authorizations`), or -1 when none did (an
/// implicit deny, a method the policy does not govern).
///
/// # Safety
/// `decision` must be NULL or a live decision.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_decision_rule(decision: *const mcp_policy_decision) -> i64 {
    quiet(-1, || decision_ref(decision).map_or(-1, |d| d.rule))
}

/// Why, for logs: `granted`, `not_governed`, `list_filtered` for an allowed message; the
/// denial's reason otherwise. Valid until the decision is freed.
///
/// # Safety
/// `decision` must be NULL or a live decision.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_decision_reason(
    decision: *const mcp_policy_decision,
) -> mcp_policy_slice {
    quiet(mcp_policy_slice::EMPTY, || {
        match decision_ref(decision).map(|d| &d.reason) {
            Some(DecisionReason::Allow(r)) => mcp_policy_slice::of(allow_reason(*r).as_bytes()),
            Some(DecisionReason::Deny(text)) => mcp_policy_slice::of(text.as_bytes()),
            None => mcp_policy_slice::EMPTY,
        }
    })
}

fn allow_reason(r: AllowReason) -> &'static str {
    match r {
        AllowReason::NotGoverned => "not_governed",
        AllowReason::Granted => "granted",
        AllowReason::ListFiltered => "list_filtered",
    }
}

/// The JSON-RPC error response to send the client instead of the message (empty when
/// allowed). Valid until the decision is freed.
///
/// # Safety
/// `decision` must be NULL or a live decision.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_decision_response(
    decision: *const mcp_policy_decision,
) -> mcp_policy_slice {
    quiet(mcp_policy_slice::EMPTY, || {
        decision_ref(decision).map_or(mcp_policy_slice::EMPTY, |d| {
            mcp_policy_slice::of(&d.response)
        })
    })
}

/// Frees a decision; NULL is ignored.
///
/// # Safety
/// `decision` must be NULL or a decision from this library, not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_decision_free(decision: *mut mcp_policy_decision) {
    // SAFETY: forwarded from the caller's promise.
    quiet((), || unsafe { free_box(decision) })
}

/// Judges a body (one message or a batch) and writes the answer in the JSON answer format
/// (`{"decision": "allow"|"deny", "allowed", "reason", "rule", "status", "audit", "error",
/// "response", ...}`; `{"batch": [...]}` for a batch; a body that cannot be read gives a
/// denial of kind `invalid_message`) to a new buffer.
///
/// # Safety
/// As [`mcp_policy_engine_check`]; `out_json` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_engine_check_json(
    engine: *const mcp_policy_engine,
    body: *const u8,
    len: usize,
    context: *const mcp_policy_context,
    out_json: *mut *mut mcp_policy_buffer,
) -> mcp_policy_result {
    boundary(|| {
        out(out_json, "out_json")?;
        // SAFETY: forwarded from the caller's promise.
        let e = unsafe { handle(engine, "engine") }?;
        // SAFETY: forwarded from the caller's promise.
        let body = unsafe { bytes(body, len, "body") }?;
        // SAFETY: forwarded from the caller's promise.
        let ctx = unsafe { context_or_empty(context) };
        let a = answer::check(e.guard.engine(), body, ctx);
        // SAFETY: `out_json` checked writable above.
        unsafe { put(out_json, into_handle(mcp_policy_buffer::new(a.to_string()))) };
        Ok(())
    })
}

/// Filters one whole server answer (`response`: a result, an error or a notification) to the
/// client's `request`: list items the caller may not see and links to hidden resources are
/// removed. On success writes an output of kind `MCP_POLICY_KIND_FILTERED` whose body
/// state says what to forward: `UNCHANGED` (the response as it was), `SET` (the body), or
/// `NONE` (nothing: a notification about a hidden subject).
///
/// Errors: a `request` or `response` that cannot be read (1xx, 2xx); a server request in
/// `response` (judge those with [`mcp_policy_engine_check`]).
///
/// # Safety
/// `request` and `response` must point to their lengths of bytes; `engine` and `context` (or
/// NULL) must be live; `out_output` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_engine_filter(
    engine: *const mcp_policy_engine,
    request: *const u8,
    request_len: usize,
    response: *const u8,
    response_len: usize,
    context: *const mcp_policy_context,
    out_output: *mut *mut mcp_policy_output,
) -> mcp_policy_result {
    boundary(|| {
        out(out_output, "out_output")?;
        // SAFETY: forwarded from the caller's promise.
        let e = unsafe { handle(engine, "engine") }?;
        // SAFETY: forwarded from the caller's promise.
        let request = unsafe { bytes(request, request_len, "request") }?;
        // SAFETY: forwarded from the caller's promise.
        let response = unsafe { bytes(response, response_len, "response") }?;
        // SAFETY: forwarded from the caller's promise.
        let ctx = unsafe { context_or_empty(context) };
        let engine = e.guard.engine();
        let req = Message::parse(request, engine.limits()).map_err(|e| Failure::core(&e))?;
        let f = engine
            .filter_response(&req, response, ctx)
            .map_err(|e| Failure::core(&e))?;
        let o = mcp_policy_output::new(Out::Filtered(f, response.to_vec()));
        // SAFETY: `out_output` checked writable above.
        unsafe { put(out_output, into_handle(o)) };
        Ok(())
    })
}
