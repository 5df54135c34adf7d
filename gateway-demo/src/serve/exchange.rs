//! One client request, from its body to the backend and back: the body is read within the
//! API's limit, its session looked up, the engine judges it ([`mcp_policy::exchange::Guard`]),
//! and what it lets through goes to the backend with the exchange that judges the answer.

use std::sync::Arc;

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_LENGTH};
use http::{HeaderMap, HeaderName, Method, StatusCode};
use hyper::body::Incoming;
use mcp_policy::exchange::ClientVerdict;
use mcp_policy::jsonrpc::Message;
use mcp_policy::oauth::Principal;

use super::config::Backend;
use super::guard::RequestMeta;
use super::http_backend::{self, Outgoing};
use super::log::Record;
use super::replies::{GatewayError, Resp, from_reply, read_body, respond, within};
use super::session::{Session, Upstream};
use super::stdio;
use super::{Api, SESSION_HEADER, Shared};

const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");

fn header_str<'a>(h: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// Who a token names, for binding sessions: issuer and user (else client), which no
/// other issuer's token can repeat.
pub(crate) fn owner_of(p: &Principal) -> Arc<str> {
    let who = p.user.as_deref().or(p.client_id.as_deref()).unwrap_or("");
    Arc::from(format!("{}\n{who}", p.issuer.as_deref().unwrap_or("")))
}

/// Finds the session named by the request, or the error to answer with when it is unknown
/// (or was opened by someone else: answered the same, so its existence is not revealed).
fn find_session(
    shared: &Shared,
    api: &Api,
    headers: &HeaderMap,
    owner: Option<&Arc<str>>,
    rec: &mut Record,
) -> Result<Option<Arc<Session>>, GatewayError> {
    let Some(id) = header_str(headers, &SESSION_HEADER) else {
        return Ok(None);
    };
    let rt = shared.runtime();
    match shared
        .sessions
        .find(id, &api.name, &rt.keys, || api.guard.guard.session())
    {
        Some(s) if s.owner.as_ref() == owner => {
            rec.session = Some(s.id.clone());
            Ok(Some(s))
        }
        _ => Err(GatewayError::SessionNotFound),
    }
}

/// The raw JSON id of a body that is one readable request, so an error answering it before it
/// is judged (unknown session) still names it for the client; `None` for anything else.
fn request_id(api: &Api, body: &[u8]) -> Option<String> {
    let msg = Message::parse(body, api.guard.guard.engine().limits()).ok()?;
    msg.id().map(|i| i.json().into_owned())
}

/// What the engine and the backend may read about the request. The headers are moved out of
/// `parts`, not copied.
fn meta(
    api: &Api,
    parts: &mut http::request::Parts,
    remote_ip: Arc<str>,
    principal: Option<Principal>,
    owner: Option<Arc<str>>,
) -> RequestMeta {
    RequestMeta {
        owner,
        token_attributes: principal.map_or_else(Vec::new, |p| p.attributes()),
        http_method: parts.method.clone(),
        uri: parts.uri.clone(),
        headers: std::mem::take(&mut parts.headers),
        remote_ip,
        api: api.name.clone(),
    }
}

