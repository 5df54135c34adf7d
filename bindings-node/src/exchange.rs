//! The host protocol (`mcp_policy::exchange`) as JavaScript objects: `Guard`, `Session`,
//! `Exchange`, and the results of each call with their answers in core's format.

use std::sync::Arc;

use mcp_policy::exchange::{
    self as core_ex, ClientVerdict as CoreVerdict, Failure, Head, Options, RequestFacts, Route,
};
use mcp_policy::policy::Engine;
use mcp_policy::{Limits, answer};
use napi::Env;
use napi::bindgen_prelude::{Buffer, Either, JavaScriptClassExt, Reference};
use napi_derive::napi;
use serde_json::Value;

use crate::convert::{self, CtxArg, Input};
use crate::error::{self, Result};

/// How a guard answers, beyond what the policy says.
#[napi(object)]
#[derive(Debug, Default)]
pub struct GuardOptions {
    /// The protected resource metadata URL (RFC 9728) named in the `WWW-Authenticate`
    /// challenge of a step-up denial (403 `insufficient_scope`).
    pub resource_metadata_url: Option<String>,
    /// Most client requests of one session waiting for their answers (default 1024); past
    /// it, new requests are refused with 429.
    pub max_pending: Option<u32>,
    /// The scopes every request of the resource needs: a step-up challenge names them before
    /// the rule's, so the client's new token still opens every other request.
    pub challenge_scopes: Option<Vec<String>>,
}

/// The host protocol over a policy (`policy.guard()`): judges each client body of an MCP
/// session and opens the `Exchange` that judges what the server sends back.
#[napi]
#[derive(Debug, Clone)]
pub struct Guard {
    inner: core_ex::Guard,
}

impl Guard {
    pub(crate) fn new(engine: Arc<Engine>, o: GuardOptions) -> Self {
        let d = Options::default();
        Self {
            inner: core_ex::Guard::with_options(
                engine,
                Options {
                    resource_metadata_url: o.resource_metadata_url,
                    max_pending: o.max_pending.map_or(d.max_pending, |n| n as usize),
                    challenge_scopes: o.challenge_scopes.unwrap_or_default(),
                },
            ),
        }
    }

    fn core_limits(&self) -> Limits {
        self.inner.engine().limits().clone()
    }
}

#[napi]
impl Guard {
    /// The limits of the guard's policy (see `Policy.limits`).
    #[napi(getter, catch_unwind)]
    pub fn limits(&self) -> crate::policy::LimitsOptions {
        crate::policy::LimitsOptions::of(self.inner.engine().limits())
    }

    /// A new session: one per MCP session (`Mcp-Session-Id`), and one per request that belongs
    /// to none.
    #[napi(catch_unwind)]
    pub fn session(&self) -> Session {
        Session {
            inner: self.inner.session(),
            limits: self.core_limits(),
        }
    }

    /// Judges one client POST body with its HTTP headers (pairs, Node's `rawHeaders`, or an
    /// object; absent means only `Content-Type: application/json`), the context conditions
    /// read, and its session. Returns a verdict: `forward` (send the body unchanged with
    /// `contentType`, then judge the answer with `exchange`) or `reply` (send `status`,
    /// `headers` and `body` instead).
    #[napi(catch_unwind)]
    pub fn client(
        &self,
        env: Env,
        #[napi(ts_arg_type = "Uint8Array | string | object")] body: Input<'_>,
        #[napi(ts_arg_type = "HeaderList | null")] headers: Option<Value>,
        #[napi(ts_arg_type = "Context | object | string | null")] context: Option<CtxArg<'_>>,
        session: &Session,
    ) -> Result<ClientVerdict> {
        let bytes = convert::bytes(&env, &body, "body")?;
        let list = match &headers {
            None | Some(Value::Null) => vec![("content-type".into(), b"application/json".to_vec())],
            Some(h) => convert::header_list(h)?,
        };
        let facts =
            RequestFacts::from_headers(list.iter().map(|(n, v)| (n.as_str(), v.as_slice())));
        let ctx = convert::ctx(&env, &context)?;
        let verdict = self.inner.client(&bytes, &facts, &ctx, &session.inner);
        let answer = answer::client_verdict(&verdict);
        Ok(match verdict {
            CoreVerdict::Forward(f) => ClientVerdict {
                answer,
                content_type: Some(f.content_type.to_owned()),
                exchange: Some(
                    Exchange { inner: f.exchange }
                        .into_reference(env)
                        .map_err(error::napi)?,
                ),
                reply: None,
            },
            CoreVerdict::Reply(r) => ClientVerdict {
                answer,
                content_type: r.content_type.map(str::to_owned),
                exchange: None,
                reply: Some(r),
            },
        })
    }

