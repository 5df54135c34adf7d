//! Judging what the server sends back: a whole JSON body, an event stream in chunks, or one
//! message at a time (a stdio line).

use alloc::borrow::Cow;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

use super::ids::IdKey;
use super::media::{self, Declared, MediaType};
use super::session::{Pending, Session};
use super::{Failure, Guard, Notes, Step, errors_body};
use crate::context::Context;
use crate::error::{Error, ErrorKind};
use crate::jsonrpc::{Body, Kind, Message, MessageKind, error_response};
use crate::mcp::{Method, Revision};
use crate::policy::{Decision, Filtered, Rewrite};
use crate::sse;

/// What the server's response headers say about its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Head {
    /// An event stream: send the status now with `Content-Type: text/event-stream` (nothing
    /// else describing the body), then what each [`Exchange::server_chunk`] returns, then what
    /// [`Exchange::finish`] returns.
    Stream,
    /// Read the whole body (at most the engine's `max_body_bytes`), then send what
    /// [`Exchange::server_body`] makes of it.
    Whole,
}

/// The server's whole answer, judged: what to send the client instead.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Answer {
    /// HTTP status to send.
    pub status: u16,
    /// `Content-Type` to send; `None` for an empty body.
    #[serde(rename = "contentType")]
    pub content_type: Option<&'static str>,
    /// The body to send; `None` means the server's body exactly as received.
    #[serde(serialize_with = "opt_text")]
    pub body: Option<Vec<u8>>,
    /// JSON-RPC messages to send to the server (errors answering refused server requests).
    #[serde(rename = "toServer", serialize_with = "super::texts")]
    pub to_server: Vec<Vec<u8>>,
    /// What happened, for logs.
    pub notes: Notes,
}

fn opt_text<S: serde::Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(b) => s.serialize_some(&String::from_utf8_lossy(b)),
        None => s.serialize_none(),
    }
}

/// One server message judged (a stdio line).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Delivery {
    /// The JSON-RPC message (or batch) to deliver to the client, if any.
    #[serde(serialize_with = "opt_text")]
    pub message: Option<Vec<u8>>,
    /// JSON-RPC messages to send to the server.
    #[serde(rename = "toServer", serialize_with = "super::texts")]
    pub to_server: Vec<Vec<u8>>,
    /// What happened, for logs.
    pub notes: Notes,
}

/// The state of one HTTP exchange (or stream) on the server side: the requests it carried and
/// the reader of the server's body. Owned, `Send + 'static`; hold it for the whole stream.
#[derive(Debug)]
pub struct Exchange {
    guard: Guard,
    session: Session,
    id: u64,
    /// How many requests the client body held (they wait in the session under this id).
    own: usize,
    batch: bool,
    /// Set by [`Exchange::server_head`].
    status: u16,
    declared: Option<Result<Declared, Error>>,
    encoding: Result<(), Error>,
    /// Boxed: it is taken out and put back for each chunk, which moves only the box.
    parser: Option<Box<sse::Parser>>,
    saw_event_id: bool,
    done: bool,
    /// The revision the client spoke when it opened this exchange.
    revision: Revision,
}

/// What judging one message gave.
enum Outcome {
    /// Deliver the input as it is.
    Same,
    /// Deliver this instead.
    Replaced(String),
    /// Deliver nothing.
    Nothing,
}

impl Exchange {
    pub(crate) fn new(guard: Guard, session: Session, id: u64, own: usize, batch: bool) -> Self {
        Self {
            guard,
            session,
            id,
            own,
            batch,
            status: 200,
            declared: None,
            encoding: Ok(()),
            parser: None,
            saw_event_id: false,
            done: false,
            revision: Revision::DEFAULT_WITHOUT_HEADER,
        }
    }

    /// Sets the revision the client spoke (it decides what the server may send back).
    pub(crate) fn speaking(mut self, rev: Revision) -> Self {
        self.revision = rev;
        self
    }

    /// This exchange's number in its session ([`super::Route::Exchange`] names it).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The session it belongs to.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// How many requests of the client body wait for their answers here.
    pub fn waiting(&self) -> usize {
        self.session.count_own(self.id)
    }

