//! Sessions and exchanges: the host protocol around each decision (`mcp_policy::exchange`).

use mcp_policy::Exchange;
use mcp_policy::exchange::{
    ClientVerdict, Failure as ServerFailure, Head, RequestFacts, Route, Session,
};

use crate::context::{context_or_empty, header_pairs, mcp_policy_context};
use crate::engine::mcp_policy_engine;
use crate::error::{
    Failure, boundary, bytes, free_box, handle, handle_mut, into_handle, optional, out, put, quiet,
    text,
};
use crate::output::{Out, mcp_policy_output};
use crate::{mcp_policy_header, mcp_policy_result};

/// The state one MCP session shares between its exchanges: the requests waiting for answers
/// (so an answer is judged as the answer to its request, whatever stream it comes on), the
/// revision `initialize` negotiated, the server requests refused. One per MCP session (keep it
/// under the `Mcp-Session-Id`), and a fresh one for a request that belongs to none. Safe to
/// use from several threads at once. Free with [`mcp_policy_session_free`]; exchanges keep
/// what they need.
#[derive(Debug)]
pub struct mcp_policy_session {
    session: Session,
}

/// The state of one exchange: the requests of one client body (or, from
/// [`mcp_policy_exchange_new_stream`], the stream a client opened without a request: a GET
/// stream or a resumed one, the SSE stream filter) and the reader of the server's answer,
/// JSON or SSE. Use it from one thread at a time. Free with [`mcp_policy_exchange_free`].
#[derive(Debug)]
pub struct mcp_policy_exchange {
    exchange: Exchange,
}

/// What the server's response headers say about its body.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum mcp_policy_head {
    /// An event stream: send the status with `Content-Type: text/event-stream` (and nothing
    /// else describing the body) now, then each chunk's output body, then `finish`'s.
    Stream = 1,
    /// Read the whole body (bounded), then send what `mcp_policy_exchange_body` makes of it.
    Whole = 2,
}

/// Where a server message goes (`mcp_policy_session_route`), for hosts that read a session's
/// messages on one channel (a stdio process).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum mcp_policy_route {
    /// It answers a request of the exchange whose id is written: judge it with that exchange.
    Exchange = 1,
    /// It belongs to no request: judge it with the session's GET stream exchange.
    Unsolicited = 2,
    /// It cannot be read: fail every waiting request (`mcp_policy_session_fail_all`).
    Unreadable = 3,
}

/// What the server did or failed to do, when a host gives up on its answer.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum mcp_policy_failure {
    /// The server could not be reached (HTTP 502).
    Unreachable = 1,
    /// The server did not answer in time (HTTP 504).
    Timeout = 2,
    /// The connection or process broke before the answer was complete (HTTP 502).
    Broken = 3,
    /// The host is shutting down (HTTP 503).
    ShuttingDown = 4,
    /// The server sent something the engine cannot judge (HTTP 502).
    Unjudgeable = 5,
}

/// A new session for exchanges judged by `engine`. On success writes it to `out_session`.
///
/// # Safety
/// `engine` must be live; `out_session` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_session_new(
    engine: *const mcp_policy_engine,
    out_session: *mut *mut mcp_policy_session,
) -> mcp_policy_result {
    boundary(|| {
        out(out_session, "out_session")?;
        // SAFETY: forwarded from the caller's promise.
        let e = unsafe { handle(engine, "engine") }?;
        let session = e.guard.session();
        // SAFETY: checked writable above.
        unsafe { put(out_session, into_handle(mcp_policy_session { session })) };
        Ok(())
    })
}

/// Says whether the session outlives its exchanges (kept under a session id, so a client can
/// resume a stream with `Last-Event-ID`). A stream of a resumable session that ends after an
/// event id, without answering, leaves its requests waiting for the resumed stream; otherwise
/// they get errors when it ends. Default false. Set it no later than the head of the answer that
/// names the session: until then the session's streams keep no resume points.
///
/// # Safety
/// `session` must be live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_session_set_resumable(
    session: *const mcp_policy_session,
    resumable: bool,
) -> mcp_policy_result {
    boundary(|| {
        // SAFETY: forwarded from the caller's promise.
        let s = unsafe { handle(session, "session") }?;
        s.session.set_resumable(resumable);
        Ok(())
    })
}