    /// The exchange of a stream the client opened without a request: a session's GET stream
    /// (`lastEventId` absent), or a resumed stream (`Last-Event-ID`), which takes over the
    /// waiting requests of the stream that passed that event.
    #[napi(catch_unwind)]
    pub fn stream(&self, session: &Session, last_event_id: Option<String>) -> Result<Exchange> {
        let last = last_event_id
            .as_deref()
            .map(|s| {
                convert::latin1(s)
                    .ok_or_else(|| error::bad_arg("lastEventId: a header value is bytes (Latin-1)"))
            })
            .transpose()?;
        Ok(Exchange {
            inner: self.inner.stream(&session.inner, last.as_deref()),
        })
    }
}

/// The verdict on a client body (`guard.client`). `verdict` says which fields apply.
#[napi]
pub struct ClientVerdict {
    answer: Value,
    content_type: Option<String>,
    exchange: Option<Reference<Exchange>>,
    reply: Option<core_ex::Reply>,
}

impl std::fmt::Debug for ClientVerdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientVerdict")
            .field("answer", &self.answer)
            .finish_non_exhaustive()
    }
}

#[napi]
impl ClientVerdict {
    /// `"forward"`: send the body to the server; `"reply"`: answer the client with this.
    #[napi(getter, catch_unwind, ts_return_type = "'forward' | 'reply'")]
    pub fn verdict(&self) -> &'static str {
        if self.reply.is_some() {
            "reply"
        } else {
            "forward"
        }
    }

    /// Forward: the `Content-Type` to forward the body with (exactly what it was judged as).
    /// Reply: the `Content-Type` of `body` (`null` when it is empty).
    #[napi(getter, catch_unwind)]
    pub fn content_type(&self) -> Option<String> {
        self.content_type.clone()
    }

    /// Forward: the exchange that judges the server's answer (the same object on every read).
    #[napi(getter, catch_unwind)]
    pub fn exchange(&self, env: Env) -> Result<Option<Reference<Exchange>>> {
        self.exchange
            .as_ref()
            .map(|r| r.clone(env))
            .transpose()
            .map_err(error::napi)
    }

    /// Reply: the HTTP status.
    #[napi(getter, catch_unwind)]
    pub fn status(&self) -> Option<u16> {
        self.reply.as_ref().map(|r| r.status)
    }

    /// Reply: the headers to send, as `[name, value]` pairs (`content-type`,
    /// `www-authenticate`).
    #[napi(getter, catch_unwind, ts_return_type = "Array<[string, string]>")]
    pub fn headers(&self) -> Vec<Vec<String>> {
        self.reply.as_ref().map_or_else(Vec::new, reply_headers)
    }

    /// Reply: the body (JSON-RPC error responses; empty for a 202).
    #[napi(getter, catch_unwind)]
    pub fn body(&self) -> Option<Buffer> {
        self.reply.as_ref().map(|r| Buffer::from(r.body.clone()))
    }

    /// Reply: why the engine answered (`denied`, `invalid`, `dropped`, `failed`).
    #[napi(getter, catch_unwind)]
    pub fn kind(&self) -> Option<String> {
        self.field("kind")
    }

    /// Reply: the JSON-RPC error code its body carries (the first one, for a batch).
    #[napi(getter, catch_unwind)]
    pub fn error_code(&self) -> Option<i32> {
        self.reply.as_ref().and_then(|r| r.error_code)
    }

    /// Reply: the `WWW-Authenticate` challenge of a step-up denial.
    #[napi(getter, catch_unwind)]
    pub fn www_authenticate(&self) -> Option<String> {
        self.reply.as_ref().and_then(|r| r.www_authenticate.clone())
    }

    /// What the body held, for logs: `{method, subject, requests, initialize, firstId}`.
    #[napi(
        getter,
        catch_unwind,
        ts_return_type = "{ method: string | null, subject: string | null, requests: number, initialize: boolean, firstId: string | null }"
    )]
    pub fn summary(&self) -> Value {
        self.answer.get("summary").cloned().unwrap_or(Value::Null)
    }

    /// Core's answer (`answer::client_verdict`).
    #[napi(getter, catch_unwind, ts_return_type = "Record<string, any>")]
    pub fn answer(&self) -> Value {
        self.answer.clone()
    }

    /// The answer, for `JSON.stringify`.
    #[napi(
        js_name = "toJSON",
        catch_unwind,
        ts_return_type = "Record<string, any>"
    )]
    pub fn to_json(&self) -> Value {
        self.answer.clone()
    }
}

