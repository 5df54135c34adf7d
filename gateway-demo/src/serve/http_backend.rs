//! Forwarding to a Streamable HTTP backend, with SSE responses parsed and guarded event by event.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT_ENCODING, AUTHORIZATION, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use mcp_policy::Context;
use mcp_policy::jsonrpc::{Body, MessageKind};
use tokio::sync::mpsc;

use super::guard::{Parsed, RequestMeta, ServerVerdict, jsonrpc_error};
use super::log::{self, Exchange};
use super::proxy::{MessageInfo, SESSION_HEADER, channel_body, id_key, rpc_error};
use super::session::{Session, Upstream};
use super::sse::{SseEvent, SseParser};
use super::upstream::{Lease, UpstreamError};
use super::{Api, Resp, Shared, full};

/// Headers that describe one connection, not the message (RFC 9110 §7.6.1).
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "proxy-authorization",
    "proxy-authenticate",
];

/// Whether header `name` is listed in one of the `Connection` header values.
fn listed_in_connection(connection: &[&HeaderValue], name: &str) -> bool {
    connection
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(name))
}

/// Copies end-to-end headers, leaving out hop-by-hop ones (also those named in `Connection`)
/// and `skip`.
pub(crate) fn copy_headers(src: &HeaderMap, dst: &mut HeaderMap, skip: &[&str]) {
    // Usually absent: then nothing is allocated for it.
    let connection: Vec<&HeaderValue> = src.get_all(CONNECTION).iter().collect();
    for (k, v) in src {
        let name = k.as_str();
        if HOP_BY_HOP.contains(&name)
            || skip.contains(&name)
            || (!connection.is_empty() && listed_in_connection(&connection, name))
        {
            continue;
        }
        dst.append(k.clone(), v.clone());
    }
}

/// [`copy_headers`] in place: removes hop-by-hop headers (also those named in `Connection`)
/// and `skip` from `headers`. Nothing is allocated unless one of them is present.
fn strip_headers(headers: &mut HeaderMap, skip: &[HeaderName]) {
    for name in skip {
        headers.remove(name);
    }
    let connection: Vec<&HeaderValue> = headers.get_all(CONNECTION).iter().collect();
    let doomed: Vec<HeaderName> = headers
        .keys()
        .filter(|k| {
            HOP_BY_HOP.contains(&k.as_str())
                || (!connection.is_empty() && listed_in_connection(&connection, k.as_str()))
        })
        .cloned()
        .collect();
    for name in doomed {
        headers.remove(name);
    }
}

/// The request target sent to the backend (origin form: the connection is to the backend
/// already): the backend URL's path and query, with the client's query appended.
fn upstream_uri(backend: &Uri, client: &Uri) -> Uri {
    let target = backend
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| http::uri::PathAndQuery::from_static("/"));
    match client.query() {
        None => Uri::from(target),
        Some(q) => {
            let sep = if target.query().is_some() { '&' } else { '?' };
            format!("{target}{sep}{q}")
                .parse()
                .unwrap_or_else(|_| Uri::from(target))
        }
    }
}

/// Sends `req` (target from [`upstream_uri`]) to the API's HTTP backend, with its `Host`.
async fn send(
    api: &Api,
    mut req: http::Request<Full<Bytes>>,
) -> Result<(http::Response<Incoming>, Lease), UpstreamError> {
    if let Some(host) = &api.upstream_host {
        req.headers_mut().insert(http::header::HOST, host.clone());
    }
    match &api.pool {
        Some(pool) => pool.request(req).await,
        None => Err(UpstreamError::Connect(std::io::Error::other(
            "not an HTTP backend",
        ))),
    }
}