/// Says which exchange a server message (one stdio line) belongs to: writes the route and,
/// for `MCP_POLICY_ROUTE_EXCHANGE`, the exchange's id (`mcp_policy_exchange_id`; 0 otherwise).
///
/// # Safety
/// `session` must be live; `message` must point to `len` bytes; the outs must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_session_route(
    session: *const mcp_policy_session,
    engine: *const mcp_policy_engine,
    message: *const u8,
    len: usize,
    out_route: *mut mcp_policy_route,
    out_exchange_id: *mut u64,
) -> mcp_policy_result {
    boundary(|| {
        out(out_route, "out_route")?;
        out(out_exchange_id, "out_exchange_id")?;
        // SAFETY: forwarded from the caller's promise.
        let s = unsafe { handle(session, "session") }?;
        // SAFETY: forwarded from the caller's promise.
        let e = unsafe { handle(engine, "engine") }?;
        // SAFETY: forwarded from the caller's promise.
        let m = unsafe { bytes(message, len, "message") }?;
        let (route, id) = match s.session.route(m, e.guard.engine().limits()) {
            Route::Exchange(id) => (mcp_policy_route::Exchange, id),
            Route::Unsolicited => (mcp_policy_route::Unsolicited, 0),
            Route::Unreadable => (mcp_policy_route::Unreadable, 0),
        };
        // SAFETY: both checked writable above.
        unsafe { put(out_route, route) };
        // SAFETY: as above.
        unsafe { put(out_exchange_id, id) };
        Ok(())
    })
}

/// Answers every request waiting in the session with a JSON-RPC error (`code`, `message`):
/// for a host whose server channel broke. On success writes an output of kind `FAILURES`:
/// each error with the exchange whose stream it goes to.
///
/// # Safety
/// `session` must be live; `message` must point to `len` bytes of UTF-8; `out_output` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_session_fail_all(
    session: *const mcp_policy_session,
    code: i32,
    message: *const u8,
    len: usize,
    out_output: *mut *mut mcp_policy_output,
) -> mcp_policy_result {
    boundary(|| {
        out(out_output, "out_output")?;
        // SAFETY: forwarded from the caller's promise.
        let s = unsafe { handle(session, "session") }?;
        // SAFETY: forwarded from the caller's promise.
        let m = unsafe { text(message, len, "message") }?;
        let all = s.session.fail_all(code, m);
        // SAFETY: checked writable above.
        unsafe {
            put(
                out_output,
                into_handle(mcp_policy_output::new(Out::Failures(all))),
            )
        };
        Ok(())
    })
}

/// Frees a session handle; NULL is ignored. Its exchanges stay usable.
///
/// # Safety
/// `session` must be NULL or a session from this library, not freed before, and not in use.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_session_free(session: *mut mcp_policy_session) {
    // SAFETY: forwarded from the caller's promise.
    quiet((), || unsafe { free_box(session) })
}