impl ClientVerdict {
    fn field(&self, key: &str) -> Option<String> {
        self.answer
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
    }
}

fn reply_headers(r: &core_ex::Reply) -> Vec<Vec<String>> {
    r.headers()
        .into_iter()
        .map(|(n, v)| vec![n.to_owned(), v.to_owned()])
        .collect()
}

/// One MCP session's state, shared by its exchanges: the requests waiting for answers, the
/// server requests refused, the negotiated revision, where streams can be resumed.
#[napi]
#[derive(Debug, Clone)]
pub struct Session {
    inner: core_ex::Session,
    limits: Limits,
}

#[napi]
impl Session {
    /// Says whether the session outlives its exchanges (the proxy keeps it under an
    /// `Mcp-Session-Id`, so a client can resume a stream with `Last-Event-ID`). Set it no later
    /// than the head of the answer that names the session: until then the session's streams
    /// keep no resume points.
    #[napi(catch_unwind)]
    pub fn set_resumable(&self, resumable: bool) {
        self.inner.set_resumable(resumable);
    }

    /// The protocol revision `initialize` negotiated, once its answer was seen.
    #[napi(getter, catch_unwind)]
    pub fn revision(&self) -> Option<&'static str> {
        self.inner.revision().map(|r| r.as_str())
    }

    /// How many client requests wait for their answer.
    #[napi(getter, catch_unwind)]
    pub fn pending_count(&self) -> u32 {
        u32::try_from(self.inner.pending_count()).unwrap_or(u32::MAX)
    }

    /// Where a server message goes, for proxies that receive a session's messages on one
    /// channel (a stdio process): the id of the exchange it answers (`exchange.id`),
    /// `"unsolicited"` (judge it with the exchange of the stream it goes to) or `"unreadable"`
    /// (fail every waiting request with `failAll`).
    #[napi(catch_unwind, ts_return_type = "number | 'unsolicited' | 'unreadable'")]
    pub fn route(
        &self,
        env: Env,
        #[napi(ts_arg_type = "Uint8Array | string | object")] message: Input<'_>,
    ) -> Result<Either<f64, &'static str>> {
        let bytes = convert::bytes(&env, &message, "message")?;
        Ok(match self.inner.route(&bytes, &self.limits) {
            Route::Exchange(id) => Either::A(id as f64),
            Route::Unsolicited => Either::B("unsolicited"),
            Route::Unreadable => Either::B("unreadable"),
        })
    }

    /// Answers every waiting request with an error (`code`, default -32603): for each, the
    /// exchange that carried it and the error response to deliver on its stream.
    #[napi(catch_unwind)]
    pub fn fail_all(&self, message: String, code: Option<i32>) -> Vec<FailedRequest> {
        self.inner
            .fail_all(code.unwrap_or(-32603), &message)
            .into_iter()
            .map(|(id, body)| FailedRequest {
                exchange: id as f64,
                body: String::from_utf8_lossy(&body).into_owned(),
            })
            .collect()
    }
}

/// A waiting request answered with an error by `Session.failAll`.
#[napi(object)]
#[derive(Debug)]
pub struct FailedRequest {
    /// The id of the exchange that carried it.
    pub exchange: f64,
    /// The JSON-RPC error response to deliver on that exchange's stream (JSON text).
    pub body: String,
}