    /// Reads the server's response head: `status`, `Content-Type`, `Content-Encoding`.
    /// A successful event stream in UTF-8 without encoding is streamed; everything else is
    /// read whole and judged by [`Exchange::server_body`].
    pub fn server_head(
        &mut self,
        status: u16,
        content_type: Option<&[u8]>,
        content_encoding: Option<&[u8]>,
    ) -> Head {
        self.status = status;
        self.declared = content_type.map(media::parse_content_type);
        self.encoding = media::check_encoding(content_encoding);
        let sse = matches!(
            self.declared,
            Some(Ok(Declared::Known(MediaType::EventStream)))
        );
        if (200..300).contains(&status) && sse && self.encoding.is_ok() {
            self.start_stream();
            Head::Stream
        } else {
            Head::Whole
        }
    }

    fn start_stream(&mut self) {
        if self.parser.is_none() {
            let max = self.guard.engine.limits().max_body_bytes;
            self.parser = Some(Box::new(sse::Parser::new(max)));
        }
    }

    /// Judges the server's whole body, after [`Exchange::server_head`] said [`Head::Whole`]:
    /// the head's `Content-Type` and `Content-Encoding` say how the body is read (without a
    /// head, a body has no declared type and is not delivered).
    pub fn server_body(&mut self, body: &[u8], ctx: &Context<'_>) -> Answer {
        let status = self.status;
        let ok = (200..300).contains(&status);
        if body.is_empty() {
            // Nothing to judge (202 to notifications, a bodiless error). Requests of this
            // exchange can no longer be answered on it.
            self.forget_own();
            self.done = true;
            return Answer {
                status,
                content_type: None,
                body: None,
                to_server: Vec::new(),
                notes: Notes::default(),
            };
        }
        let media = match (&self.declared, &self.encoding) {
            (_, Err(e)) => Err(e.clone()),
            (None, Ok(())) => Err(Error::new(
                ErrorKind::UnsupportedMediaType,
                "the server's answer has a body but no Content-Type",
            )),
            (Some(Err(e)), Ok(())) => Err(e.clone()),
            (Some(Ok(Declared::Known(m))), Ok(())) => Ok(*m),
            (Some(Ok(Declared::Other(t))), Ok(())) => Err(Error::new(
                ErrorKind::UnsupportedMediaType,
                alloc::format!(
                    "the server answered with Content-Type `{t}`: the engine reads only UTF-8 \
                     `application/json` and `text/event-stream`"
                ),
            )),
        };
        let media = match media {
            Ok(m) => m,
            Err(e) => return self.unjudgeable(&e),
        };
        if media == MediaType::EventStream {
            self.start_stream();
            let mut step = self.server_chunk(body, ctx);
            if !step.end {
                step.merge(self.finish());
            }
            self.done = true;
            return Answer {
                status,
                content_type: Some(MediaType::EventStream.content_type()),
                body: Some(step.to_client),
                to_server: step.to_server,
                notes: step.notes,
            };
        }
        let mut notes = Notes::default();
        let mut to_server = Vec::new();
        let judged = self.judge_body(body, ctx, &mut notes, &mut to_server);
        let mut out = match judged {
            Ok(out) => out,
            Err(e) => return self.unjudgeable(&e),
        };
        // A JSON answer is the only answer this exchange gets.
        let left = self.session.take_own(self.id);
        if ok && !left.is_empty() {
            notes.failed += u32::try_from(left.len()).unwrap_or(u32::MAX);
            for p in &left {
                let error = error_response(
                    Some(p.raw_id()),
                    -32603,
                    "The server's answer held no answer to this request",
                    None,
                );
                out.push(Outcome::Replaced(error), "");
            }
        }
        self.done = true;
        let body = match out.payload(self.batch) {
            Payload::Unchanged => None,
            Payload::Nothing => Some(Vec::new()),
            Payload::Replaced(p) => Some(p),
        };
        let content_type = match &body {
            Some(b) if b.is_empty() => None,
            _ => Some(MediaType::Json.content_type()),
        };
        Answer {
            status,
            content_type,
            body,
            to_server,
            notes,
        }
    }

