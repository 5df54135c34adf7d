//! HTTP responses: the gateway's own refusals as one typed error, and the engine's replies and
//! judged answers turned into hyper responses. No JSON-RPC error is written here by hand: the
//! bodies come from the engine (`mcp_policy::jsonrpc::error_response` and the exchange API).

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_TYPE, HeaderValue, WWW_AUTHENTICATE};
use http::{HeaderMap, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Frame;
use mcp_policy::exchange::Reply;
use tokio::sync::mpsc;

use super::log::Record;

/// Response body of every gateway response: whole, or streamed from a task. An enum rather
/// than a boxed body: the box was an allocation per response.
#[derive(Debug)]
pub(crate) enum GwBody {
    /// A complete body.
    Full(Full<Bytes>),
    /// A stream of SSE events.
    Stream(ChannelBody),
}

impl hyper::body::Body for GwBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            Self::Full(b) => Pin::new(b).poll_frame(cx),
            Self::Stream(s) => Pin::new(s).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Full(b) => b.is_end_stream(),
            Self::Stream(s) => s.is_end_stream(),
        }
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        match self {
            Self::Full(b) => b.size_hint(),
            Self::Stream(s) => s.size_hint(),
        }
    }
}
/// A gateway response.
pub(crate) type Resp = http::Response<GwBody>;

/// A complete (non-streamed) body.
pub(crate) fn full(b: impl Into<Bytes>) -> GwBody {
    GwBody::Full(Full::new(b.into()))
}

/// Response body fed by a task, one SSE event (or batch of events) per frame, so each is
/// flushed as it comes.
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
    GwBody::Stream(ChannelBody(rx))
}

/// Why the gateway answers a request itself, before any policy decision or backend call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GatewayError {
    /// `Origin` or `Host` not on the API's allow-lists (DNS-rebinding protection).
    Forbidden(String),
    /// An HTTP method the transport does not define.
    MethodNotAllowed,
    /// The request body is over the API's limit.
    BodyTooLarge(usize),
    /// The request body could not be read off the connection.
    BodyUnreadable(String),
    /// The request body did not arrive within `timeouts.body_read_ms` (this many ms).
    BodyTimeout(u64),
    /// An `Mcp-Session-Id` the gateway does not know (unknown, ended, expired).
    SessionNotFound,
    /// A request that needs a session came without one.
    NoSession,
    /// A GET that does not accept an event stream.
    NotAcceptable,
    /// A second GET stream for a session that has one.
    StreamConflict,
    /// The stdio backend process could not be started.
    ProcessStart(String),
}

impl GatewayError {
    /// HTTP status.
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::BodyTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BodyUnreadable(_) | Self::NoSession => StatusCode::BAD_REQUEST,
            Self::SessionNotFound => StatusCode::NOT_FOUND,
            Self::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Self::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            Self::StreamConflict => StatusCode::CONFLICT,
            Self::ProcessStart(_) => StatusCode::BAD_GATEWAY,
        }
    }

    /// JSON-RPC error code (the ones the TypeScript SDK's server uses for the same cases).
    pub(crate) fn jsonrpc_code(&self) -> i32 {
        match self {
            Self::BodyTooLarge(_) => -32600,
            Self::BodyUnreadable(_) => -32700,
            Self::SessionNotFound => -32001,
            Self::ProcessStart(_) => -32603,
            _ => -32000,
        }
    }

    /// The message of the JSON-RPC error.
    pub(crate) fn message(&self) -> String {
        match self {
            Self::Forbidden(why) => format!("Forbidden: {why}"),
            Self::MethodNotAllowed => "Method not allowed".to_owned(),
            Self::BodyTooLarge(max) => format!("Request body larger than {max} bytes"),
            Self::BodyUnreadable(e) => format!("Cannot read the request body: {e}"),
            Self::BodyTimeout(ms) => format!("Request body not received within {ms} ms"),
            Self::SessionNotFound => "Session not found".to_owned(),
            Self::NoSession => "Bad Request: No valid session ID provided".to_owned(),
            Self::NotAcceptable => {
                "Not Acceptable: Client must accept text/event-stream".to_owned()
            }
            Self::StreamConflict => {
                "Conflict: Only one SSE stream is allowed per session".to_owned()
            }
            Self::ProcessStart(e) => e.clone(),
        }
    }

    /// The word for the exchange log.
    fn decision(&self) -> &'static str {
        match self {
            Self::Forbidden(_) => "deny",
            Self::ProcessStart(_) => "error",
            _ => "reject",
        }
    }

    /// The response, noted in the exchange log. `id` is the raw JSON id of the request the
    /// error answers, when known.
    pub(crate) fn respond(&self, rec: &mut Record, id: Option<&str>) -> Resp {
        let status = self.status();
        let code = self.jsonrpc_code();
        let message = self.message();
        rec.decision = self.decision();
        rec.rpc_error = Some(code.into());
        if status.is_server_error() || status == StatusCode::FORBIDDEN {
            rec.detail = Some(message.clone());
        }
        let body = mcp_policy::jsonrpc::error_response(id, code, &message, None);
        let mut r = respond(rec, status, Some("application/json"), Bytes::from(body));
        if *self == Self::MethodNotAllowed {
            r.headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, POST, DELETE"));
        }
        r
    }
}