/// Sends one client request to the backend and streams its answer back through the guard.
/// `ctx` is the exchange's policy context when the caller built one (a JSON answer is judged
/// with it; an SSE stream builds its own, as it outlives this call).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn forward(
    shared: Arc<Shared>,
    api: Arc<Api>,
    backend: Uri,
    parts: http::request::Parts,
    body: Option<(Bytes, Option<&Body<'_>>)>,
    session: Option<Arc<Session>>,
    meta: &Arc<RequestMeta>,
    ctx: Option<&Context<'_>>,
    info: &MessageInfo,
    mut ex: Exchange,
) -> Resp {
    // `body`: what the guard let through, and the parsed client body (for list filtering).
    let (body, request) = match body {
        Some((b, parsed)) => (Some(b), parsed),
        None => (None, None),
    };
    let mut req = http::Request::new(Full::new(body.clone().unwrap_or_default()));
    *req.method_mut() = parts.method.clone();
    *req.uri_mut() = upstream_uri(&backend, &parts.uri);
    // Sized once: the copied headers plus the three set below.
    *req.headers_mut() = HeaderMap::with_capacity(meta.headers.len() + 3);
    let skip: &[&str] = if api.config.forward_authorization {
        &[
            "host",
            "content-length",
            "mcp-session-id",
            "accept-encoding",
        ]
    } else {
        &[
            "host",
            "content-length",
            "mcp-session-id",
            "accept-encoding",
            "authorization",
        ]
    };
    // The client's headers were moved into `meta` (the guard's view), not copied.
    copy_headers(&meta.headers, req.headers_mut(), skip);
    // The SSE parser needs the plain text, so the backend must not compress.
    req.headers_mut()
        .insert(ACCEPT_ENCODING, HeaderValue::from_static("identity"));
    if let Some(Upstream::Http(up)) = session.as_ref().map(|s| &s.upstream) {
        match HeaderValue::from_str(up) {
            Ok(v) => {
                req.headers_mut().insert(SESSION_HEADER, v);
            }
            Err(_) => {
                return rpc_error(
                    &mut ex,
                    StatusCode::NOT_FOUND,
                    None,
                    -32001,
                    "Session not found",
                );
            }
        }
    }
    // Only errors name the backend: built when needed.
    let label = || api.backend_label();
    let timeouts = &api.config.timeouts;
    let id = info.first_raw_id();
    // The lease holds the backend connection until the answer has been read: to the end of
    // this function for a JSON answer, to the end of the stream for SSE.
    let (resp, lease) = match tokio::time::timeout(timeouts.read(), send(&api, req)).await {
        Err(_) => {
            return rpc_error(
                &mut ex,
                StatusCode::GATEWAY_TIMEOUT,
                id,
                -32000,
                &format!(
                    "Backend {} did not answer within {} ms",
                    label(),
                    timeouts.read_ms
                ),
            );
        }
        Ok(Err(e)) => {
            let what = if e.is_connect() {
                "is unreachable"
            } else {
                "failed"
            };
            return rpc_error(
                &mut ex,
                StatusCode::BAD_GATEWAY,
                id,
                -32603,
                &format!("Backend {} {what}: {}", label(), error_chain(&e)),
            );
        }
        Ok(Ok(answer)) => answer,
    };
    let (rparts, rbody) = resp.into_parts();
    let status = rparts.status;
    ex.status = status.as_u16();
    // The backend's headers are passed on in place (hop-by-hop ones removed), not copied.
    let mut rheaders = rparts.headers;
    let upstream_session = rheaders.remove(SESSION_HEADER);
    let upstream_session = upstream_session.as_ref().and_then(|v| v.to_str().ok());

    let mut session_out = session.as_ref().map(|s| s.id.clone());
    if let (None, Some(up), true) = (&session, upstream_session, status.is_success()) {
        let s = Arc::new(Session::new(
            api.name.clone(),
            Upstream::Http(up.to_owned()),
        ));
        if let Some(v) = &meta.protocol_version {
            s.set_protocol_version(v);
        }
        shared.sessions.insert(s.clone());
        ex.session = Some(s.id.clone());
        session_out = Some(s.id.clone());
    }
    if let (Some(s), StatusCode::NOT_FOUND) = (&session, status) {
        // The backend forgot the session (restart, expiry): forget it too, so the client
        // re-initialises.
        shared.sessions.remove(&s.id);
    }

    // The body may be rewritten: hyper sets the length of what is sent.
    strip_headers(&mut rheaders, &[CONTENT_LENGTH]);
    if let (Some(id), true) = (&session_out, upstream_session.is_some())
        && let Ok(v) = HeaderValue::from_str(id)
    {
        rheaders.insert(SESSION_HEADER, v);
    }
    let is_type = |t: &str| {
        rheaders
            .get(CONTENT_TYPE)
            .and_then(|v| v.as_bytes().get(..t.len()))
            .is_some_and(|p| p.eq_ignore_ascii_case(t.as_bytes()))
    };
    let (is_sse, is_json) = (is_type("text/event-stream"), is_type("application/json"));
    let mut out = http::Response::new(full(Bytes::new()));
    *out.status_mut() = status;
    *out.headers_mut() = rheaders;
    if is_sse {
        let idle = if parts.method == http::Method::POST {
            timeouts.stream_idle()
        } else {
            None
        };
        let pump = SsePump {
            api: api.clone(),
            upstream: backend_session_of(session_out.as_deref(), &shared),
            _lease: lease,
            meta: meta.clone(),
            answering: body,
            pending: info
                .request_ids
                .iter()
                .cloned()
                .zip(info.raw_ids.iter().cloned())
                .collect(),
            idle,
            ex,
            shutdown: shared.shutdown_signal(),
        };
        *out.body_mut() = pump.start(rbody);
        return out;
    }
    // Everything else is small (JSON answers, errors, 202): read it whole, then guard JSON.
    let limit = api.config.limits.max_response_bytes;
    let read = tokio::time::timeout(timeouts.read(), Limited::new(rbody, limit).collect()).await;
    let data = match read {
        Ok(Ok(c)) => c.to_bytes(),
        Ok(Err(e)) => {
            return rpc_error(
                &mut ex,
                StatusCode::BAD_GATEWAY,
                id,
                -32603,
                &format!("Backend {} sent an unreadable response: {e}", label()),
            );
        }
        Err(_) => {
            return rpc_error(
                &mut ex,
                StatusCode::GATEWAY_TIMEOUT,
                id,
                -32000,
                &format!(
                    "Backend {} did not finish its response within {} ms",
                    label(),
                    timeouts.read_ms
                ),
            );
        }
    };
    let data = if is_json && !data.is_empty() {
        let own_ctx;
        let ctx = match ctx {
            Some(c) => c,
            None => {
                own_ctx = api.guard.context(meta);
                &own_ctx
            }
        };
        // A list answer is parsed and filtered in one pass when the guard can; anything else
        // (and anything that pass refuses) is parsed once here and judged from that view.
        let verdict = match list_request(request, &data) {
            Some(req) => api.guard.list_answer(&data, ctx, req),
            None => None,
        };
        let verdict = match verdict {
            Some((v, kind)) => {
                // The one pass said what it read; only an error answer (rare, small) is parsed
                // again, for the log's error code.
                if kind == MessageKind::ErrorResponse {
                    note_answer(&Body::parse(&data, &api.limits), &mut ex);
                }
                v
            }
            None => {
                let parsed = Body::parse(&data, &api.limits);
                note_answer(&parsed, &mut ex);
                api.guard.server_body(&data, &parsed, meta, ctx, request)
            }
        };
        match verdict {
            ServerVerdict::Pass => data,
            ServerVerdict::Replace(b) => b,
            ServerVerdict::Drop => jsonrpc_error(id, -32603, "Response withheld by the gateway"),
            ServerVerdict::Refuse(answer) => {
                // A server request as the whole answer to a POST is odd, but the server still
                // waits for its reply.
                let upstream = backend_session_of(session_out.as_deref(), &shared);
                answer_server(api.clone(), upstream, meta.clone(), answer);
                jsonrpc_error(id, -32603, "Response withheld by the gateway")
            }
            ServerVerdict::Invalid(why) => {
                let msg = format!(
                    "Backend {} sent a message the gateway cannot read: {why}",
                    label()
                );
                log::warn(&format!("api {:?}: {msg}", api.name));
                ex.decision = "error";
                ex.detail = Some(msg.clone());
                ex.rpc_error = Some(-32603);
                ex.status = StatusCode::BAD_GATEWAY.as_u16();
                *out.status_mut() = StatusCode::BAD_GATEWAY;
                out.headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                jsonrpc_error(id, -32603, &msg)
            }
        }
    } else {
        data
    };
    *out.body_mut() = full(data);
    out
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(inner) = cur {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        cur = inner.source();
    }
    s
}