    /// An answer that cannot be judged: never delivered. A successful one becomes 502 with
    /// an error for each request waiting here; an HTTP error keeps its status and gets the
    /// same errors (or one with a `null` id) as its body.
    fn unjudgeable(&mut self, e: &Error) -> Answer {
        let why = alloc::format!("The server sent an answer the gateway cannot judge: {e}");
        let ok = (200..300).contains(&self.status);
        let code = Failure::Unjudgeable.jsonrpc_code();
        let (body, answered) = self.fail_own_body(code, &why);
        Answer {
            status: if ok {
                Failure::Unjudgeable.http_status()
            } else {
                self.status
            },
            content_type: Some(MediaType::Json.content_type()),
            body: Some(body),
            to_server: Vec::new(),
            notes: Notes {
                failed: u32::try_from(answered).unwrap_or(u32::MAX),
                error_code: Some(i64::from(code)),
                failure: Some(why),
                ..Notes::default()
            },
        }
    }

    /// Feeds a chunk of an event stream (after [`Head::Stream`]), split anywhere. Returns the
    /// whole events to send on and what to send the server; `end` means stop reading and close
    /// the client's stream after sending `to_client`.
    pub fn server_chunk(&mut self, chunk: &[u8], ctx: &Context<'_>) -> Step {
        let mut step = Step::default();
        if self.done {
            step.end = true;
            return step;
        }
        self.start_stream();
        let Some(mut parser) = self.parser.take() else {
            return step;
        };
        let mut failed: Option<Error> = None;
        let res = parser.push_ref(chunk, |ev| match self.event(ev, ctx, &mut step) {
            Ok(()) => true,
            Err(e) => {
                failed = Some(e);
                false
            }
        });
        self.parser = Some(parser);
        if let Some(e) = failed.or(res.err()) {
            self.fail_own(
                &mut step,
                Failure::Unjudgeable.jsonrpc_code(),
                &alloc::format!("The server sent an event the gateway cannot read: {e}"),
            );
        }
        step
    }

    /// The end of the server's event stream. A stream cut inside an event, or ending while
    /// requests still wait here, answers them with errors, unless it can be resumed (it passed
    /// an event id and the session is resumable): then they wait for the resumed stream.
    pub fn finish(&mut self) -> Step {
        let mut step = Step::default();
        if self.done {
            return step;
        }
        step.end = true;
        if self.parser.as_mut().is_some_and(|p| p.finish().is_err()) {
            self.fail_own(
                &mut step,
                Failure::Broken.jsonrpc_code(),
                "The server's event stream ended inside an event (no blank line after it)",
            );
            return step;
        }
        self.done = true;
        if self.saw_event_id && self.session.resumable() {
            self.session.detach(self.id);
            return step;
        }
        let left = self.session.take_own(self.id);
        write_errors(
            &mut step,
            &left,
            -32603,
            "The server ended the stream without answering this request",
        );
        step
    }

    /// The server failed before its answer head: the reply to send the client, an error for
    /// each request waiting here.
    pub fn fail_reply(&mut self, failure: Failure, detail: &str) -> super::Reply {
        let code = failure.jsonrpc_code();
        let (body, _) = self.fail_own_body(code, detail);
        super::Reply {
            status: failure.http_status(),
            content_type: Some(MediaType::Json.content_type()),
            www_authenticate: None,
            body,
            kind: super::ReplyKind::Failed,
            error_code: Some(code),
            summary: super::Summary::default(),
        }
    }

    /// The server failed during its event stream: events answering each request waiting here
    /// with an error; the stream ends.
    pub fn fail_stream(&mut self, failure: Failure, detail: &str) -> Step {
        let mut step = Step {
            end: true,
            ..Step::default()
        };
        if self.done {
            return step;
        }
        self.fail_own(&mut step, failure.jsonrpc_code(), detail);
        step
    }

    /// Ends the stream: an error event (`code`, `why`) for each request waiting here.
    fn fail_own(&mut self, step: &mut Step, code: i32, why: &str) {
        self.done = true;
        step.end = true;
        let left = self.session.take_own(self.id);
        write_errors(step, &left, code, why);
        step.notes.failure = Some(String::from(why));
    }