/// Judges one client POST body with its request headers (`count` of them; the engine reads
/// `Content-Type`, `Content-Encoding`, `MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name`, and
/// refuses one sent twice), the context conditions read (NULL for empty) and its session.
///
/// On success writes the verdict to `out_verdict` and:
/// - for `MCP_POLICY_KIND_FORWARD`: a new exchange to `out_exchange`. Forward the body
///   unchanged with the verdict's content type, then give the server's answer to the exchange;
/// - for `MCP_POLICY_KIND_REPLY`: NULL to `out_exchange`. Answer the client with the
///   verdict's status, headers and body; forward nothing.
///
/// Never fails on what the client sent (a body that cannot be read is a reply); fails only on
/// unusable arguments.
///
/// # Safety
/// `engine`, `session` and `context` (or NULL) must be live; `body` must point to `len`
/// bytes; `headers` to `count` headers; the outs must be writable.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn mcp_policy_exchange_new(
    engine: *const mcp_policy_engine,
    session: *const mcp_policy_session,
    body: *const u8,
    len: usize,
    headers: *const mcp_policy_header,
    count: usize,
    context: *const mcp_policy_context,
    out_verdict: *mut *mut mcp_policy_output,
    out_exchange: *mut *mut mcp_policy_exchange,
) -> mcp_policy_result {
    boundary(|| {
        out(out_verdict, "out_verdict")?;
        out(out_exchange, "out_exchange")?;
        // SAFETY: forwarded from the caller's promise.
        let e = unsafe { handle(engine, "engine") }?;
        // SAFETY: forwarded from the caller's promise.
        let s = unsafe { handle(session, "session") }?;
        // SAFETY: forwarded from the caller's promise.
        let body = unsafe { bytes(body, len, "body") }?;
        // SAFETY: forwarded from the caller's promise.
        let pairs = unsafe { header_pairs(headers, count) }?;
        // SAFETY: forwarded from the caller's promise.
        let ctx = unsafe { context_or_empty(context) };
        let facts = RequestFacts::from_headers(pairs.iter().map(|(n, v)| (*n, *v)));
        let (verdict, exchange) = match e.guard.client(body, &facts, ctx, &s.session) {
            ClientVerdict::Forward(f) => (
                Out::Forward(f.content_type, f.summary),
                into_handle(mcp_policy_exchange {
                    exchange: f.exchange,
                }),
            ),
            ClientVerdict::Reply(r) => (Out::Reply(r), core::ptr::null_mut()),
        };
        // SAFETY: both checked writable above.
        unsafe { put(out_verdict, into_handle(mcp_policy_output::new(verdict))) };
        // SAFETY: as above.
        unsafe { put(out_exchange, exchange) };
        Ok(())
    })
}

/// An exchange for a stream the client opened without a request: the GET stream of a session,
/// or a resumed stream (`last_event_id`, the `Last-Event-ID` header; NULL for none), which
/// takes over the waiting requests of the stream that passed that event. Every answer on it is
/// judged as the answer to the session's request with its id; everything else as the server's
/// own messages. On success writes it to `out_exchange`.
///
/// # Safety
/// `engine` and `session` must be live; `last_event_id` NULL or `len` bytes; `out_exchange`
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_exchange_new_stream(
    engine: *const mcp_policy_engine,
    session: *const mcp_policy_session,
    last_event_id: *const u8,
    len: usize,
    out_exchange: *mut *mut mcp_policy_exchange,
) -> mcp_policy_result {
    boundary(|| {
        out(out_exchange, "out_exchange")?;
        // SAFETY: forwarded from the caller's promise.
        let e = unsafe { handle(engine, "engine") }?;
        // SAFETY: forwarded from the caller's promise.
        let s = unsafe { handle(session, "session") }?;
        // SAFETY: forwarded from the caller's promise.
        let last = unsafe { optional(last_event_id, len, "last_event_id") }?;
        let exchange = e.guard.stream(&s.session, last);
        // SAFETY: checked writable above.
        unsafe { put(out_exchange, into_handle(mcp_policy_exchange { exchange })) };
        Ok(())
    })
}

/// Reads the server's response head: its status and `Content-Type` / `Content-Encoding`
/// (NULL when absent). Writes whether to stream the body through
/// [`mcp_policy_exchange_chunk`] or read it whole for [`mcp_policy_exchange_body`].
///
/// # Safety
/// `exchange` must be live and not in use by another thread; the headers NULL or their
/// lengths of bytes; `out_head` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_exchange_head(
    exchange: *mut mcp_policy_exchange,
    status: u16,
    content_type: *const u8,
    content_type_len: usize,
    content_encoding: *const u8,
    content_encoding_len: usize,
    out_head: *mut mcp_policy_head,
) -> mcp_policy_result {
    boundary(|| {
        out(out_head, "out_head")?;
        // SAFETY: forwarded from the caller's promise.
        let x = unsafe { handle_mut(exchange, "exchange") }?;
        // SAFETY: forwarded from the caller's promise.
        let ct = unsafe { optional(content_type, content_type_len, "content_type") }?;
        // SAFETY: forwarded from the caller's promise.
        let ce = unsafe { optional(content_encoding, content_encoding_len, "content_encoding") }?;
        let head = match x.exchange.server_head(status, ct, ce) {
            Head::Stream => mcp_policy_head::Stream,
            Head::Whole => mcp_policy_head::Whole,
        };
        // SAFETY: checked writable above.
        unsafe { put(out_head, head) };
        Ok(())
    })
}

