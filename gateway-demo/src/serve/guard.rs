//! The one seam between the transport and the policy: every client body and every server message
//! passes through a [`Guard`] before it moves on.
//!
//! The transport never decides anything about MCP content; it only asks the guard. That keeps
//! the gateway testable without the engine and lets the policy-backed guard replace
//! [`PassThroughGuard`] without touching the transport.

use std::sync::Arc;

use bytes::Bytes;
use mcp_policy::Context;
use mcp_policy::jsonrpc::{Body, MessageKind};

/// A body parsed once by the transport and handed to the guard: the parsed view, or why it
/// cannot be read.
pub(crate) type Parsed<'a> = Result<Body<'a>, mcp_policy::Error>;

use super::config::ApiConfig;

/// What the transport knows about the HTTP exchange a message belongs to.
// Fields the pass-through guard ignores are there for the policy guard (conditions read them).
#[allow(dead_code)]
#[derive(Debug, Clone)]
pub(crate) struct RequestMeta {
    /// HTTP method of the client request.
    pub(crate) http_method: http::Method,
    /// Request path (without the query).
    pub(crate) path: String,
    /// Client request headers, as received.
    pub(crate) headers: http::HeaderMap,
    /// IP address of the client connection, as text (formatted once per connection).
    pub(crate) remote_ip: Arc<str>,
    /// Name of the API (from the configuration).
    pub(crate) api: Arc<str>,
    /// Gateway session id, when the exchange belongs to a session.
    pub(crate) session_id: Option<Arc<str>>,
    /// Negotiated protocol version (from `MCP-Protocol-Version` or the session), when known.
    pub(crate) protocol_version: Option<String>,
}

/// The guard's answer for a client POST body.
#[derive(Debug, Clone)]
pub(crate) enum ClientVerdict {
    /// Send these bytes to the backend (usually the body unchanged).
    Forward(Bytes),
    /// Answer the client directly; nothing reaches the backend.
    Reply {
        /// HTTP status (200 with a JSON-RPC error, 202, 4xx...).
        status: u16,
        /// `Content-Type` of `body`; `None` for an empty body.
        content_type: Option<&'static str>,
        /// The body: a JSON-RPC error response, an SSE stream, or nothing.
        body: Bytes,
        /// Short word for logs and metrics: `deny`, `invalid`...
        decision: &'static str,
    },
}

/// The guard's answer for one server→client message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ServerVerdict {
    /// Deliver the message unchanged.
    Pass,
    /// Deliver these bytes instead (e.g. a filtered list result).
    Replace(Bytes),
    /// Do not deliver the message at all. A dropped answer to a client request is replaced by
    /// a JSON-RPC error, so the client's call does not hang.
    // Only the policy guard drops; the transport already handles it.
    #[allow(dead_code)]
    Drop,
    /// A server→client *request* that must not reach the client: do not deliver it, and send
    /// these bytes (a JSON-RPC error response for its id) back to the server, so the server's
    /// call (e.g. `sampling/createMessage` inside a tool) fails instead of waiting forever.
    // Only the policy guard refuses; the transport already handles it.
    #[allow(dead_code)]
    Refuse(Bytes),
    /// The message cannot be read (not one JSON-RPC message, ambiguous, over a limit), so it is
    /// never delivered (DESIGN §2.2 invariant 2). The text says why. The transport answers the
    /// client requests it may have been the answer to with an error.
    Invalid(String),
}