/// A client POST: one JSON-RPC message or batch.
pub(crate) async fn post(
    shared: Arc<Shared>,
    api: Arc<Api>,
    req: http::Request<Incoming>,
    remote_ip: Arc<str>,
    principal: Option<Principal>,
    mut rec: Record,
) -> Resp {
    let (mut parts, body) = req.into_parts();
    let max = api.config.limits.max_body_bytes;
    let declared = header_str(&parts.headers, &CONTENT_LENGTH).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return GatewayError::BodyTooLarge(max).respond(&mut rec, None);
    }
    // hyper's header read timeout ends with the headers: without this bound a client sending
    // its body a byte at a time would hold the connection and this task for as long as it likes.
    let timeouts = &api.config.timeouts;
    let read = within(timeouts.body_read(), read_body(body, max));
    let body = match read.await {
        Ok(Ok(b)) => b,
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            return GatewayError::BodyTooLarge(max).respond(&mut rec, None);
        }
        Ok(Err(e)) => {
            return GatewayError::BodyUnreadable(e.to_string()).respond(&mut rec, None);
        }
        Err(_) => {
            return GatewayError::BodyTimeout(timeouts.body_read_ms).respond(&mut rec, None);
        }
    };
    let owner = principal.as_ref().map(owner_of);
    let session = match find_session(&shared, &api, &parts.headers, owner.as_ref(), &mut rec) {
        Ok(s) => s,
        Err(e) => return e.respond(&mut rec, request_id(&api, &body).as_deref()),
    };
    let meta = Arc::new(meta(&api, &mut parts, remote_ip, principal, owner));
    // A request outside any session gets a session of its own: if the backend opens an MCP
    // session with it, it becomes that session's.
    let core = session
        .as_ref()
        .map_or_else(|| api.guard.guard.session(), |s| s.core.clone());
    // Built once: the client body and the answer are judged with the same context.
    let ctx = api.guard.context(&meta);
    let mut verdict = api.guard.guard.client(&body, &meta.facts(), &ctx, &core);
    // Moved into the log record, not copied (the subject is a `String`); nothing reads them
    // from the verdict after this.
    let summary = match &mut verdict {
        ClientVerdict::Reply(r) => &mut r.summary,
        ClientVerdict::Forward(f) => &mut f.summary,
    };
    rec.method = summary.method.take();
    rec.subject = summary.subject.take();
    let forward = match verdict {
        ClientVerdict::Reply(reply) => return from_reply(&mut rec, reply),
        ClientVerdict::Forward(f) => f,
    };
    rec.decision = api.guard.allow_label();
    match &api.backend {
        Backend::Http(_) => {
            let out = Outgoing {
                method: parts.method,
                uri: parts.uri,
                body: Some((body, forward.content_type)),
                exchange: forward.exchange,
            };
            http_backend::forward(
                shared,
                api.clone(),
                out,
                session,
                meta.clone(),
                Some(&ctx),
                rec,
            )
            .await
        }
        Backend::Stdio { .. } => {
            let first_id = forward.summary.first_id.clone();
            let session = match session {
                Some(s) => s,
                None if forward.summary.initialize => {
                    let owned = ctx.clone().into_owned();
                    let started = stdio::start(&shared, &api, core, owned, meta.owner.clone());
                    match started {
                        Ok(s) => s,
                        Err(e) => return e.respond(&mut rec, first_id.as_deref()),
                    }
                }
                None => return GatewayError::NoSession.respond(&mut rec, first_id.as_deref()),
            };
            rec.session = Some(session.id.clone());
            match &session.upstream {
                Upstream::Stdio(p) => {
                    p.post(body, forward, ctx.clone().into_owned(), &session.id, rec)
                        .await
                }
                Upstream::Http(_) => GatewayError::SessionNotFound.respond(&mut rec, None),
            }
        }
    }
}

/// A client GET (the session's stream, or a resumed one) or DELETE (end of the session).
pub(crate) async fn get_or_delete(
    shared: Arc<Shared>,
    api: Arc<Api>,
    req: http::Request<Incoming>,
    remote_ip: Arc<str>,
    principal: Option<Principal>,
    mut rec: Record,
) -> Resp {
    let (mut parts, _body) = req.into_parts();
    let owner = principal.as_ref().map(owner_of);
    let session = match find_session(&shared, &api, &parts.headers, owner.as_ref(), &mut rec) {
        Ok(s) => s,
        Err(e) => return e.respond(&mut rec, None),
    };
    let meta = Arc::new(meta(&api, &mut parts, remote_ip, principal, owner));
    let is_delete = parts.method == Method::DELETE;
    match (&api.backend, session) {
        (Backend::Http(_), session) => {
            let core = session
                .as_ref()
                .map_or_else(|| api.guard.guard.session(), |s| s.core.clone());
            let last = meta.headers.get(&LAST_EVENT_ID).map(|v| v.as_bytes());
            // Every answer on a GET stream (or a resumed one) is judged as the answer to the
            // session's request with its id.
            let exchange = api.guard.guard.stream(&core, last);
            let out = Outgoing {
                method: parts.method,
                uri: parts.uri,
                body: None,
                exchange,
            };
            let resp = http_backend::forward(
                shared.clone(),
                api.clone(),
                out,
                session.clone(),
                meta,
                None,
                rec,
            )
            .await;
            if is_delete && let Some(s) = session {
                // The client ended the session whatever the backend answered; ids the gateway
                // no longer knows get 404 from now on.
                shared.sessions.remove(&s.id);
            }
            resp
        }
        (Backend::Stdio { .. }, None) => GatewayError::NoSession.respond(&mut rec, None),
        (Backend::Stdio { .. }, Some(s)) => {
            let Upstream::Stdio(p) = &s.upstream else {
                return GatewayError::SessionNotFound.respond(&mut rec, None);
            };
            if is_delete {
                shared.sessions.remove(&s.id);
                p.end("session deleted by the client");
                return respond(&mut rec, StatusCode::OK, None, Bytes::new());
            }
            let accept = header_str(&meta.headers, &ACCEPT).unwrap_or("");
            if !accept.contains("text/event-stream") {
                return GatewayError::NotAcceptable.respond(&mut rec, None);
            }
            p.get(header_str(&meta.headers, &LAST_EVENT_ID), &s.id, rec)
        }
    }
}