/// The client request when the body answers a single list request (`tools/list` and the
/// like), whose answer the guard may parse and filter in one pass; `None` for anything else,
/// and for an answer that is a batch (judged message by message by the generic path).
fn list_request<'r>(
    request: Option<&'r Body<'_>>,
    answer: &[u8],
) -> Option<&'r mcp_policy::Message<'r>> {
    let Some(Body::Single(req)) = request else {
        return None;
    };
    let list = req
        .method()
        .and_then(mcp_policy::mcp::Method::from_name)
        .and_then(mcp_policy::policy::AclMethod::for_mcp)
        .is_some_and(mcp_policy::policy::AclMethod::is_list);
    let batch = answer.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    (list && !batch).then_some(req)
}

/// The single answer in a parsed body (a batch or an unreadable body answers nothing here).
fn answer_of<'p>(parsed: &'p Parsed<'_>) -> Option<&'p mcp_policy::Message<'p>> {
    let Ok(Body::Single(m)) = parsed else {
        return None;
    };
    matches!(m.kind(), MessageKind::Response | MessageKind::ErrorResponse).then_some(m)
}

/// Notes in the exchange the JSON-RPC error of an answer.
fn note_answer(parsed: &Parsed<'_>, ex: &mut Exchange) {
    if let Some(m) = answer_of(parsed)
        && m.kind() == MessageKind::ErrorResponse
    {
        ex.rpc_error = m
            .error()
            .and_then(|e| e.get("code"))
            .and_then(|c| c.as_i64());
    }
}