/// Decides about the messages that cross the gateway. Implementations must be cheap to call
/// concurrently: one instance serves every connection of an API.
///
/// The transport parses each body once (with the API's engine limits) and hands the guard the
/// parsed view with the bytes; the guard decides, including what to answer for a body that
/// does not parse (never forwarded, DESIGN §2.2 invariant 2). The policy context of an
/// exchange is built once ([`Guard::context`]) and handed to every judgement of that exchange.
pub(crate) trait Guard: Send + Sync + 'static {
    /// What conditions may read about the exchange described by `meta`. The transport builds it
    /// once per exchange and passes it to [`Guard::client_body`] and [`Guard::server_body`];
    /// a guard without conditions needs none (the default: an empty context, no allocation).
    fn context<'m>(&self, _meta: &'m RequestMeta) -> Context<'m> {
        Context::default()
    }

    /// A client→server POST body and its parse, with the exchange's [`Guard::context`].
    /// Decides before anything reaches the backend; `Forward` carries `body` itself (a
    /// reference count, not a copy) unless it is rewritten.
    fn client_body(
        &self,
        body: &Bytes,
        parsed: &Parsed<'_>,
        meta: &RequestMeta,
        ctx: &Context<'_>,
    ) -> ClientVerdict;

    /// One server→client message (a whole JSON response body, or the `data` of one SSE event)
    /// and its parse, with the exchange's [`Guard::context`] and the parsed client request body
    /// it answers when known (for list filtering).
    fn server_body(
        &self,
        data: &[u8],
        parsed: &Parsed<'_>,
        meta: &RequestMeta,
        ctx: &Context<'_>,
        answering: Option<&Body<'_>>,
    ) -> ServerVerdict;

    /// A whole answer to the single list request `request` (`tools/list`...), parsed and
    /// judged in one pass, as [`Guard::server_body`] would judge it, with the kind of message
    /// it was. `None` when the guard has no such pass or that pass refuses the body: the
    /// transport then parses it and calls [`Guard::server_body`], which says what is wrong.
    fn list_answer(
        &self,
        _data: &[u8],
        _ctx: &Context<'_>,
        _request: &mcp_policy::Message<'_>,
    ) -> Option<(ServerVerdict, MessageKind)> {
        None
    }

    /// Limits the guard parses with (the transport parses with the same ones).
    fn limits(&self) -> &mcp_policy::Limits;

    /// [`Guard::client_body`] for unparsed bytes.
    #[allow(dead_code)]
    fn client_message(&self, body: &[u8], meta: &RequestMeta) -> ClientVerdict {
        let body = Bytes::copy_from_slice(body);
        let parsed = Body::parse(&body, self.limits());
        self.client_body(&body, &parsed, meta, &self.context(meta))
    }

    /// [`Guard::server_body`] for unparsed bytes (an unreadable `answering` body is as if
    /// unknown).
    fn server_message(
        &self,
        data: &[u8],
        meta: &RequestMeta,
        answering: Option<&[u8]>,
    ) -> ServerVerdict {
        let parsed = Body::parse(data, self.limits());
        let answering = answering.and_then(|a| Body::parse(a, self.limits()).ok());
        self.server_body(data, &parsed, meta, &self.context(meta), answering.as_ref())
    }

    /// Word used in logs for messages this guard let through (`allow`, `pass-through`).
    fn allow_label(&self) -> &'static str {
        "allow"
    }
}

/// The answer to a client body that cannot be read: an error, never a forward.
pub(crate) fn unreadable_client_body(e: &mcp_policy::Error) -> ClientVerdict {
    ClientVerdict::Reply {
        status: e.http_status(),
        content_type: Some("application/json"),
        body: Bytes::from(e.to_jsonrpc_response(None)),
        decision: "invalid",
    }
}

/// A JSON-RPC error response body with `id` (raw JSON text) or `null`.
pub(crate) fn jsonrpc_error(id: Option<&str>, code: i32, message: &str) -> Bytes {
    let message = serde_json::Value::String(message.to_owned());
    Bytes::from(format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":{},\"error\":{{\"code\":{code},\"message\":{message}}}}}",
        id.unwrap_or("null")
    ))
}

/// No policy: everything that parses as JSON-RPC goes through unchanged; what does not parse is
/// refused, because a message the gateway cannot read must never reach the backend (DESIGN §2.2
/// invariant 2), policy or not.
#[derive(Debug)]
pub(crate) struct PassThroughGuard {
    limits: mcp_policy::Limits,
}

impl PassThroughGuard {
    /// A guard parsing with `limits`.
    pub(crate) fn new(limits: mcp_policy::Limits) -> Self {
        Self { limits }
    }
}

impl Guard for PassThroughGuard {
    fn client_body(
        &self,
        body: &Bytes,
        parsed: &Parsed<'_>,
        _: &RequestMeta,
        _: &Context<'_>,
    ) -> ClientVerdict {
        match parsed {
            Ok(_) => ClientVerdict::Forward(body.clone()),
            Err(e) => unreadable_client_body(e),
        }
    }