/// What the calls that judge the server's bytes share: the out-parameter and the exchange
/// checked, the bytes and the context read, the output handed over on success.
///
/// # Safety
/// As each of those calls: `exchange` live and not in use elsewhere, `data` `len` bytes,
/// `context` NULL or live, `out_output` writable.
unsafe fn judge(
    exchange: *mut mcp_policy_exchange,
    data: *const u8,
    len: usize,
    param: &str,
    context: *const mcp_policy_context,
    out_output: *mut *mut mcp_policy_output,
    f: impl FnOnce(&mut Exchange, &[u8], &mcp_policy::Context<'static>) -> Result<Out, Failure>,
) -> mcp_policy_result {
    boundary(|| {
        out(out_output, "out_output")?;
        // SAFETY: forwarded from the caller's promise.
        let x = unsafe { handle_mut(exchange, "exchange") }?;
        // SAFETY: forwarded from the caller's promise.
        let b = unsafe { bytes(data, len, param) }?;
        // SAFETY: forwarded from the caller's promise.
        let ctx = unsafe { context_or_empty(context) };
        let o = f(&mut x.exchange, b, ctx)?;
        // SAFETY: checked writable above.
        unsafe { put(out_output, into_handle(mcp_policy_output::new(o))) };
        Ok(())
    })
}

/// Judges the next bytes of the server's event stream, cut anywhere. On success writes a
/// `STEP` output: its body (whole SSE events, possibly empty) goes to the client now, each
/// `to_server` message to the server; when `end` is set, end the stream after the body.
///
/// # Safety
/// `exchange` must be live and not in use elsewhere; `chunk` `len` bytes; `context` NULL or
/// live; `out_output` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_exchange_chunk(
    exchange: *mut mcp_policy_exchange,
    chunk: *const u8,
    len: usize,
    context: *const mcp_policy_context,
    out_output: *mut *mut mcp_policy_output,
) -> mcp_policy_result {
    // SAFETY: forwarded from the caller's promise.
    unsafe {
        judge(
            exchange,
            chunk,
            len,
            "chunk",
            context,
            out_output,
            |x, b, ctx| Ok(Out::Step(x.server_chunk(b, ctx))),
        )
    }
}

/// The server's event stream ended (cleanly or not): writes the last `STEP` output (an
/// incomplete event is dropped; requests still waiting get errors unless the stream can be
/// resumed).
///
/// # Safety
/// `exchange` must be live and not in use elsewhere; `out_output` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_exchange_finish(
    exchange: *mut mcp_policy_exchange,
    out_output: *mut *mut mcp_policy_output,
) -> mcp_policy_result {
    boundary(|| {
        out(out_output, "out_output")?;
        // SAFETY: forwarded from the caller's promise.
        let x = unsafe { handle_mut(exchange, "exchange") }?;
        let step = x.exchange.finish();
        // SAFETY: checked writable above.
        unsafe {
            put(
                out_output,
                into_handle(mcp_policy_output::new(Out::Step(step))),
            )
        };
        Ok(())
    })
}

/// Judges the server's whole body (after a `WHOLE` head). On success writes an `ANSWER`
/// output: send its status, headers and body (or the server's body as it was, when the body
/// state is `UNCHANGED`), and each `to_server` message.
///
/// # Safety
/// `exchange` must be live and not in use elsewhere; `body` `len` bytes; `context` NULL or
/// live; `out_output` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_exchange_body(
    exchange: *mut mcp_policy_exchange,
    body: *const u8,
    len: usize,
    context: *const mcp_policy_context,
    out_output: *mut *mut mcp_policy_output,
) -> mcp_policy_result {
    // SAFETY: forwarded from the caller's promise.
    unsafe {
        judge(
            exchange,
            body,
            len,
            "body",
            context,
            out_output,
            |x, b, ctx| Ok(Out::Answer(x.server_body(b, ctx))),
        )
    }
}