    /// Ends the exchange before any answer was delivered: the JSON body answering each request
    /// waiting here with an error (`code`, `why`), or one with a `null` id when none waits,
    /// and how many requests it answers.
    fn fail_own_body(&mut self, code: i32, why: &str) -> (Vec<u8>, usize) {
        self.done = true;
        let left = self.session.take_own(self.id);
        let ids: Vec<String> = left.iter().map(|p| String::from(p.raw_id())).collect();
        let body = errors_body(&ids, code, why)
            .unwrap_or_else(|| error_response(None, code, why, None).into_bytes());
        (body, ids.len())
    }

    /// One server message that arrived on its own (a stdio line): judged as on a stream of
    /// this exchange. An unreadable message gives `Err`; nothing of it may be delivered.
    pub fn server_message(&mut self, message: &[u8], ctx: &Context<'_>) -> Result<Delivery, Error> {
        let mut notes = Notes::default();
        let mut to_server = Vec::new();
        let out = self.judge_body(message, ctx, &mut notes, &mut to_server)?;
        let message = match out.payload(false) {
            Payload::Unchanged => Some(message.to_vec()),
            Payload::Nothing => None,
            Payload::Replaced(p) => Some(p),
        };
        Ok(Delivery {
            message,
            to_server,
            notes,
        })
    }

    /// One parsed event: judged and written out again.
    fn event(
        &mut self,
        mut ev: sse::EventRef<'_>,
        ctx: &Context<'_>,
        step: &mut Step,
    ) -> Result<(), Error> {
        if let Some(id) = ev.id {
            self.saw_event_id = true;
            self.session.note_event_id(self.id, id);
        }
        if !ev.is_message() {
            if ev.data.is_some_and(|d| !d.is_empty()) || !ev.is_message_type() {
                // Data of another event type is no MCP message, so nothing can judge it, and a
                // lenient client might still read it: it is never passed. The id (so that
                // Last-Event-ID still advances), `retry` and comments are kept.
                if ev.data.is_some() {
                    step.notes.dropped += 1;
                }
                ev.data = None;
                ev.event = None;
            }
            if !ev.is_empty() {
                ev.write(&mut step.to_client);
            }
            return Ok(());
        }
        let data = ev.data.unwrap_or_default();
        let out = self.judge_body(data, ctx, &mut step.notes, &mut step.to_server)?;
        match out.payload(false) {
            Payload::Unchanged => ev.write(&mut step.to_client),
            Payload::Replaced(p) => sse::EventRef {
                data: Some(&p),
                ..ev
            }
            .write(&mut step.to_client),
            Payload::Nothing => {
                // Keep the id so the client's Last-Event-ID position still advances.
                ev.event = None;
                ev.data = None;
                if !ev.is_empty() {
                    ev.write(&mut step.to_client);
                }
            }
        }
        Ok(())
    }