    fn server_body(
        &self,
        _: &[u8],
        parsed: &Parsed<'_>,
        _: &RequestMeta,
        _: &Context<'_>,
        _: Option<&Body<'_>>,
    ) -> ServerVerdict {
        // A batch is a legal answer to a 2025-03-26 batch request, hence `Body`.
        match parsed {
            Ok(_) => ServerVerdict::Pass,
            Err(e) => ServerVerdict::Invalid(e.to_string()),
        }
    }

    fn limits(&self) -> &mcp_policy::Limits {
        &self.limits
    }

    fn allow_label(&self) -> &'static str {
        "pass-through"
    }
}

/// Engine limits for an API: the gateway's body limit, the engine's defaults for the rest.
pub(crate) fn engine_limits(api: &ApiConfig) -> mcp_policy::Limits {
    mcp_policy::Limits {
        max_body_bytes: api.limits.max_body_bytes.max(api.limits.max_response_bytes),
        ..mcp_policy::Limits::default()
    }
}

/// Builds the guard of an API. An unreadable policy file is an error, so a reload with a broken
/// file keeps the previous configuration.
pub(crate) fn build_guard(api: &ApiConfig) -> Result<Arc<dyn Guard>, String> {
    let limits = engine_limits(api);
    match &api.policy {
        None => {
            super::log::warn(&format!(
                "api {:?}: no policy: pass-through (every tool, resource and prompt is reachable)",
                api.name
            ));
        }
        Some(path) => {
            let text = std::fs::read(path)
                .map_err(|e| format!("api {:?}: policy {}: {e}", api.name, path.display()))?;
            let engine = mcp_policy::policy::Engine::from_json(&text, &limits)
                .map_err(|e| format!("api {:?}: policy {}: {e}", api.name, path.display()))?;
            super::log::info(&format!(
                "api {:?}: policy {} enforced ({} rules)",
                api.name,
                path.display(),
                engine.rule_count()
            ));
            return Ok(Arc::new(super::policy_guard::PolicyGuard::new(engine)));
        }
    }
    Ok(Arc::new(PassThroughGuard::new(limits)))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn meta() -> RequestMeta {
        RequestMeta {
            http_method: http::Method::POST,
            path: "/mcp".into(),
            headers: http::HeaderMap::new(),
            remote_ip: Arc::from("127.0.0.1"),
            api: Arc::from("a"),
            session_id: None,
            protocol_version: None,
        }
    }

    #[test]
    fn pass_through_forwards_valid_messages() {
        let g = PassThroughGuard::new(mcp_policy::Limits::default());
        let body = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}}"#;
        match g.client_message(body, &meta()) {
            ClientVerdict::Forward(b) => assert_eq!(&b[..], body),
            other => panic!("{other:?}"),
        }
        let result = br#"{"jsonrpc":"2.0","id":1,"result":{}}"#;
        assert_eq!(g.server_message(result, &meta(), None), ServerVerdict::Pass);
        assert!(matches!(
            g.server_message(b"{}", &meta(), None),
            ServerVerdict::Invalid(_)
        ));
    }

    #[test]
    fn pass_through_refuses_what_it_cannot_read() {
        let g = PassThroughGuard::new(mcp_policy::Limits::default());
        for body in [
            &b"{not json"[..],
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","name":"b"}}"#,
            br#"{"jsonrpc":"2.0","id":1,"method":"x"} trailing"#,
            b"\xff\xfe",
        ] {
            match g.client_message(body, &meta()) {
                ClientVerdict::Reply {
                    status,
                    body: reply,
                    decision,
                    ..
                } => {
                    assert!((400..500).contains(&status), "{status}");
                    assert_eq!(decision, "invalid");
                    let v: serde_json::Value = serde_json::from_slice(&reply).unwrap();
                    let code = v["error"]["code"].as_i64().unwrap();
                    assert!(code == -32700 || code == -32600, "{code}");
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn error_bodies_are_json() {
        let b = jsonrpc_error(Some("7"), -32603, "backend \"x\" down");
        let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(v["id"], 7);
        assert_eq!(v["error"]["message"], "backend \"x\" down");
    }
}