/// Judges what the server sends back for one client body (or one stream the client opened).
/// Hold it for the whole answer: `serverHead`, then `serverChunk` per chunk and `finish`
/// (an event stream) or `serverBody` (anything else).
#[napi]
#[derive(Debug)]
pub struct Exchange {
    inner: core_ex::Exchange,
}

fn failure(name: &str) -> Result<Failure> {
    Ok(match name {
        "unreachable" => Failure::Unreachable,
        "timeout" => Failure::Timeout,
        "broken" => Failure::Broken,
        "shutting_down" => Failure::ShuttingDown,
        "unjudgeable" => Failure::Unjudgeable,
        other => {
            return Err(error::bad_arg(format!(
                "failure: `{other}` is not one of unreachable, timeout, broken, shutting_down, unjudgeable"
            )));
        }
    })
}

fn header_value(v: Option<&str>, what: &str) -> Result<Option<Vec<u8>>> {
    v.map(|s| {
        convert::latin1(s)
            .ok_or_else(|| error::bad_arg(format!("{what}: a header value is bytes (Latin-1)")))
    })
    .transpose()
}

#[napi]
impl Exchange {
    /// This exchange's number in its session (what `Session.route` returns).
    #[napi(getter, catch_unwind)]
    pub fn id(&self) -> f64 {
        self.inner.id() as f64
    }

    /// How many requests of the client body still wait for their answers here.
    #[napi(getter, catch_unwind)]
    pub fn waiting(&self) -> u32 {
        u32::try_from(self.inner.waiting()).unwrap_or(u32::MAX)
    }

    /// Reads the server's response head. `"stream"`: send `status` with
    /// `Content-Type: text/event-stream` now, then what each `serverChunk` and `finish`
    /// return. `"whole"`: read the whole body and send what `serverBody` makes of it.
    #[napi(catch_unwind, ts_return_type = "'stream' | 'whole'")]
    pub fn server_head(
        &mut self,
        status: u16,
        content_type: Option<String>,
        content_encoding: Option<String>,
    ) -> Result<&'static str> {
        let ct = header_value(content_type.as_deref(), "contentType")?;
        let ce = header_value(content_encoding.as_deref(), "contentEncoding")?;
        Ok(
            match self.inner.server_head(status, ct.as_deref(), ce.as_deref()) {
                Head::Stream => "stream",
                Head::Whole => "whole",
            },
        )
    }

    /// Judges one chunk of the server's event stream (split anywhere): the bytes to send the
    /// client now, the bodies to POST back to the server, whether the stream must end.
    #[napi(catch_unwind)]
    pub fn server_chunk(
        &mut self,
        env: Env,
        #[napi(ts_arg_type = "Uint8Array | string")] chunk: Input<'_>,
        #[napi(ts_arg_type = "Context | object | string")] context: Option<CtxArg<'_>>,
    ) -> Result<Step> {
        let bytes = convert::bytes(&env, &chunk, "chunk")?;
        let ctx = convert::ctx(&env, &context)?;
        Ok(Step {
            inner: self.inner.server_chunk(&bytes, &ctx),
        })
    }

    /// The end of the server's stream: errors for every request still waiting (unless the
    /// stream can be resumed).
    #[napi(catch_unwind)]
    pub fn finish(&mut self) -> Step {
        Step {
            inner: self.inner.finish(),
        }
    }

    /// Judges the server's whole body (after `serverHead` said `"whole"`): what to send the
    /// client instead.
    #[napi(catch_unwind)]
    pub fn server_body(
        &mut self,
        env: Env,
        #[napi(ts_arg_type = "Uint8Array | string | object")] body: Input<'_>,
        #[napi(ts_arg_type = "Context | object | string")] context: Option<CtxArg<'_>>,
    ) -> Result<ServerAnswer> {
        let bytes = convert::bytes(&env, &body, "body")?;
        let ctx = convert::ctx(&env, &context)?;
        Ok(ServerAnswer {
            inner: self.inner.server_body(&bytes, &ctx),
        })
    }

    /// Judges one server message (a stdio line). Throws the message error (`SYNTAX`...)
    /// when it cannot be read: nothing of it may be delivered.
    #[napi(catch_unwind)]
    pub fn server_message(
        &mut self,
        env: Env,
        #[napi(ts_arg_type = "Uint8Array | string | object")] message: Input<'_>,
        #[napi(ts_arg_type = "Context | object | string")] context: Option<CtxArg<'_>>,
    ) -> Result<ServerDelivery> {
        let bytes = convert::bytes(&env, &message, "message")?;
        let ctx = convert::ctx(&env, &context)?;
        self.inner
            .server_message(&bytes, &ctx)
            .map(|inner| ServerDelivery { inner })
            .map_err(|e| error::core(&e))
    }

    /// The proxy gives up on the server before its response head (`failure`:
    /// `unreachable`, `timeout`, `broken`, `shutting_down`, `unjudgeable`): the reply to send
    /// the client, with an error for each waiting request.
    #[napi(catch_unwind, ts_args_type = "failure: Failure, detail: string")]
    pub fn fail_reply(&mut self, failure: String, detail: String) -> Result<Reply> {
        let f = self::failure(&failure)?;
        Ok(Reply {
            inner: self.inner.fail_reply(f, &detail),
        })
    }

    /// The proxy gives up during a stream: the last step to send (an error event for each
    /// waiting request).
    #[napi(catch_unwind, ts_args_type = "failure: Failure, detail: string")]
    pub fn fail_stream(&mut self, failure: String, detail: String) -> Result<Step> {
        let f = self::failure(&failure)?;
        Ok(Step {
            inner: self.inner.fail_stream(f, &detail),
        })
    }
}