    /// Judges one body (a message or a batch): what to deliver.
    fn judge_body<'d>(
        &mut self,
        data: &'d [u8],
        ctx: &Context<'_>,
        notes: &mut Notes,
        to_server: &mut Vec<Vec<u8>>,
    ) -> Result<Judged<'d>, Error> {
        // The common list answer is parsed and filtered in one pass, on the guess that it
        // answers this exchange's list request; its id is checked before the result is used.
        if self.own > 0 && !names_a_method(data) {
            let list = self.session.own_list_request(self.id);
            if let Some((key, method, request)) = list
                && let Some(scan) = self
                    .guard
                    .engine
                    .filter_list_answer(method, &request, data, ctx)
            {
                let (msg, filtered) = scan?;
                let answers = msg.id().is_some_and(|id| IdKey::of(&id).matches(&key));
                if msg.kind() == MessageKind::Response && answers {
                    let outcome = match self.session.claim(&key) {
                        Some(p) => self.deliver_answer(&p, filtered, notes),
                        None => self.no_request(&msg, ctx, notes),
                    };
                    return Ok(Judged::one(outcome, msg.text()));
                }
                let outcome = self.judge_message(&msg, ctx, notes, to_server);
                return Ok(Judged::one(outcome, msg.text()));
            }
        }
        let body = Body::parse(data, self.guard.engine.limits())?;
        let mut judged = Judged {
            first: None,
            more: Vec::new(),
            changed: false,
            batch: body.is_batch(),
        };
        for msg in body.messages() {
            let outcome = self.judge_message(msg, ctx, notes, to_server);
            judged.push(outcome, msg.text());
        }
        Ok(judged)
    }

    fn judge_message(
        &mut self,
        msg: &Message<'_>,
        ctx: &Context<'_>,
        notes: &mut Notes,
        to_server: &mut Vec<Vec<u8>>,
    ) -> Outcome {
        let engine = &self.guard.engine;
        match msg.kind() {
            // 2026-07-28 has no server-to-client requests (MRTR replaced them: a server asks
            // inside an `input_required` result), so a client of that revision cannot answer
            // one and rules written for it would not apply: refused whatever the policy says.
            MessageKind::Request if self.revision.is_stateless() => {
                let method = msg.method().unwrap_or("");
                let why = alloc::format!(
                    "Method not found: {method} (MCP {} has no server-to-client requests; answer the client's request with an input_required result instead)",
                    self.revision.as_str()
                );
                let id = msg.id().map(|i| i.json());
                to_server.push(error_response(id.as_deref(), -32601, &why, None).into_bytes());
                if let Some(id) = msg.id() {
                    self.session.refused(IdKey::of(&id));
                }
                notes.refused += 1;
                Outcome::Nothing
            }
            // A task request from the server is about a task the client runs for it (a
            // sampling or elicitation request it made a task of), not about a tool: the
            // client's own business, as its answers are.
            MessageKind::Request if super::client::names_a_task(msg) => Outcome::Same,
            MessageKind::Request => match engine.check(msg, ctx) {
                Decision::Allow(..) => {
                    let f = engine.filter_sampling(msg, ctx);
                    notes.hidden += u32::try_from(f.hidden.len()).unwrap_or(u32::MAX);
                    apply(f.rewrite, notes)
                }
                Decision::Deny(d) => {
                    to_server.push(d.jsonrpc_response().into_bytes());
                    if let Some(id) = msg.id() {
                        self.session.refused(IdKey::of(&id));
                    }
                    notes.refused += 1;
                    Outcome::Nothing
                }
            },
            MessageKind::Notification
                if engine.judges_tasks() && super::client::names_a_task(msg) =>
            {
                // A task's status reaches only a caller who may call the task's tool.
                let Some(task) = msg.task_id() else {
                    return Outcome::Same;
                };
                let tool = self
                    .guard
                    .tasks_of(&self.session, self.revision)
                    .with(|t| t.tool(task));
                match engine.check_task(msg, ctx, tool.as_deref()) {
                    Decision::Allow(..) => Outcome::Same,
                    Decision::Deny(_) => {
                        notes.hidden += 1;
                        notes.dropped += 1;
                        Outcome::Nothing
                    }
                }
            }
            MessageKind::Notification => {
                let f = engine.filter_message(msg, None, ctx);
                notes.hidden += u32::try_from(f.hidden.len()).unwrap_or(u32::MAX);
                apply(f.rewrite, notes)
            }
            MessageKind::Response | MessageKind::ErrorResponse => {
                let key = msg.id().map(|id| IdKey::of(&id));
                let Some(p) = key.as_ref().and_then(|k| self.session.claim(k)) else {
                    return self.no_request(msg, ctx, notes);
                };
                if msg.kind() == MessageKind::ErrorResponse {
                    notes.answered += 1;
                    notes.error_code = error_code(msg);
                    let f = engine.filter_error(msg, ctx);
                    notes.hidden += u32::try_from(f.hidden.len()).unwrap_or(u32::MAX);
                    return apply(f.rewrite, notes);
                }
                if p.method == Some(Method::Initialize)
                    && let Some(v) = msg
                        .result()
                        .and_then(|r| r.get("protocolVersion"))
                        .and_then(|v| v.as_str())
                        .and_then(|v| Revision::parse(&v))
                {
                    self.session.set_revision(v);
                }
                if engine.judges_tasks() {
                    match p.method {
                        Some(Method::ToolsCall) => self.bind_created_task(msg, &p.request),
                        Some(Method::TasksList) => {
                            let f = self.filter_task_list(msg, ctx);
                            if f.rewrite != Rewrite::Unchanged {
                                return self.deliver_answer(&p, f, notes);
                            }
                        }
                        _ => {}
                    }
                }
                let filtered = engine.filter_answer(msg, p.method, &p.request, ctx);
                self.deliver_answer(&p, filtered, notes)
            }
        }
    }

    /// A `tools/call` answered with a task (2025-11-25 `CreateTaskResult`: `result.task.taskId`;
    /// the 2026-07-28 tasks extension: `"resultType": "task"` and `result.taskId`): the task
    /// is bound to the called tool in the session, so its later messages are judged as calls
    /// of that tool.
    fn bind_created_task(&self, msg: &Message<'_>, request: &str) {
        if !msg.text().contains("askId") && !msg.text().contains("\\u") {
            return;
        }
        let Some(result) = msg.result() else { return };
        let task = result
            .get("task")
            .and_then(|t| t.get("taskId"))
            .or_else(|| {
                let is_task = result
                    .get("resultType")
                    .and_then(|r| r.as_json_str())
                    .is_some_and(|r| r.eq_str("task"));
                is_task.then(|| result.get("taskId")).flatten()
            })
            .and_then(|t| t.as_str());
        let Some(task) = task else { return };
        // The request was parsed before it was forwarded.
        if let Ok(req) = Message::parse(request.as_bytes(), self.guard.engine.limits())
            && let Some(tool) = req.name()
        {
            self.guard
                .tasks_of(&self.session, self.revision)
                .with(|t| t.bind(&task, tool));
        }
    }

    /// A `tasks/list` answer (2025-11-25) keeps the tasks the caller could follow by
    /// `tasks/get`: bound in this session to a tool it may call.
    fn filter_task_list(&self, msg: &Message<'_>, ctx: &Context<'_>) -> Filtered {
        let Some(list) = msg
            .result()
            .and_then(|r| r.get("tasks"))
            .filter(|l| l.kind() == Kind::Array)
        else {
            return Filtered {
                rewrite: Rewrite::Unchanged,
                hidden: Vec::new(),
            };
        };
        let engine = &self.guard.engine;
        let tasks = self.guard.tasks_of(&self.session, self.revision);
        let mut hidden = Vec::new();
        let rewritten = crate::policy::cut_array(msg.text(), list, |task| {
            let id = task.get("taskId").and_then(|t| t.as_str());
            let callable = id
                .as_deref()
                .and_then(|t| tasks.with(|b| b.tool(t)))
                .is_some_and(|tool| engine.allows(crate::policy::AclMethod::ToolsCall, &tool, ctx));
            if !callable {
                hidden.push(crate::policy::HiddenItem {
                    subject: id.map(|t| t.into_owned()).unwrap_or_default(),
                    reason: "task of a tool the caller may not call",
                });
            }
            callable
        });
        Filtered {
            rewrite: rewritten.map_or(Rewrite::Unchanged, Rewrite::Replaced),
            hidden,
        }
    }

    /// A filtered answer to the waiting request `p`: delivered, or withheld as an error with
    /// the request's id.
    fn deliver_answer(&self, p: &Pending, f: Filtered, notes: &mut Notes) -> Outcome {
        notes.hidden += u32::try_from(f.hidden.len()).unwrap_or(u32::MAX);
        match f.rewrite {
            Rewrite::Unchanged => {
                notes.answered += 1;
                Outcome::Same
            }
            Rewrite::Replaced(text) => {
                notes.answered += 1;
                Outcome::Replaced(text)
            }
            Rewrite::Dropped => {
                notes.withheld += 1;
                notes.error_code = Some(-32603);
                Outcome::Replaced(error_response(
                    Some(p.raw_id()),
                    -32603,
                    "Response withheld by the gateway",
                    None,
                ))
            }
        }
    }

    /// An answer to no waiting request: an error passes (only the requests a `-32042` one
    /// carries are judged), a result does not (nothing says how to judge it).
    fn no_request(&self, msg: &Message<'_>, ctx: &Context<'_>, notes: &mut Notes) -> Outcome {
        if msg.kind() == MessageKind::ErrorResponse {
            notes.error_code = error_code(msg);
            let f = self.guard.engine.filter_error(msg, ctx);
            notes.hidden += u32::try_from(f.hidden.len()).unwrap_or(u32::MAX);
            return apply(f.rewrite, notes);
        }
        notes.dropped += 1;
        Outcome::Nothing
    }

    /// Forgets this exchange's waiting requests (no answer can come for them here).
    fn forget_own(&self) {
        if self.own > 0 {
            self.session.take_own(self.id);
        }
    }
}