/// Judges one server message (a line of a stdio server) routed to this exchange. On success
/// writes a `DELIVERY` output. A line that cannot be read is an error (1xx, 2xx): fail the
/// session's waiting requests.
///
/// # Safety
/// `exchange` must be live and not in use elsewhere; `message` `len` bytes; `context` NULL or
/// live; `out_output` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_exchange_message(
    exchange: *mut mcp_policy_exchange,
    message: *const u8,
    len: usize,
    context: *const mcp_policy_context,
    out_output: *mut *mut mcp_policy_output,
) -> mcp_policy_result {
    // SAFETY: forwarded from the caller's promise.
    unsafe {
        judge(
            exchange,
            message,
            len,
            "message",
            context,
            out_output,
            |x, b, ctx| {
                x.server_message(b, ctx)
                    .map(Out::Delivery)
                    .map_err(|e| Failure::core(&e))
            },
        )
    }
}

/// Gives up on the server's answer (`failure`, with `detail` for the error messages). With
/// `streaming` false (nothing sent to the client yet) writes a `REPLY` output: the whole HTTP
/// answer to send. With `streaming` true (the stream's head is sent) writes a `STEP` output:
/// the error events to send before ending the stream.
///
/// # Safety
/// `exchange` must be live and not in use elsewhere; `detail` `len` bytes of UTF-8;
/// `out_output` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_exchange_fail(
    exchange: *mut mcp_policy_exchange,
    failure: u32,
    detail: *const u8,
    len: usize,
    streaming: bool,
    out_output: *mut *mut mcp_policy_output,
) -> mcp_policy_result {
    boundary(|| {
        out(out_output, "out_output")?;
        // SAFETY: forwarded from the caller's promise.
        let x = unsafe { handle_mut(exchange, "exchange") }?;
        // SAFETY: forwarded from the caller's promise.
        let detail = unsafe { text(detail, len, "detail") }?;
        let failure = match failure {
            1 => ServerFailure::Unreachable,
            2 => ServerFailure::Timeout,
            3 => ServerFailure::Broken,
            4 => ServerFailure::ShuttingDown,
            5 => ServerFailure::Unjudgeable,
            _ => {
                return Err(Failure::argument(
                    "failure",
                    "not an mcp_policy_failure; pass MCP_POLICY_FAILURE_UNREACHABLE ... _UNJUDGEABLE",
                ));
            }
        };
        let o = if streaming {
            Out::Step(x.exchange.fail_stream(failure, detail))
        } else {
            Out::Reply(x.exchange.fail_reply(failure, detail))
        };
        // SAFETY: checked writable above.
        unsafe { put(out_output, into_handle(mcp_policy_output::new(o))) };
        Ok(())
    })
}

/// The exchange's id in its session (what `mcp_policy_session_route` names); 0 for NULL.
///
/// # Safety
/// `exchange` must be NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_exchange_id(exchange: *const mcp_policy_exchange) -> u64 {
    quiet(0, || {
        // SAFETY: NULL or live (the caller's promise).
        unsafe { exchange.as_ref() }.map_or(0, |x| x.exchange.id())
    })
}

/// How many of the exchange's requests still wait for their answers; 0 for NULL.
///
/// # Safety
/// `exchange` must be NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_exchange_waiting(
    exchange: *const mcp_policy_exchange,
) -> usize {
    quiet(0, || {
        // SAFETY: NULL or live (the caller's promise).
        unsafe { exchange.as_ref() }.map_or(0, |x| x.exchange.waiting())
    })
}

/// Frees an exchange; NULL is ignored. Requests it still waits for are forgotten (nothing can
/// answer them now), unless its stream passed an event id in a resumable session: then a
/// resumed stream (`mcp_policy_exchange_new_stream` with `Last-Event-ID`) takes them over.
///
/// # Safety
/// `exchange` must be NULL or an exchange from this library, not freed before, not in use.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_exchange_free(exchange: *mut mcp_policy_exchange) {
    // SAFETY: forwarded from the caller's promise.
    quiet((), || unsafe { free_box(exchange) })
}