/// The backend's session id behind a gateway session id.
fn backend_session_of(gateway_id: Option<&str>, shared: &Shared) -> Option<String> {
    match &shared.sessions.peek(gateway_id?)?.upstream {
        Upstream::Http(up) => Some(up.clone()),
        Upstream::Stdio(_) => None,
    }
}

/// Sends `answer` (a JSON-RPC response to a server→client request the policy refused) to the
/// backend, as the client would have posted its own response, so the server's pending call
/// ends with an error instead of waiting forever. Runs in the background: the stream that
/// carried the request must not wait for it.
pub(crate) fn answer_server(
    api: Arc<Api>,
    upstream_session: Option<String>,
    meta: Arc<RequestMeta>,
    answer: Bytes,
) {
    let super::config::Backend::Http(uri) = api.backend.clone() else {
        return;
    };
    tokio::spawn(async move {
        let mut req = http::Request::new(Full::new(answer));
        *req.method_mut() = http::Method::POST;
        *req.uri_mut() = upstream_uri(&uri, &Uri::default());
        let h = req.headers_mut();
        h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        h.insert(
            http::header::ACCEPT,
            HeaderValue::from_static("application/json, text/event-stream"),
        );
        if let Some(v) = upstream_session.and_then(|u| HeaderValue::from_str(&u).ok()) {
            h.insert(SESSION_HEADER, v);
        }
        if let Some(v) = meta
            .protocol_version
            .as_deref()
            .and_then(|v| HeaderValue::from_str(v).ok())
        {
            h.insert(super::proxy::VERSION_HEADER, v);
        }
        if api.config.forward_authorization
            && let Some(v) = meta.headers.get(AUTHORIZATION)
        {
            h.insert(AUTHORIZATION, v.clone());
        }
        let label = api.backend_label();
        match tokio::time::timeout(api.config.timeouts.read(), send(&api, req)).await {
            Ok(Ok((r, _))) if r.status().is_success() => log::info(&format!(
                "api {:?}: a server request denied by policy was answered with an error to {label}",
                api.name
            )),
            Ok(Ok((r, _))) => log::warn(&format!(
                "api {:?}: {label} refused the error answer to its denied request: {}",
                api.name,
                r.status()
            )),
            Ok(Err(e)) => log::warn(&format!(
                "api {:?}: cannot answer {label}'s denied request: {}",
                api.name,
                error_chain(&e)
            )),
            Err(_) => log::warn(&format!(
                "api {:?}: {label} did not take the answer to its denied request in time",
                api.name
            )),
        }
    });
}