impl Drop for Exchange {
    fn drop(&mut self) {
        if self.done || self.own == 0 {
            return;
        }
        // The host stopped reading (the client went away). A resumable stream's requests wait
        // for the resumed stream; anything else can never be answered.
        if self.saw_event_id && self.session.resumable() {
            self.session.detach(self.id);
        } else {
            self.session.take_own(self.id);
        }
    }
}

/// Whether a body looks like a request or notification (or a batch) rather than an answer: a
/// `"method"` key near its start, where servers write it. Only chooses which parse to try
/// first (a wrong guess costs a second parse, never a wrong judgement): the list answer's
/// one-pass parse is wasted on the progress notifications that precede it in a stream.
fn names_a_method(data: &[u8]) -> bool {
    let head = data.get(..96).unwrap_or(data);
    head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[')
        || head.windows(8).any(|w| w == b"\"method\"")
}

fn error_code(msg: &Message<'_>) -> Option<i64> {
    msg.error()
        .and_then(|e| e.get("code"))
        .filter(|c| c.kind() == Kind::Number)
        .and_then(|c| c.as_i64())
}

fn apply(rewrite: Rewrite, notes: &mut Notes) -> Outcome {
    match rewrite {
        Rewrite::Unchanged => Outcome::Same,
        Rewrite::Replaced(t) => Outcome::Replaced(t),
        Rewrite::Dropped => {
            notes.dropped += 1;
            Outcome::Nothing
        }
    }
}

/// Events answering each of `left` with an error.
fn write_errors(step: &mut Step, left: &[Pending], code: i32, message: &str) {
    for p in left {
        let e = error_response(Some(p.raw_id()), code, message, None);
        sse::write_message(&mut step.to_client, None, e.as_bytes());
        step.notes.failed += 1;
        step.notes.error_code = Some(i64::from(code));
    }
}

/// What to deliver in place of a body.
enum Payload {
    /// The body as it came.
    Unchanged,
    /// Nothing of it.
    Nothing,
    /// These bytes.
    Replaced(Vec<u8>),
}

/// The messages to deliver from one body (borrowed while unchanged). The first is held apart
/// so that the usual body, one message, needs no list.
struct Judged<'d> {
    first: Option<Cow<'d, str>>,
    more: Vec<Cow<'d, str>>,
    changed: bool,
    batch: bool,
}

