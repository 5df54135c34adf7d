//! The host protocol: everything a proxy decides about a whole exchange, beyond one message.
//!
//! A proxy (our gateway, NGINX through the C ABI, a Python or Node proxy) only moves bytes. For
//! each client POST it asks a [`Guard`]; the answer is either [`ClientVerdict::Forward`], with
//! an [`Exchange`] that judges whatever the server sends back, or [`ClientVerdict::Reply`], the
//! HTTP answer to give instead. Every rule lives here, once:
//!
//! - **The client body** is judged as what it is forwarded as: UTF-8 JSON, so a `Content-Type`
//!   other than `application/json` (charset UTF-8 or none) or any `Content-Encoding` is refused
//!   (415), and hosts forward it with the exact type [`Forward::content_type`].
//! - **The revision** is the `MCP-Protocol-Version` header, else the one `initialize`
//!   negotiated in the session, else 2025-03-26 (what servers assume). Only 2025-03-26 allows
//!   batches; the `Mcp-Method` / `Mcp-Name` headers must equal the body (2026-07-28 requires
//!   them).
//! - **Batches**: every message is judged; if any is denied, nothing is forwarded and the
//!   client gets one array holding each denial and, for each allowed request, a `-32600` error
//!   saying the batch was refused (a partial forward would leave it waiting for answers that
//!   never come).
//! - **Answers** are matched to the session's waiting requests by id, as clients read ids
//!   (escapes decoded, numbers by value, and JavaScript's `Number()` as the TypeScript SDK
//!   applies it), on whatever stream they arrive, and judged as that request's answer: lists
//!   filtered, links to hidden resources removed. An answer withheld becomes a `-32603` error
//!   carrying the request's real id. A result answering no waiting request is not delivered
//!   (nothing says how to judge it).
//! - **Server requests** (`sampling/createMessage`, `elicitation/create`, `roots/list`) are
//!   judged; a refused one is not delivered and the error to send back to the server comes
//!   with the step ([`Step::to_server`]), so the server's call ends instead of hanging. A
//!   client "answer" to a refused one is not forwarded. On an exchange the client opened
//!   with revision 2026-07-28, which has no server-to-client requests, every one is refused
//!   (`-32601` back to the server).
//! - **Event streams** are parsed as clients parse them (BOM, CR/LF/CRLF, split anywhere) and
//!   written out again from what was parsed: data of non-`message` events is never passed,
//!   `id:` is kept so `Last-Event-ID` still advances, an event that cannot be read ends the
//!   stream with an error for each request waiting on it. A stream that ends without
//!   answering gets errors too, unless it can be resumed (it passed an event id and the
//!   session is resumable): then the resumed stream ([`Guard::stream`] with `Last-Event-ID`)
//!   takes its requests over.
//! - **A server body** whose type is not JSON or SSE as the engine parses them, that carries a
//!   `Content-Encoding`, or that declares a charset other than UTF-8, is not delivered: the
//!   waiting requests get errors (HTTP 502).
//!
//! Every object is owned and `Send + 'static`, built on `Arc<Engine>`: a foreign caller holds
//! an [`Exchange`] for a whole stream, and a policy reload builds a new [`Guard`] (one pointer)
//! while exchanges in flight finish with the engine they started with.
//!
//! ```
//! use std::sync::Arc;
//! use mcp_policy::{Context, Limits};
//! use mcp_policy::exchange::{ClientVerdict, Guard, Head, RequestFacts};
//! use mcp_policy::policy::Engine;
//!
//! let policy = br#"{"authorizations":[{"authorizedFeatures":[
//!     {"type":"TOOLS","methods":["TOOLS_LIST","TOOLS_CALL"],"patternType":"LITERAL","patternValue":"echo"}]}]}"#;
//! let guard = Guard::new(Arc::new(Engine::from_json(policy, &Limits::default()).unwrap()));
//! let session = guard.session();
//! let ctx = Context::default();
//! let facts = RequestFacts { content_type: Some(b"application/json"), ..RequestFacts::default() };
//!
//! let list = br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
//! let ClientVerdict::Forward(fwd) = guard.client(list, &facts, &ctx, &session) else { panic!() };
//! let mut exchange = fwd.exchange;                       // forward `list` to the server...
//! assert_eq!(exchange.server_head(200, Some(b"text/event-stream"), None), Head::Stream);
//! let mut sent = Vec::new();
//! for chunk in [&b"data: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"tools\":[{\"na"[..],
//!               &b"me\":\"echo\"},{\"name\":\"get-env\"}]}}\n\n"[..]] {
//!     sent.extend(exchange.server_chunk(chunk, &ctx).to_client);   // split anywhere
//! }
//! sent.extend(exchange.finish().to_client);
//! assert_eq!(sent, b"data: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"tools\":[{\"name\":\"echo\"}]}}\n\n");
//!
//! let call = br#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"get-env"}}"#;
//! let ClientVerdict::Reply(reply) = guard.client(call, &facts, &ctx, &session) else { panic!() };
//! assert_eq!(reply.body, br#"{"jsonrpc":"2.0","id":2,"error":{"code":-32602,"message":"Unknown tool: get-env"}}"#);
//! ```