/// Moves an upstream SSE body to the client, one guarded event at a time.
struct SsePump {
    api: Arc<Api>,
    /// The backend's session id, for answers the gateway sends the server itself.
    upstream: Option<String>,
    /// The backend connection the stream comes on, given back when the pump ends.
    _lease: Lease,
    meta: Arc<RequestMeta>,
    answering: Option<Bytes>,
    /// (id key, raw id) of the requests not answered yet.
    pending: Vec<(String, String)>,
    idle: Option<Duration>,
    ex: Exchange,
    shutdown: tokio::sync::watch::Receiver<bool>,
}

impl SsePump {
    fn start(mut self, mut body: Incoming) -> super::GwBody {
        let (tx, rx) = mpsc::channel::<Bytes>(16);
        tokio::spawn(async move {
            let mut parser = SseParser::new(self.api.config.limits.max_response_bytes);
            let label = self.api.backend_label();
            // One context for every event of the stream.
            let (guard, meta) = (self.api.guard.clone(), self.meta.clone());
            let ctx = guard.context(&meta);
            let failure = loop {
                let frame = tokio::select! {
                    // The client went away: stop reading, which drops (frees) the upstream
                    // request.
                    () = tx.closed() => return,
                    _ = self.shutdown.wait_for(|down| *down) => {
                        break Some("The gateway is shutting down".to_owned());
                    }
                    f = next_frame(&mut body, self.idle) => f,
                };
                let chunk = match frame {
                    Ok(None) => {
                        if parser.has_partial() {
                            break Some(format!("Backend {label} ended the stream mid-event"));
                        }
                        break None;
                    }
                    Ok(Some(Ok(c))) => c,
                    Ok(Some(Err(e))) => {
                        break Some(format!(
                            "Backend {label} broke the stream: {}",
                            error_chain(&e)
                        ));
                    }
                    Err(ms) => {
                        break Some(format!("Backend {label} sent nothing for {ms} ms"));
                    }
                };
                let events = match parser.push(&chunk) {
                    Ok(ev) => ev,
                    Err(e) => break Some(format!("Backend {label}: {e}")),
                };
                let mut broken = None;
                for ev in events {
                    let out = match self.guard_event(ev, &ctx) {
                        Ok(Some(out)) => out,
                        Ok(None) => continue,
                        Err(why) => {
                            broken = Some(why);
                            break;
                        }
                    };
                    if tx.send(out).await.is_err() {
                        return;
                    }
                }
                if let Some(why) = broken {
                    break Some(format!(
                        "Backend {label} sent a message the gateway cannot read: {why}"
                    ));
                }
            };
            if let Some(msg) = failure {
                log::warn(&format!("api {:?}: {msg}", self.api.name));
                self.ex.decision = "error";
                self.ex.detail = Some(msg.clone());
                // Answer every request still waiting, so no client call hangs on a dead stream.
                if !self.pending.is_empty() {
                    self.ex.rpc_error = Some(-32603);
                }
                for (_, raw) in &self.pending {
                    let data = jsonrpc_error(Some(raw), -32603, &msg);
                    let ev = SseEvent::message(None, data.to_vec()).to_bytes();
                    if tx.send(Bytes::from(ev)).await.is_err() {
                        return;
                    }
                }
            }
        });
        channel_body(rx)
    }

