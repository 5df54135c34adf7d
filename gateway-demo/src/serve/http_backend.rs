//! Forwarding to a Streamable HTTP backend. Whatever comes back (a JSON body, an event stream,
//! an HTTP error) is judged by the engine's exchange as it arrives; this file only moves bytes
//! and headers.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{
    ACCEPT_ENCODING, AUTHORIZATION, CONNECTION, CONTENT_ENCODING, CONTENT_TYPE, WWW_AUTHENTICATE,
};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use http_body_util::BodyExt;
use mcp_policy::Context;
use mcp_policy::exchange::{Exchange, Failure, Head, Notes};
use tokio::sync::mpsc;

use super::guard::RequestMeta;
use super::h1::{has_token, hop_by_hop};
use super::log::{self, Record};
use super::replies::{Resp, channel_body, from_reply, full, read_body, set_content_type, within};
use super::session::{Session, Upstream};
use super::upstream::{Outbound, UpBody, UpstreamError};
use super::{Api, SESSION_HEADER, Shared, VERSION_HEADER};

/// Copies end-to-end headers, leaving out hop-by-hop ones (also those named in `Connection`)
/// and those `skip` names, into a header map or a backend request's list.
pub(crate) fn copy_headers(
    src: &HeaderMap,
    dst: &mut impl Extend<(HeaderName, HeaderValue)>,
    skip: impl Fn(&str) -> bool,
) {
    // Usually absent: then nothing is allocated for it.
    let connection: Vec<&HeaderValue> = src.get_all(CONNECTION).iter().collect();
    for (k, v) in src {
        let name = k.as_str();
        if hop_by_hop(name)
            || skip(name)
            || connection.iter().any(|c| has_token(c.as_bytes(), name))
        {
            continue;
        }
        dst.extend(std::iter::once((k.clone(), v.clone())));
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
async fn send(api: &Api, mut req: Outbound) -> Result<http::Response<UpBody>, UpstreamError> {
    if let Some(host) = &api.upstream_host {
        req.headers.push((http::header::HOST, host.clone()));
    }
    match &api.pool {
        Some(pool) => pool.request(req).await,
        None => Err(UpstreamError::Connect(std::io::Error::other(
            "not an HTTP backend",
        ))),
    }
}

/// What a client request forwards: its body (with the exact type it was judged as) and the
/// engine's exchange that judges the answer.
#[derive(Debug)]
pub(crate) struct Outgoing {
    /// The client's HTTP method and target (the query is carried over).
    pub(crate) method: http::Method,
    /// The client's request target.
    pub(crate) uri: Uri,
    /// The body and its `Content-Type`, for a POST.
    pub(crate) body: Option<(Bytes, &'static str)>,
    /// Judges the answer.
    pub(crate) exchange: Exchange,
}

/// Notes in the exchange log what the engine did with the server's messages.
pub(crate) fn note(rec: &mut Record, notes: &Notes, api: &Api) {
    if let Some(code) = notes.error_code {
        rec.rpc_error = Some(code);
    }
    if let Some(why) = &notes.failure {
        log::warn(&format!("api {:?}: {why}", api.name));
        rec.decision = "error";
        rec.detail = Some(why.clone());
    }
}

/// The message of a failed backend call, naming the backend.
fn failure_detail(api: &Api, e: &UpstreamError) -> (Failure, String) {
    let (failure, what) = if e.is_connect() {
        (Failure::Unreachable, "is unreachable")
    } else {
        (Failure::Broken, "failed")
    };
    (
        failure,
        format!("Backend {} {what}: {}", api.backend_label(), error_chain(e)),
    )
}

/// Sends one client request to the backend and passes its answer back through the engine.
/// `ctx` is the exchange's policy context when the caller built one (a whole answer is judged
/// with it; an event stream builds its own, as it outlives this call).
pub(crate) async fn forward(
    shared: Arc<Shared>,
    api: Arc<Api>,
    out: Outgoing,
    session: Option<Arc<Session>>,
    meta: Arc<RequestMeta>,
    ctx: Option<&Context<'_>>,
    mut rec: Record,
) -> Resp {
    let Outgoing {
        method,
        uri,
        body,
        mut exchange,
    } = out;
    let super::config::Backend::Http(backend) = &api.backend else {
        return from_reply(
            &mut rec,
            exchange.fail_reply(Failure::Unreachable, "not an HTTP backend"),
        );
    };
    let mut req = Outbound {
        method: method.clone(),
        target: upstream_uri(backend, &uri),
        // Sized once: the copied headers plus the four set below.
        headers: Vec::with_capacity(meta.headers.len() + 4),
        body: body.as_ref().map(|(b, _)| b.clone()).unwrap_or_default(),
    };
    // The body goes with the type it was judged as, and nothing else describing it.
    let sends_authorization = api.config.sends_authorization();
    let skip = |name: &str| match name {
        "host" | "content-length" | "content-type" | "content-encoding" | "mcp-session-id"
        | "accept-encoding" => true,
        "authorization" => !sends_authorization,
        _ => false,
    };
    // The client's `Host`, body headers, session id and `Accept-Encoding` are skipped, so what
    // is pushed below is never a repeat.
    copy_headers(&meta.headers, &mut req.headers, skip);
    if let Some((_, ct)) = &body {
        req.headers
            .push((CONTENT_TYPE, HeaderValue::from_static(ct)));
    }
    // The engine judges bytes as they are: the backend must not compress.
    req.headers
        .push((ACCEPT_ENCODING, HeaderValue::from_static("identity")));
    if let Some(s) = &session
        && let Upstream::Http(_) = s.upstream
    {
        match &s.upstream_header {
            Some(v) => {
                req.headers.push((SESSION_HEADER, v.clone()));
            }
            None => {
                return super::replies::GatewayError::SessionNotFound.respond(&mut rec, None);
            }
        }
    }
    let timeouts = &api.config.timeouts;
    // The answer's body holds the backend connection until it has been read: to the end of
    // this function for a JSON answer, to the end of the stream for SSE.
    let resp = match tokio::time::timeout(timeouts.read(), send(&api, req)).await {
        Err(_) => {
            let msg = format!(
                "Backend {} did not answer within {} ms",
                api.backend_label(),
                timeouts.read_ms
            );
            return from_reply(&mut rec, exchange.fail_reply(Failure::Timeout, &msg));
        }
        Ok(Err(e)) => {
            let (failure, msg) = failure_detail(&api, &e);
            return from_reply(&mut rec, exchange.fail_reply(failure, &msg));
        }
        Ok(Ok(answer)) => answer,
    };
    let (rparts, rbody) = resp.into_parts();
    let status = rparts.status;
    rec.status = status.as_u16();
    // The backend's headers are passed on in place (hop-by-hop ones removed), not copied.
    let mut rheaders = rparts.headers;
    let upstream_session = rheaders.remove(SESSION_HEADER);
    let upstream_session = upstream_session.as_ref().and_then(|v| v.to_str().ok());

    let mut session_out = session.as_ref().map(|s| s.id.clone());
    let mut session_out_header = session.as_ref().and_then(|s| s.id_header.clone());
    if let (None, Some(up), true) = (&session, upstream_session, status.is_success()) {
        // The engine's session of this first exchange becomes the MCP session's.
        let s = Arc::new(Session::new(
            &shared.runtime().keys,
            api.name.clone(),
            Upstream::Http(up.to_owned()),
            exchange.session().clone(),
            meta.owner.clone(),
        ));
        shared.sessions.insert(s.clone());
        rec.session = Some(s.id.clone());
        session_out = Some(s.id.clone());
        session_out_header = s.id_header.clone();
    }
    if let (Some(s), StatusCode::NOT_FOUND) = (&session, status) {
        // The backend forgot the session (restart, expiry): forget it too, so the client
        // re-initialises.
        shared.sessions.remove(&s.id);
    }

    if let Some(relay) = &api.relay
        && matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
    {
        // The challenge must send the client to the gateway's metadata: a client refuses
        // metadata naming a resource other than the URL it connected to.
        let rewritten: Vec<HeaderValue> = rheaders
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| relay.rewrite_challenge(v))
            .filter_map(|v| HeaderValue::from_str(&v).ok())
            .collect();
        rheaders.remove(WWW_AUTHENTICATE);
        for v in rewritten {
            rheaders.append(WWW_AUTHENTICATE, v);
        }
    }
    // The answer's own framing and hop-by-hop headers were left out when its head was read
    // (`h1::Head::headers`): the body may be rewritten, and hyper frames what is sent.
    if let (Some(v), true) = (session_out_header, upstream_session.is_some()) {
        rheaders.insert(SESSION_HEADER, v);
    }
    let head = exchange.server_head(
        status.as_u16(),
        rheaders.get(CONTENT_TYPE).map(HeaderValue::as_bytes),
        rheaders.get(CONTENT_ENCODING).map(HeaderValue::as_bytes),
    );
    let mut out = http::Response::new(full(Bytes::new()));
    *out.status_mut() = status;
    if head == Head::Stream {
        set_content_type(&mut rheaders, Some("text/event-stream"));
        *out.headers_mut() = rheaders;
        let idle = if method == http::Method::POST {
            timeouts.stream_idle()
        } else {
            None
        };
        let pump = SsePump {
            api: api.clone(),
            upstream: backend_session_of(session_out.as_deref(), &shared),
            meta,
            exchange,
            idle,
            rec,
            shutdown: shared.shutdown_signal(),
        };
        *out.body_mut() = pump.start(rbody);
        return out;
    }
    // Everything else is small (JSON answers, errors, 202): read it whole, then judge it.
    let limit = api.config.limits.max_response_bytes;
    let read = within(timeouts.read(), read_body(rbody, limit)).await;
    let data = match read {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => {
            let msg = format!(
                "Backend {} sent an unreadable response: {e}",
                api.backend_label()
            );
            return from_reply(&mut rec, exchange.fail_reply(Failure::Broken, &msg));
        }
        Err(_) => {
            let msg = format!(
                "Backend {} did not finish its response within {} ms",
                api.backend_label(),
                timeouts.read_ms
            );
            return from_reply(&mut rec, exchange.fail_reply(Failure::Timeout, &msg));
        }
    };
    let own_ctx;
    let ctx = match ctx {
        Some(c) => c,
        None => {
            own_ctx = api.guard.context(&meta);
            &own_ctx
        }
    };
    let answer = exchange.server_body(&data, ctx);
    note(&mut rec, &answer.notes, &api);
    // Looked up only when the policy refused a server request (a table lookup per exchange
    // otherwise).
    let upstream = if answer.to_server.is_empty() {
        None
    } else {
        backend_session_of(session_out.as_deref(), &shared)
    };
    for message in answer.to_server {
        answer_server(
            api.clone(),
            upstream.clone(),
            meta.clone(),
            Bytes::from(message),
        );
    }
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_GATEWAY);
    rec.status = status.as_u16();
    *out.status_mut() = status;
    set_content_type(&mut rheaders, answer.content_type);
    *out.headers_mut() = rheaders;
    *out.body_mut() = full(answer.body.map_or(data, Bytes::from));
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
        let mut h = vec![
            (CONTENT_TYPE, HeaderValue::from_static("application/json")),
            (
                http::header::ACCEPT,
                HeaderValue::from_static("application/json, text/event-stream"),
            ),
        ];
        if let Some(v) = upstream_session.and_then(|u| HeaderValue::from_str(&u).ok()) {
            h.push((SESSION_HEADER, v));
        }
        if let Some(v) = meta.headers.get(VERSION_HEADER) {
            h.push((VERSION_HEADER, v.clone()));
        }
        if api.config.sends_authorization()
            && let Some(v) = meta.headers.get(AUTHORIZATION)
        {
            h.push((AUTHORIZATION, v.clone()));
        }
        let req = Outbound {
            method: http::Method::POST,
            target: upstream_uri(&uri, &Uri::default()),
            headers: h,
            body: answer,
        };
        let label = api.backend_label();
        match tokio::time::timeout(api.config.timeouts.read(), send(&api, req)).await {
            Ok(Ok(r)) if r.status().is_success() => log::info(&format!(
                "api {:?}: a server request denied by policy was answered with an error to {label}",
                api.name
            )),
            Ok(Ok(r)) => log::warn(&format!(
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

/// Moves an upstream event stream to the client through the engine's exchange, chunk by chunk.
struct SsePump {
    api: Arc<Api>,
    /// The backend's session id, for answers the gateway sends the server itself.
    upstream: Option<String>,
    meta: Arc<RequestMeta>,
    exchange: Exchange,
    idle: Option<Duration>,
    rec: Record,
    shutdown: tokio::sync::watch::Receiver<bool>,
}

impl SsePump {
    fn start(mut self, mut body: UpBody) -> super::replies::GwBody {
        let (tx, rx) = mpsc::channel::<Bytes>(16);
        tokio::spawn(async move {
            let label = self.api.backend_label();
            // One context for every event of the stream.
            let meta = self.meta.clone();
            let ctx = self.api.guard.context(&meta);
            loop {
                let frame = tokio::select! {
                    // The client went away: stop reading, which drops (frees) the upstream
                    // request; the exchange keeps a resumable stream's requests waiting.
                    () = tx.closed() => return,
                    _ = self.shutdown.wait_for(|down| *down) => Err(None),
                    f = next_frame(&mut body, self.idle) => f.map_err(Some),
                };
                let step = match frame {
                    Ok(None) => self.exchange.finish(),
                    Ok(Some(Ok(chunk))) => self.exchange.server_chunk(&chunk, &ctx),
                    Ok(Some(Err(e))) => self.exchange.fail_stream(
                        Failure::Broken,
                        &format!("Backend {label} broke the stream: {}", error_chain(&e)),
                    ),
                    Err(Some(ms)) => self.exchange.fail_stream(
                        Failure::Timeout,
                        &format!("Backend {label} sent nothing for {ms} ms"),
                    ),
                    Err(None) => self
                        .exchange
                        .fail_stream(Failure::ShuttingDown, "The gateway is shutting down"),
                };
                note(&mut self.rec, &step.notes, &self.api);
                for message in step.to_server {
                    answer_server(
                        self.api.clone(),
                        self.upstream.clone(),
                        self.meta.clone(),
                        Bytes::from(message),
                    );
                }
                if !step.to_client.is_empty() && tx.send(Bytes::from(step.to_client)).await.is_err()
                {
                    return;
                }
                if step.end {
                    return;
                }
            }
        });
        channel_body(rx)
    }
}

/// The next data chunk: `Ok(None)` at the end, `Err(ms)` after `idle` without one.
async fn next_frame(
    body: &mut UpBody,
    idle: Option<Duration>,
) -> Result<Option<Result<Bytes, std::io::Error>>, u128> {
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

/// Upstream DELETEs under way at once. The reaper ends every expired session in one go: all
/// at once, thousands of DELETEs outran the backend's accept queue and a fifth of them were
/// lost (connect timeouts), leaving those sessions open at the backend.
static DELETES: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(32);

/// Ends an upstream session in the background (idle expiry, shutdown).
pub(crate) fn delete_upstream(api: Arc<Api>, upstream_id: String) {
    let super::config::Backend::Http(uri) = api.backend.clone() else {
        return;
    };
    tokio::spawn(async move {
        let Ok(v) = HeaderValue::from_str(&upstream_id) else {
            return;
        };
        let Ok(_permit) = DELETES.acquire().await else {
            return;
        };
        let req = Outbound {
            method: http::Method::DELETE,
            target: upstream_uri(&uri, &Uri::default()),
            headers: vec![(SESSION_HEADER, v)],
            body: Bytes::new(),
        };
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
        copy_headers(&src, &mut dst, |name| name == "authorization");
        let mut names: Vec<&str> = dst.keys().map(|k| k.as_str()).collect();
        names.sort();
        assert_eq!(names, ["accept", "mcp-protocol-version"]);
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