mod client;
mod ids;
mod lock;
mod media;
mod server;
mod session;

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use serde::Serialize;

pub use media::MediaType;
pub use server::{Answer, Delivery, Exchange, Head};
pub use session::{Route, Session};

use crate::mcp::Revision;
use crate::policy::Engine;

/// How a [`Guard`] answers, beyond what the policy says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The protected resource metadata URL (RFC 9728) to name in the `WWW-Authenticate`
    /// challenge of a step-up denial (403 `insufficient_scope`). Without it the challenge has
    /// no `resource_metadata`.
    pub resource_metadata_url: Option<String>,
    /// Scopes every request of this resource needs (a gateway plan's required scopes). A
    /// step-up challenge names them before the rule's own, because the client asks for a new
    /// token with exactly the challenge's `scope`, and a token without them would then be
    /// refused on every other request.
    pub challenge_scopes: Vec<String>,
    /// Most client requests of one session waiting for their answers; past it, requests of
    /// streams that ended resumable are forgotten first, then new requests are refused (429).
    pub max_pending: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            resource_metadata_url: None,
            challenge_scopes: Vec::new(),
            max_pending: 1024,
        }
    }
}

/// The entry point of the host protocol: a compiled policy and how to answer. Cheap to clone
/// (two reference counts); `Send + Sync`. A reload makes a new one.
#[derive(Debug, Clone)]
pub struct Guard {
    engine: Arc<Engine>,
    shared: Arc<Shared>,
}

/// What the clones of a guard share.
#[derive(Debug)]
struct Shared {
    options: Options,
    /// Task bindings of stateless clients ([`Guard::tasks_of`]).
    tasks: Arc<lock::Lock<session::Tasks>>,
}

impl Guard {
    /// A guard enforcing `engine` with the default [`Options`].
    pub fn new(engine: Arc<Engine>) -> Self {
        Self::with_options(engine, Options::default())
    }

    /// A guard enforcing `engine`, answering as `options` say.
    pub fn with_options(engine: Arc<Engine>, options: Options) -> Self {
        Self {
            engine,
            shared: Arc::new(Shared {
                tasks: session::Tasks::shared(options.max_pending),
                options,
            }),
        }
    }

    /// The compiled policy.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// The options.
    pub fn options(&self) -> &Options {
        &self.shared.options
    }

    /// A new session: one per MCP session, and one per request that belongs to none.
    pub fn session(&self) -> Session {
        Session::new(self.shared.options.max_pending)
    }

