//! Per-request handling common to every backend: routing, Origin/Host, body limits, sessions,
//! the client-side guard call, and the error answers.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderName, HeaderValue};
use http::{HeaderMap, Method, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::{Frame, Incoming};
use mcp_policy::jsonrpc::{Body, Id, MessageKind, RawValue};
use tokio::sync::mpsc;

use super::config::Backend;
use super::guard::{ClientVerdict, Parsed, RequestMeta, jsonrpc_error};
use super::log::{self, Exchange};
use super::session::Session;
use super::{Api, GwBody, Resp, Shared, full, http_backend, stdio};

pub(crate) const SESSION_HEADER: HeaderName = HeaderName::from_static("mcp-session-id");
pub(crate) const VERSION_HEADER: HeaderName = HeaderName::from_static("mcp-protocol-version");
pub(crate) const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");

/// Response body fed by a task, one SSE event per frame, so each event is flushed as it comes.
#[derive(Debug)]
pub(crate) struct ChannelBody(pub(crate) mpsc::Receiver<Bytes>);

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0.poll_recv(cx).map(|o| o.map(|b| Ok(Frame::data(b))))
    }
}

/// A streamed body from a channel receiver.
pub(crate) fn channel_body(rx: mpsc::Receiver<Bytes>) -> GwBody {
    ChannelBody(rx).boxed()
}

/// What the transport needs to know about a client body (the guard decides; this only routes
/// and answers).
#[derive(Debug, Default, Clone)]
pub(crate) struct MessageInfo {
    /// Keys ([`id_key`]) of the requests in the body: the answers the client waits for.
    pub(crate) request_ids: Vec<String>,
    /// Raw JSON ids of those requests, for error answers.
    pub(crate) raw_ids: Vec<String>,
    /// Keys of the progress tokens the requests carry.
    pub(crate) progress_tokens: Vec<String>,
    pub(crate) is_initialize: bool,
}

/// A stable key for a JSON-RPC id, the same however the peer escaped a string id.
pub(crate) fn id_key(id: &Id<'_>) -> String {
    match id {
        Id::Number(n) => (*n).to_owned(),
        Id::String(s) => serde_json::to_string(&*s.decode()).unwrap_or_default(),
        Id::Null => "null".to_owned(),
    }
}

/// A stable key for a progress token (string or number).
pub(crate) fn raw_key(v: &RawValue<'_>) -> String {
    match v.as_str() {
        Some(s) => serde_json::to_string(&*s).unwrap_or_default(),
        None => v.as_text().trim().to_owned(),
    }
}

impl MessageInfo {
    /// Reads a parsed client body (nothing for one that does not parse: the guard refuses it),
    /// noting its method and subject in the exchange log.
    pub(crate) fn inspect(parsed: &Parsed<'_>, ex: &mut Exchange) -> Self {
        let Ok(parsed) = parsed else {
            return Self::default();
        };
        let mut info = Self::default();
        if let Some(m) = parsed.messages().first() {
            ex.method = m.method().map(log::method_name);
            ex.subject = m.name().or(m.uri()).map(str::to_owned);
        }
        for m in parsed.messages() {
            if m.kind() == MessageKind::Request {
                if let Some(id) = m.id() {
                    info.request_ids.push(id_key(&id));
                    info.raw_ids.push(id.json().into_owned());
                }
                if m.method() == Some("initialize") {
                    info.is_initialize = true;
                }
                if let Some(tok) = m.meta().and_then(|meta| meta.get("progressToken")) {
                    info.progress_tokens.push(raw_key(&tok));
                }
            }
        }
        info
    }

    pub(crate) fn first_raw_id(&self) -> Option<&str> {
        self.raw_ids.first().map(String::as_str)
    }
}

/// A plain response.
pub(crate) fn respond(
    ex: &mut Exchange,
    status: StatusCode,
    content_type: Option<&'static str>,
    body: Bytes,
) -> Resp {
    ex.status = status.as_u16();
    let mut r = http::Response::new(full(body));
    *r.status_mut() = status;
    if let Some(ct) = content_type {
        r.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(ct));
    }
    r
}

/// A JSON-RPC error answered at the HTTP layer.
pub(crate) fn rpc_error(
    ex: &mut Exchange,
    status: StatusCode,
    id: Option<&str>,
    code: i32,
    message: &str,
) -> Resp {
    ex.rpc_error = Some(code.into());
    if status.is_server_error() || status == StatusCode::FORBIDDEN {
        ex.detail = Some(message.to_owned());
    }
    if ex.decision != "deny" && ex.decision != "invalid" {
        ex.decision = if status.is_server_error() {
            "error"
        } else {
            "reject"
        };
    }
    respond(
        ex,
        status,
        Some("application/json"),
        jsonrpc_error(id, code, message),
    )
}