/// A plain response, noted in the exchange log.
pub(crate) fn respond(
    rec: &mut Record,
    status: StatusCode,
    content_type: Option<&'static str>,
    body: Bytes,
) -> Resp {
    rec.status = status.as_u16();
    let mut r = http::Response::new(full(body));
    *r.status_mut() = status;
    if let Some(ct) = content_type {
        r.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(ct));
    }
    r
}

/// The engine's reply (a denial, an unreadable body, a failed backend), noted in the log.
pub(crate) fn from_reply(rec: &mut Record, reply: Reply) -> Resp {
    rec.decision = reply.kind.as_str();
    rec.rpc_error = reply.error_code.map(i64::from);
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::BAD_GATEWAY);
    if status.is_server_error() {
        rec.detail = Some(String::from_utf8_lossy(&reply.body).into_owned());
    }
    let challenge = reply.www_authenticate.clone();
    let mut r = respond(rec, status, reply.content_type, Bytes::from(reply.body));
    if let Some(v) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
        r.headers_mut().insert(WWW_AUTHENTICATE, v);
    }
    r
}

/// Sets the `Content-Type` the engine says describes what it judged, or removes it for an
/// empty body. Nothing else that describes the body is kept: the bytes sent are the bytes
/// judged.
pub(crate) fn set_content_type(headers: &mut HeaderMap, content_type: Option<&'static str>) {
    headers.remove(http::header::CONTENT_ENCODING);
    match content_type {
        Some(ct) => {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(ct));
        }
        None => {
            headers.remove(CONTENT_TYPE);
        }
    }
}

/// A whole body of at most `limit` bytes (errors as `Limited`'s: `LengthLimitError` when it is
/// longer). A body in one data frame, the usual case, is returned as that frame's bytes:
/// `collect` put it in a buffer list (a `VecDeque` allocation) first.
pub(crate) async fn read_body<B>(
    body: B,
    limit: usize,
) -> Result<Bytes, Box<dyn std::error::Error + Send + Sync>>
where
    B: hyper::body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut body = std::pin::pin!(http_body_util::Limited::new(body, limit));
    let mut first: Option<Bytes> = None;
    let mut more: Option<bytes::BytesMut> = None;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else {
            continue;
        };
        match (&mut first, &mut more) {
            (None, _) => first = Some(data),
            (Some(f), None) => {
                let mut joined = bytes::BytesMut::with_capacity(f.len() + data.len());
                joined.extend_from_slice(f);
                joined.extend_from_slice(&data);
                more = Some(joined);
            }
            (Some(_), Some(m)) => m.extend_from_slice(&data),
        }
    }
    Ok(match (first, more) {
        (_, Some(m)) => m.freeze(),
        (Some(f), None) => f,
        (None, None) => Bytes::new(),
    })
}

/// `tokio::time::timeout`, with the timer set only when `fut` is not ready when first polled:
/// a body is usually whole once its head has been read, and a timer is a clock read and a
/// handle clone (and, once polled, a registration and a removal) for nothing then.
pub(crate) async fn within<F: std::future::Future>(
    limit: std::time::Duration,
    fut: F,
) -> Result<F::Output, tokio::time::error::Elapsed> {
    let mut fut = std::pin::pin!(fut);
    if let Poll::Ready(v) = std::future::poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx))).await {
        return Ok(v);
    }
    tokio::time::timeout(limit, fut).await
}