    /// Where the task bindings of a request of revision `rev` in `session` live: the
    /// session's own, or, for a stateless client (2026-07-28 has no sessions, so each of its
    /// requests comes with a fresh one), those every such request of this guard shares, so a
    /// task one request creates can be followed by the next. A binding only says which tool
    /// a task belongs to; each request about it is still judged with its own context as a
    /// call of that tool.
    pub(crate) fn tasks_of(
        &self,
        session: &Session,
        rev: Revision,
    ) -> Arc<lock::Lock<session::Tasks>> {
        if rev.is_stateless() {
            self.shared.tasks.clone()
        } else {
            session.tasks()
        }
    }

    /// An exchange for a stream the client opened without a request: the GET stream of a
    /// session, or a resumed stream (`last_event_id` from the `Last-Event-ID` header), which
    /// takes over the waiting requests of the stream that passed that event. Every answer on
    /// it is judged as the answer to the session's request with its id.
    pub fn stream(&self, session: &Session, last_event_id: Option<&[u8]>) -> Exchange {
        let id = session.next_exchange();
        let adopted = last_event_id.map_or(0, |last| session.adopt(id, last));
        let rev = session
            .revision()
            .unwrap_or(crate::mcp::Revision::DEFAULT_WITHOUT_HEADER);
        Exchange::new(self.clone(), session.clone(), id, adopted, false).speaking(rev)
    }
}

/// What a host knows about the HTTP request a client body came with. Each field is the raw
/// header value; absent means the header was absent. Build it field by field, or with
/// [`RequestFacts::from_headers`] from the request's header list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestFacts<'a> {
    /// `MCP-Protocol-Version`.
    pub protocol_version: Option<&'a [u8]>,
    /// `Mcp-Method` (2026-07-28).
    pub mcp_method: Option<&'a [u8]>,
    /// `Mcp-Name` (2026-07-28).
    pub mcp_name: Option<&'a [u8]>,
    /// `Content-Type`.
    pub content_type: Option<&'a [u8]>,
    /// `Content-Encoding`.
    pub content_encoding: Option<&'a [u8]>,
    /// The name of a header above sent more than once (receivers disagree on which one
    /// counts), which refuses the request.
    pub repeated: Option<&'static str>,
}

/// The headers [`RequestFacts`] reads: lowercase name, and the name as messages write it.
const FACT_HEADERS: [(&str, &str); 5] = [
    ("mcp-protocol-version", "MCP-Protocol-Version"),
    ("mcp-method", "Mcp-Method"),
    ("mcp-name", "Mcp-Name"),
    ("content-type", "Content-Type"),
    ("content-encoding", "Content-Encoding"),
];

impl<'a> RequestFacts<'a> {
    /// The facts from a host's own header lookup: `values(name)` (a lowercase name) gives the
    /// first value of that header and whether it was sent more than once. For hosts whose
    /// header map finds names faster than a walk over every header.
    pub fn from_lookup(mut values: impl FnMut(&'static str) -> (Option<&'a [u8]>, bool)) -> Self {
        let mut f = Self::default();
        for (i, (name, label)) in FACT_HEADERS.into_iter().enumerate() {
            let (first, more) = values(name);
            *f.slot(i) = first;
            if more {
                f.repeated.get_or_insert(label);
            }
        }
        f
    }

    /// The field of [`FACT_HEADERS`]`[i]`.
    fn slot(&mut self, i: usize) -> &mut Option<&'a [u8]> {
        match i {
            0 => &mut self.protocol_version,
            1 => &mut self.mcp_method,
            2 => &mut self.mcp_name,
            3 => &mut self.content_type,
            _ => &mut self.content_encoding,
        }
    }

    /// Picks the facts out of a request's headers (names compared ignoring ASCII case).
    pub fn from_headers<N: AsRef<[u8]> + ?Sized + 'a>(
        headers: impl IntoIterator<Item = (&'a N, &'a [u8])>,
    ) -> Self {
        let mut f = Self::default();
        for (name, value) in headers {
            let name = name.as_ref();
            let Some((i, &(_, label))) = FACT_HEADERS
                .iter()
                .enumerate()
                .find(|(_, (n, _))| name.eq_ignore_ascii_case(n.as_bytes()))
            else {
                continue;
            };
            let slot = f.slot(i);
            let repeated = slot.is_some();
            *slot = Some(value);
            if repeated {
                f.repeated.get_or_insert(label);
            }
        }
        f
    }
}