    /// One upstream event, guarded: `Ok(None)` when nothing is left to send, `Err` when the
    /// event cannot be read while requests wait on this stream (the stream is then ended and
    /// each of them answered with an error).
    fn guard_event(
        &mut self,
        mut ev: SseEvent,
        ctx: &Context<'_>,
    ) -> Result<Option<Bytes>, String> {
        if !ev.is_message() {
            if ev.data.as_ref().is_some_and(|d| !d.is_empty()) {
                // Data in a non-`message` event is not an MCP message, so the policy cannot
                // judge it; a lenient client might still read it. Fail closed: strip it, keep
                // the id (Last-Event-ID still advances), `retry:` and comments.
                ev.data = None;
                ev.event = None;
                if ev.id.is_none() && ev.retry.is_none() && ev.comments.is_empty() {
                    return Ok(None);
                }
            }
            return Ok(Some(Bytes::from(ev.to_bytes())));
        }
        let data = ev.data.take().unwrap_or_default();
        let verdict = {
            // Parsed once for the exchange log and the guard; the request it may answer too.
            let parsed = Body::parse(&data, &self.api.limits);
            let mut answered = None;
            note_answer(&parsed, &mut self.ex);
            if let Some(key) = answer_of(&parsed)
                .and_then(|m| m.id())
                .map(|id| id_key(&id))
            {
                answered = self
                    .pending
                    .iter()
                    .position(|(k, _)| *k == key)
                    .map(|i| self.pending.remove(i));
            }
            let request = self
                .answering
                .as_deref()
                .and_then(|a| Body::parse(a, &self.api.limits).ok());
            let verdict =
                self.api
                    .guard
                    .server_body(&data, &parsed, &self.meta, ctx, request.as_ref());
            (verdict, answered)
        };
        let (verdict, answered) = verdict;
        match verdict {
            ServerVerdict::Pass => ev.data = Some(data),
            ServerVerdict::Replace(b) => ev.data = Some(b.to_vec()),
            ServerVerdict::Drop if answered.is_some() => {
                // The client waits for this answer: withholding it must not hang the call.
                let raw = answered.map(|(_, raw)| raw);
                let err = jsonrpc_error(raw.as_deref(), -32603, "Response withheld by the gateway");
                ev.data = Some(err.to_vec());
            }
            ServerVerdict::Invalid(why) if answered.is_some() || !self.pending.is_empty() => {
                // It may have been the answer to a waiting request, and nothing after it can
                // be trusted to be framed right: end the stream, answering every request.
                self.pending.extend(answered);
                return Err(why);
            }
            verdict @ (ServerVerdict::Drop
            | ServerVerdict::Refuse(_)
            | ServerVerdict::Invalid(_)) => {
                match verdict {
                    ServerVerdict::Refuse(answer) => answer_server(
                        self.api.clone(),
                        self.upstream.clone(),
                        self.meta.clone(),
                        answer,
                    ),
                    ServerVerdict::Invalid(why) => log::warn(&format!(
                        "api {:?}: dropped a server message the gateway cannot read: {why}",
                        self.api.name
                    )),
                    _ => {}
                }
                // Keep the id so the client's Last-Event-ID position still advances.
                if ev.id.is_none() {
                    return Ok(None);
                }
                ev.event = None;
            }
        }
        Ok(Some(Bytes::from(ev.to_bytes())))
    }
}