fn buffers(v: &[Vec<u8>]) -> Vec<Buffer> {
    v.iter().map(|b| Buffer::from(b.clone())).collect()
}

fn notes(n: &core_ex::Notes) -> Value {
    answer::of(n)
}

/// One step of a server stream: what to send now.
#[napi]
#[derive(Debug, Default)]
pub struct Step {
    inner: core_ex::Step,
}

#[napi]
impl Step {
    /// An empty step, to `merge` later steps into.
    #[napi(constructor, catch_unwind)]
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes to send the client now (whole SSE events).
    #[napi(getter, catch_unwind)]
    pub fn to_client(&self) -> Buffer {
        Buffer::from(self.inner.to_client.clone())
    }

    /// JSON-RPC messages to POST to the server, each a body of its own (errors answering the
    /// server requests the policy refused, so the server's call ends).
    #[napi(getter, catch_unwind)]
    pub fn to_server(&self) -> Vec<Buffer> {
        buffers(&self.inner.to_server)
    }

    /// The stream must end once `toClient` is sent.
    #[napi(getter, catch_unwind)]
    pub fn end(&self) -> bool {
        self.inner.end
    }

    /// What happened, for logs: `{answered, withheld, refused, dropped, hidden, failed,
    /// errorCode, failure}`.
    #[napi(getter, catch_unwind, ts_return_type = "Notes")]
    pub fn notes(&self) -> Value {
        notes(&self.inner.notes)
    }

    /// Appends a later step of the same stream (what a host that collects a stream's steps
    /// sends in all).
    #[napi(catch_unwind)]
    pub fn merge(&mut self, later: &Step) {
        self.inner.merge(later.inner.clone());
    }

    /// Core's answer (`answer::of(step)`).
    #[napi(getter, catch_unwind, ts_return_type = "Record<string, any>")]
    pub fn answer(&self) -> Value {
        answer::of(&self.inner)
    }

    /// The answer, for `JSON.stringify`.
    #[napi(
        js_name = "toJSON",
        catch_unwind,
        ts_return_type = "Record<string, any>"
    )]
    pub fn to_json(&self) -> Value {
        answer::of(&self.inner)
    }
}

/// The server's whole answer judged (`exchange.serverBody`): what to send the client.
#[napi]
#[derive(Debug)]
pub struct ServerAnswer {
    inner: core_ex::Answer,
}

#[napi]
impl ServerAnswer {
    /// The HTTP status to send.
    #[napi(getter, catch_unwind)]
    pub fn status(&self) -> u16 {
        self.inner.status
    }