/// The outcome of judging a client body.
#[derive(Debug)]
pub enum ClientVerdict {
    /// Forward the body, unchanged, with [`Forward::content_type`]; judge what comes back with
    /// [`Forward::exchange`].
    Forward(Forward),
    /// Do not forward anything; answer the client with this.
    Reply(Reply),
}

impl ClientVerdict {
    /// What the body held, for logs.
    pub fn summary(&self) -> &Summary {
        match self {
            Self::Forward(f) => &f.summary,
            Self::Reply(r) => &r.summary,
        }
    }
}

/// A client body that may go to the server.
#[derive(Debug)]
pub struct Forward {
    /// Judges the server's answer.
    pub exchange: Exchange,
    /// The `Content-Type` to forward the body with: exactly what it was judged as.
    pub content_type: &'static str,
    /// What the body held.
    pub summary: Summary,
}

/// What a client body held, for logs and metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// The first message's method (the catalogue's name when known).
    pub method: Option<Cow<'static, str>>,
    /// The first message's subject (`params.name` or `params.uri`).
    pub subject: Option<String>,
    /// How many requests (messages expecting an answer) the body held.
    pub requests: usize,
    /// Whether it holds an `initialize` request (a stdio host starts a process for it).
    pub initialize: bool,
    /// The first request's id as JSON text.
    pub first_id: Option<String>,
}

/// Why the engine answered instead of the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyKind {
    /// The policy denied a message.
    Denied,
    /// The body or its headers cannot be judged (unparseable, ambiguous, wrong type...).
    Invalid,
    /// A client answer to a server request the policy refused: accepted and dropped (202).
    Dropped,
    /// The server failed or sent what cannot be judged.
    Failed,
}

impl ReplyKind {
    /// The word for logs: `deny`, `invalid`, `drop`, `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Denied => "deny",
            Self::Invalid => "invalid",
            Self::Dropped => "drop",
            Self::Failed => "error",
        }
    }
}

/// An HTTP answer the engine wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type` of `body`; `None` when the body is empty.
    #[serde(rename = "contentType")]
    pub content_type: Option<&'static str>,
    /// A `WWW-Authenticate` header to send (the `insufficient_scope` step-up challenge).
    #[serde(rename = "wwwAuthenticate", skip_serializing_if = "Option::is_none")]
    pub www_authenticate: Option<String>,
    /// The body (JSON-RPC error responses), UTF-8.
    #[serde(serialize_with = "as_text")]
    pub body: Vec<u8>,
    /// Why.
    pub kind: ReplyKind,
    /// The JSON-RPC error code the body carries (the first one, for a batch).
    #[serde(rename = "errorCode")]
    pub error_code: Option<i32>,
    /// What the client body held.
    #[serde(skip)]
    pub summary: Summary,
}

impl Reply {
    /// The headers to send, as `(name, value)` pairs.
    pub fn headers(&self) -> Vec<(&'static str, &str)> {
        let mut h = Vec::new();
        if let Some(ct) = self.content_type {
            h.push(("content-type", ct));
        }
        if let Some(w) = &self.www_authenticate {
            h.push(("www-authenticate", w.as_str()));
        }
        h
    }
}

pub(crate) fn as_text<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&String::from_utf8_lossy(bytes))
}

/// What the server did or failed to do, when a host gives up on its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Failure {
    /// The server could not be reached (connection refused, process failed to start).
    Unreachable,
    /// The server did not answer in time.
    Timeout,
    /// The connection or process broke before the answer was complete.
    Broken,
    /// The host is shutting down.
    ShuttingDown,
    /// The server sent something the engine cannot judge.
    Unjudgeable,
}