fn header_str<'a>(h: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// Serves one HTTP request.
pub(crate) async fn handle(
    shared: Arc<Shared>,
    req: http::Request<Incoming>,
    remote_ip: Arc<str>,
) -> Result<Resp, Infallible> {
    let rt = shared.runtime();
    let path = req.uri().path();
    if !rt.config.metrics_path.is_empty() && path == rt.config.metrics_path {
        let mut r = http::Response::new(full(shared.metrics.render(&shared.session_counts())));
        r.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        );
        return Ok(r);
    }
    let Some(api) = rt.api_for_path(path).cloned() else {
        let mut r = http::Response::new(full("no MCP API at this path\n"));
        *r.status_mut() = StatusCode::NOT_FOUND;
        return Ok(r);
    };
    drop(rt);
    let mut ex = Exchange::start(shared.metrics.clone(), api.name.clone(), req.method());
    if let Err(why) = api.hosts.check(req.headers()) {
        ex.decision = "deny";
        return Ok(rpc_error(
            &mut ex,
            StatusCode::FORBIDDEN,
            None,
            -32000,
            &format!("Forbidden: {why}"),
        ));
    }
    let method = req.method().clone();
    let resp = match method {
        Method::POST => post(shared, api, req, remote_ip, ex).await,
        Method::GET | Method::DELETE => get_or_delete(shared, api, req, remote_ip, ex).await,
        _ => {
            let mut r = rpc_error(
                &mut ex,
                StatusCode::METHOD_NOT_ALLOWED,
                None,
                -32000,
                "Method not allowed",
            );
            r.headers_mut().insert(
                http::header::ALLOW,
                HeaderValue::from_static("GET, POST, DELETE"),
            );
            r
        }
    };
    Ok(resp)
}

/// Finds the session named by the request, or the answer to give when there is none.
#[allow(clippy::result_large_err)]
fn find_session(
    shared: &Shared,
    api: &Api,
    headers: &HeaderMap,
    ex: &mut Exchange,
) -> Result<Option<Arc<Session>>, Resp> {
    let Some(id) = header_str(headers, &SESSION_HEADER) else {
        return Ok(None);
    };
    match shared.sessions.get(id) {
        Some(s) if s.api == api.name => {
            ex.session = Some(s.id.clone());
            if let Some(v) = header_str(headers, &VERSION_HEADER) {
                s.set_protocol_version(v);
            }
            Ok(Some(s))
        }
        _ => Err(rpc_error(
            ex,
            StatusCode::NOT_FOUND,
            None,
            -32001,
            "Session not found",
        )),
    }
}

/// What the guard may read about the request. The headers are moved out of `parts`, not
/// copied (the forward reads them from the result).
fn meta(
    api: &Api,
    parts: &mut http::request::Parts,
    remote_ip: Arc<str>,
    session: Option<&Arc<Session>>,
) -> RequestMeta {
    let headers = std::mem::take(&mut parts.headers);
    RequestMeta {
        http_method: parts.method.clone(),
        path: parts.uri.path().to_owned(),
        protocol_version: header_str(&headers, &VERSION_HEADER)
            .map(str::to_owned)
            .or_else(|| session.and_then(|s| s.protocol_version())),
        headers,
        remote_ip,
        api: api.name.clone(),
        session_id: session.map(|s| s.id.clone()),
    }
}