/// The next data chunk: `Ok(None)` at the end, `Err(ms)` after `idle` without one.
async fn next_frame(
    body: &mut Incoming,
    idle: Option<Duration>,
) -> Result<Option<Result<Bytes, hyper::Error>>, u128> {
    loop {
        let frame = match idle {
            Some(d) => match tokio::time::timeout(d, body.frame()).await {
                Ok(f) => f,
                Err(_) => return Err(d.as_millis()),
            },
            None => body.frame().await,
        };
        match frame {
            None => return Ok(None),
            Some(Err(e)) => return Ok(Some(Err(e))),
            Some(Ok(f)) => {
                if let Ok(data) = f.into_data() {
                    return Ok(Some(Ok(data)));
                }
            }
        }
    }
}

/// Ends an upstream session in the background (idle expiry, shutdown).
pub(crate) fn delete_upstream(api: Arc<Api>, upstream_id: String) {
    let super::config::Backend::Http(uri) = api.backend.clone() else {
        return;
    };
    tokio::spawn(async move {
        let Ok(v) = HeaderValue::from_str(&upstream_id) else {
            return;
        };
        let mut req = http::Request::new(Full::new(Bytes::new()));
        *req.method_mut() = http::Method::DELETE;
        *req.uri_mut() = upstream_uri(&uri, &Uri::default());
        req.headers_mut().insert(SESSION_HEADER, v);
        let _ = tokio::time::timeout(Duration::from_secs(2), send(&api, req)).await;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_and_listed_headers_are_dropped() {
        let mut src = HeaderMap::new();
        for (k, v) in [
            ("connection", "keep-alive, x-secret"),
            ("keep-alive", "timeout=5"),
            ("x-secret", "1"),
            ("transfer-encoding", "chunked"),
            ("authorization", "Bearer t"),
            ("mcp-protocol-version", "2025-11-25"),
            ("accept", "application/json, text/event-stream"),
        ] {
            src.append(k, v.parse().unwrap());
        }
        let mut dst = HeaderMap::new();
        copy_headers(&src, &mut dst, &["authorization"]);
        let mut names: Vec<&str> = dst.keys().map(|k| k.as_str()).collect();
        names.sort();
        assert_eq!(names, ["accept", "mcp-protocol-version"]);
    }

    #[test]
    fn one_pass_only_for_a_single_list_request() {
        let limits = mcp_policy::Limits::default();
        let req = |text: &'static str| Body::parse(text.as_bytes(), &limits).unwrap();
        let list = req(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#);
        let call = req(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a"}}"#);
        let batch = req(r#"[{"jsonrpc":"2.0","id":1,"method":"tools/list"}]"#);
        let answer = br#"{"jsonrpc":"2.0","id":1,"result":{"tools":[]}}"#;
        assert!(list_request(Some(&list), answer).is_some());
        assert!(list_request(Some(&list), b" [{}]").is_none());
        assert!(list_request(Some(&call), answer).is_none());
        assert!(list_request(Some(&batch), answer).is_none());
        assert!(list_request(None, answer).is_none());
    }

    #[test]
    fn query_is_carried() {
        let b: Uri = "http://127.0.0.1:3001/mcp".parse().unwrap();
        let c: Uri = "/mcp?x=1".parse().unwrap();
        assert_eq!(upstream_uri(&b, &c).to_string(), "/mcp?x=1");
        assert_eq!(upstream_uri(&b, &"/mcp".parse().unwrap()), "/mcp");
        let bq: Uri = "http://127.0.0.1:3001/mcp?k=v".parse().unwrap();
        assert_eq!(upstream_uri(&bq, &c).to_string(), "/mcp?k=v&x=1");
        let root: Uri = "http://127.0.0.1:3001".parse().unwrap();
        assert_eq!(upstream_uri(&root, &Uri::default()), "/");
    }
}