impl Failure {
    /// The HTTP status of a reply for it.
    pub fn http_status(self) -> u16 {
        match self {
            Self::Unreachable | Self::Broken | Self::Unjudgeable => 502,
            Self::Timeout => 504,
            Self::ShuttingDown => 503,
        }
    }

    /// The JSON-RPC error code of the errors answering the waiting requests.
    pub fn jsonrpc_code(self) -> i32 {
        match self {
            Self::Timeout => -32000,
            _ => -32603,
        }
    }
}

/// What the host sends after one step of a server stream.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Step {
    /// Bytes to send to the client now (whole SSE events).
    #[serde(rename = "toClient", serialize_with = "as_text")]
    pub to_client: Vec<u8>,
    /// JSON-RPC messages to send to the server (errors answering the server requests the
    /// policy refused), each a body of its own.
    #[serde(rename = "toServer", serialize_with = "texts")]
    pub to_server: Vec<Vec<u8>>,
    /// The stream must end once `to_client` is sent (the rest cannot be judged).
    pub end: bool,
    /// What happened, for logs.
    pub notes: Notes,
}

pub(crate) fn texts<S: serde::Serializer>(v: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = s.serialize_seq(Some(v.len()))?;
    for b in v {
        seq.serialize_element(&String::from_utf8_lossy(b))?;
    }
    seq.end()
}

/// What the engine did with the server's messages, for logs and metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Notes {
    /// Answers to waiting requests delivered (judged, possibly filtered).
    pub answered: u32,
    /// Answers withheld and replaced by errors.
    pub withheld: u32,
    /// Server requests refused (answered to the server with an error).
    pub refused: u32,
    /// Messages not delivered: notifications about hidden subjects, results answering no
    /// waiting request, data of non-`message` events.
    pub dropped: u32,
    /// List items and links hidden.
    pub hidden: u32,
    /// Waiting requests answered with an error because the answer failed.
    pub failed: u32,
    /// The JSON-RPC error code of the last error answer delivered.
    #[serde(rename = "errorCode")]
    pub error_code: Option<i64>,
    /// Why the stream or answer failed, when it did.
    pub failure: Option<String>,
}

impl Step {
    /// Appends a later step of the same stream: what a host that collects a stream's steps
    /// (a CLI, a test) sends in all.
    pub fn merge(&mut self, later: Step) {
        self.to_client.extend_from_slice(&later.to_client);
        self.to_server.extend(later.to_server);
        self.end |= later.end;
        self.notes.merge(later.notes);
    }
}

impl Notes {
    /// Adds a later step's notes (counts summed, the latest error code and failure kept).
    pub fn merge(&mut self, other: Notes) {
        self.answered += other.answered;
        self.withheld += other.withheld;
        self.refused += other.refused;
        self.dropped += other.dropped;
        self.hidden += other.hidden;
        self.failed += other.failed;
        if other.error_code.is_some() {
            self.error_code = other.error_code;
        }
        if other.failure.is_some() {
            self.failure = other.failure;
        }
    }
}

/// Errors answering each of `ids` (raw JSON ids): one response for one id, an array for
/// several, `None` for none.
pub(crate) fn errors_body(ids: &[String], code: i32, message: &str) -> Option<Vec<u8>> {
    let one = |id: &str| crate::jsonrpc::error_response(Some(id), code, message, None);
    match ids {
        [] => None,
        [id] => Some(one(id).into_bytes()),
        ids => {
            let mut out = String::from("[");
            for (i, id) in ids.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&one(id));
            }
            out.push(']');
            Some(out.into_bytes())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Foreign callers hold these across threads and for a whole stream.
    #[test]
    fn owned_and_shareable() {
        fn owned<T: Send + Sync + 'static>() {}
        owned::<Guard>();
        owned::<Session>();
        owned::<Exchange>();
        owned::<ClientVerdict>();
        owned::<Step>();
        owned::<Answer>();
    }
}