impl<'d> Judged<'d> {
    fn one(outcome: Outcome, text: &'d str) -> Self {
        let mut j = Self {
            first: None,
            more: Vec::new(),
            changed: false,
            batch: false,
        };
        j.push(outcome, text);
        j
    }

    /// What to deliver: one message as itself, several (or any, when `array`, the answer to
    /// a batch) as an array.
    fn payload(self, array: bool) -> Payload {
        if !self.changed {
            return Payload::Unchanged;
        }
        match self.first {
            None => Payload::Nothing,
            Some(m) if self.more.is_empty() && !self.batch && !array => {
                Payload::Replaced(m.into_owned().into_bytes())
            }
            Some(m) => {
                let mut out = String::from("[");
                out.push_str(&m);
                for more in &self.more {
                    out.push(',');
                    out.push_str(more);
                }
                out.push(']');
                Payload::Replaced(out.into_bytes())
            }
        }
    }

    fn push(&mut self, outcome: Outcome, text: &'d str) {
        let m = match outcome {
            Outcome::Same => Cow::Borrowed(text),
            Outcome::Replaced(t) => {
                self.changed = true;
                Cow::Owned(t)
            }
            Outcome::Nothing => {
                self.changed = true;
                return;
            }
        };
        if self.first.is_none() {
            self.first = Some(m);
        } else {
            self.more.push(m);
        }
    }
}