async fn post(
    shared: Arc<Shared>,
    api: Arc<Api>,
    req: http::Request<Incoming>,
    remote_ip: Arc<str>,
    mut ex: Exchange,
) -> Resp {
    let (mut parts, body) = req.into_parts();
    let max = api.config.limits.max_body_bytes;
    let too_large = |ex: &mut Exchange| {
        rpc_error(
            ex,
            StatusCode::PAYLOAD_TOO_LARGE,
            None,
            -32600,
            &format!("Request body larger than {max} bytes"),
        )
    };
    let declared = header_str(&parts.headers, &CONTENT_LENGTH).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return too_large(&mut ex);
    }
    let body = match Limited::new(body, max).collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => return too_large(&mut ex),
        Err(e) => {
            return rpc_error(
                &mut ex,
                StatusCode::BAD_REQUEST,
                None,
                -32700,
                &format!("Cannot read the request body: {e}"),
            );
        }
    };
    // Parsed once: the transport reads ids from this view and the guard judges it.
    let parsed = Body::parse(&body, &api.limits);
    let info = MessageInfo::inspect(&parsed, &mut ex);
    let session = match find_session(&shared, &api, &parts.headers, &mut ex) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let meta = Arc::new(meta(&api, &mut parts, remote_ip, session.as_ref()));
    // Built once: the client body and the answer are judged with the same context.
    let ctx = api.guard.context(&meta);
    let forwarded = match api.guard.client_body(&body, &parsed, &meta, &ctx) {
        ClientVerdict::Forward(b) => b,
        ClientVerdict::Reply {
            status,
            content_type,
            body,
            decision,
        } => {
            ex.decision = decision;
            if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body) {
                ex.rpc_error = v["error"]["code"].as_i64();
            }
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
            return respond(&mut ex, status, content_type, body);
        }
    };
    ex.decision = api.guard.allow_label();
    match &api.backend {
        Backend::Http(uri) => {
            http_backend::forward(
                shared,
                api.clone(),
                uri.clone(),
                parts,
                Some((forwarded, parsed.as_ref().ok())),
                session,
                &meta,
                Some(&ctx),
                &info,
                ex,
            )
            .await
        }
        Backend::Stdio { command, cwd, env } => {
            let session = match session {
                Some(s) => s,
                None if info.is_initialize => {
                    match stdio::start(&shared, &api, command, cwd.as_deref(), env, &meta) {
                        Ok(s) => s,
                        Err(e) => {
                            return rpc_error(
                                &mut ex,
                                StatusCode::BAD_GATEWAY,
                                info.first_raw_id(),
                                -32603,
                                &e,
                            );
                        }
                    }
                }
                None => {
                    return rpc_error(
                        &mut ex,
                        StatusCode::BAD_REQUEST,
                        info.first_raw_id(),
                        -32000,
                        "Bad Request: No valid session ID provided",
                    );
                }
            };
            ex.session = Some(session.id.clone());
            match &session.upstream {
                super::session::Upstream::Stdio(p) => {
                    p.post(forwarded, &info, &session.id, ex).await
                }
                super::session::Upstream::Http(_) => rpc_error(
                    &mut ex,
                    StatusCode::NOT_FOUND,
                    None,
                    -32001,
                    "Session not found",
                ),
            }
        }
    }
}

async fn get_or_delete(
    shared: Arc<Shared>,
    api: Arc<Api>,
    req: http::Request<Incoming>,
    remote_ip: Arc<str>,
    mut ex: Exchange,
) -> Resp {
    let (mut parts, _body) = req.into_parts();
    let session = match find_session(&shared, &api, &parts.headers, &mut ex) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let meta = Arc::new(meta(&api, &mut parts, remote_ip, session.as_ref()));
    let is_delete = parts.method == Method::DELETE;
    match (&api.backend, session) {
        (Backend::Http(uri), session) => {
            let info = MessageInfo::default();
            let uri = uri.clone();
            let resp = http_backend::forward(
                shared.clone(),
                api.clone(),
                uri,
                parts,
                None,
                session.clone(),
                &meta,
                None,
                &info,
                ex,
            )
            .await;
            if is_delete && let Some(s) = session {
                // The client ended the session whatever the backend answered; ids the gateway
                // no longer knows get 404 from now on.
                shared.sessions.remove(&s.id);
            }
            resp
        }
        (Backend::Stdio { .. }, None) => rpc_error(
            &mut ex,
            StatusCode::BAD_REQUEST,
            None,
            -32000,
            "Bad Request: No valid session ID provided",
        ),
        (Backend::Stdio { .. }, Some(s)) => {
            let super::session::Upstream::Stdio(p) = &s.upstream else {
                return rpc_error(
                    &mut ex,
                    StatusCode::NOT_FOUND,
                    None,
                    -32001,
                    "Session not found",
                );
            };
            if is_delete {
                shared.sessions.remove(&s.id);
                p.end("session deleted by the client");
                return respond(&mut ex, StatusCode::OK, None, Bytes::new());
            }
            let accept = header_str(&meta.headers, &http::header::ACCEPT).unwrap_or("");
            if !accept.contains("text/event-stream") {
                return rpc_error(
                    &mut ex,
                    StatusCode::NOT_ACCEPTABLE,
                    None,
                    -32000,
                    "Not Acceptable: Client must accept text/event-stream",
                );
            }
            p.get(header_str(&meta.headers, &LAST_EVENT_ID), &s.id, ex)
        }
    }
}