    /// The `Content-Type` to send (`null` for an empty body).
    #[napi(getter, catch_unwind)]
    pub fn content_type(&self) -> Option<&'static str> {
        self.inner.content_type
    }

    /// The body to send; `null` means the server's body exactly as received.
    #[napi(getter, catch_unwind)]
    pub fn body(&self) -> Option<Buffer> {
        self.inner.body.clone().map(Buffer::from)
    }

    /// JSON-RPC messages to POST to the server.
    #[napi(getter, catch_unwind)]
    pub fn to_server(&self) -> Vec<Buffer> {
        buffers(&self.inner.to_server)
    }

    /// What happened, for logs.
    #[napi(getter, catch_unwind, ts_return_type = "Notes")]
    pub fn notes(&self) -> Value {
        notes(&self.inner.notes)
    }

    /// Core's answer (`answer::of(answer)`).
    #[napi(getter, catch_unwind, ts_return_type = "Record<string, any>")]
    pub fn answer(&self) -> Value {
        answer::of(&self.inner)
    }

    /// The answer, for `JSON.stringify`.
    #[napi(
        js_name = "toJSON",
        catch_unwind,
        ts_return_type = "Record<string, any>"
    )]
    pub fn to_json(&self) -> Value {
        answer::of(&self.inner)
    }
}

/// One server message judged (`exchange.serverMessage`).
#[napi]
#[derive(Debug)]
pub struct ServerDelivery {
    inner: core_ex::Delivery,
}

#[napi]
impl ServerDelivery {
    /// The message (or batch) to deliver to the client, or `null`.
    #[napi(getter, catch_unwind)]
    pub fn message(&self) -> Option<Buffer> {
        self.inner.message.clone().map(Buffer::from)
    }

    /// JSON-RPC messages to send to the server.
    #[napi(getter, catch_unwind)]
    pub fn to_server(&self) -> Vec<Buffer> {
        buffers(&self.inner.to_server)
    }

    /// What happened, for logs.
    #[napi(getter, catch_unwind, ts_return_type = "Notes")]
    pub fn notes(&self) -> Value {
        notes(&self.inner.notes)
    }

    /// Core's answer (`answer::of(delivery)`).
    #[napi(getter, catch_unwind, ts_return_type = "Record<string, any>")]
    pub fn answer(&self) -> Value {
        answer::of(&self.inner)
    }

    /// The answer, for `JSON.stringify`.
    #[napi(
        js_name = "toJSON",
        catch_unwind,
        ts_return_type = "Record<string, any>"
    )]
    pub fn to_json(&self) -> Value {
        answer::of(&self.inner)
    }
}

/// An HTTP answer the engine wrote instead of the server's (`exchange.failReply`).
#[napi]
#[derive(Debug)]
pub struct Reply {
    inner: core_ex::Reply,
}

#[napi]
impl Reply {
    /// The HTTP status.
    #[napi(getter, catch_unwind)]
    pub fn status(&self) -> u16 {
        self.inner.status
    }

    /// The headers to send, as `[name, value]` pairs.
    #[napi(getter, catch_unwind, ts_return_type = "Array<[string, string]>")]
    pub fn headers(&self) -> Vec<Vec<String>> {
        reply_headers(&self.inner)
    }

    /// The body (JSON-RPC error responses).
    #[napi(getter, catch_unwind)]
    pub fn body(&self) -> Buffer {
        Buffer::from(self.inner.body.clone())
    }

    /// Why (`failed` for a failure).
    #[napi(getter, catch_unwind)]
    pub fn kind(&self) -> &'static str {
        match self.inner.kind {
            core_ex::ReplyKind::Denied => "denied",
            core_ex::ReplyKind::Invalid => "invalid",
            core_ex::ReplyKind::Dropped => "dropped",
            core_ex::ReplyKind::Failed => "failed",
        }
    }

    /// The JSON-RPC error code the body carries.
    #[napi(getter, catch_unwind)]
    pub fn error_code(&self) -> Option<i32> {
        self.inner.error_code
    }

    /// Core's answer (`answer::of(reply)`).
    #[napi(getter, catch_unwind, ts_return_type = "Record<string, any>")]
    pub fn answer(&self) -> Value {
        answer::of(&self.inner)
    }

    /// The answer, for `JSON.stringify`.
    #[napi(
        js_name = "toJSON",
        catch_unwind,
        ts_return_type = "Record<string, any>"
    )]
    pub fn to_json(&self) -> Value {
        answer::of(&self.inner)
    }
}
