//! The host protocol (`mcp_policy::exchange`) as Python objects: `Guard`, `Session`,
//! `Exchange`, and the results `Forward`, `Reply`, `Step`, `Answer`, `Delivery`. Every rule
//! lives in core; these only convert.

use std::sync::{Arc, Mutex, MutexGuard, TryLockError};

use mcp_policy::exchange::{
    self as core_ex, ClientVerdict, Failure, Head, Options, RequestFacts, Route,
};
use mcp_policy::policy::Engine;
use mcp_policy::{ErrorCode, answer};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};
use serde_json::Value;

use crate::convert::{header_pairs, input_bytes, json_input, to_py};
use crate::errors;
use crate::policy::{DETACH_BYTES, context_arg};

/// Judges whole exchanges for one policy: client bodies, and what the server sends back.
/// Thread-safe; get one from `Policy.guard()`.
#[pyclass(frozen, module = "mcp_policy._native")]
#[derive(Debug)]
pub struct Guard {
    inner: core_ex::Guard,
}

impl Guard {
    pub(crate) fn new(
        engine: Arc<Engine>,
        url: Option<String>,
        max_pending: usize,
        challenge_scopes: Vec<String>,
    ) -> Self {
        Self {
            inner: core_ex::Guard::with_options(
                engine,
                Options {
                    resource_metadata_url: url,
                    max_pending,
                    challenge_scopes,
                },
            ),
        }
    }
}

#[pymethods]
impl Guard {
    /// A new session: one per MCP session (`Mcp-Session-Id`), and one per request that
    /// belongs to none.
    fn session(&self) -> Session {
        Session {
            inner: self.inner.session(),
            engine: self.inner.engine().clone(),
        }
    }

    /// Judges one client POST body with its request headers (`(name, value)` pairs, `bytes`
    /// or `str`, so a header sent twice is seen; a `dict` works too), the context conditions
    /// read, and its session (a fresh one when `None`). Returns `Forward` (send the body on
    /// with `Forward.content_type`, judge the answer with `Forward.exchange`) or `Reply`
    /// (answer the client with it; forward nothing).
    #[pyo3(signature = (body, headers=None, context=None, session=None))]
    fn client(
        &self,
        py: Python<'_>,
        body: &Bound<'_, PyAny>,
        headers: Option<&Bound<'_, PyAny>>,
        context: Option<&Bound<'_, PyAny>>,
        session: Option<&Bound<'_, Session>>,
    ) -> PyResult<Py<PyAny>> {
        let bytes = json_input(body, "body")?;
        let pairs = header_pairs(headers)?;
        let ctx = context_arg(context)?;
        let session = match session {
            Some(s) => s.get().inner.clone(),
            None => self.inner.session(),
        };
        let facts =
            RequestFacts::from_headers(pairs.iter().map(|(n, v)| (n.as_slice(), v.as_slice())));
        let guard = &self.inner;
        let run = || {
            let v = guard.client(&bytes, &facts, &ctx, &session);
            let a = answer::client_verdict(&v);
            (v, a)
        };
        let (verdict, a) = if bytes.len() >= DETACH_BYTES {
            py.detach(run)
        } else {
            run()
        };
        Ok(match verdict {
            ClientVerdict::Forward(f) => {
                let exchange = Exchange::new(f.exchange, self.inner.engine().clone());
                Bound::new(
                    py,
                    Forward {
                        exchange: Py::new(py, exchange)?,
                        content_type: f.content_type,
                        answer: a,
                    },
                )?
                .into_any()
                .unbind()
            }
            ClientVerdict::Reply(r) => Bound::new(
                py,
                Reply {
                    inner: r,
                    answer: a,
                },
            )?
            .into_any()
            .unbind(),
        })
    }

    /// An exchange for a stream the client opened without a request: the GET stream of a
    /// session, or a resumed one (`last_event_id` from the `Last-Event-ID` header), which
    /// takes over the waiting requests of the stream that passed that event.
    #[pyo3(signature = (session, last_event_id=None))]
    fn stream(
        &self,
        session: &Bound<'_, Session>,
        last_event_id: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Exchange> {
        let last = match last_event_id.filter(|l| !l.is_none()) {
            Some(l) => Some(input_bytes(l, "last_event_id")?.into_owned()),
            None => None,
        };
        let ex = self.inner.stream(&session.get().inner, last.as_deref());
        Ok(Exchange::new(ex, self.inner.engine().clone()))
    }

    /// The resource metadata URL named in step-up challenges.
    #[getter]
    fn resource_metadata_url(&self) -> Option<String> {
        self.inner.options().resource_metadata_url.clone()
    }

    /// The resource's own scopes, named first in step-up challenges.
    #[getter]
    fn challenge_scopes(&self) -> Vec<String> {
        self.inner.options().challenge_scopes.clone()
    }

    /// Most requests of one session waiting for answers.
    #[getter]
    fn max_pending(&self) -> usize {
        self.inner.options().max_pending
    }

    fn __repr__(&self) -> String {
        format!("Guard(max_pending={})", self.inner.options().max_pending)
    }
}

/// The state of one MCP session that its exchanges share: waiting requests, refused server
/// requests, the negotiated revision, where streams resume. Thread-safe.
#[pyclass(frozen, module = "mcp_policy._native")]
#[derive(Debug)]
pub struct Session {
    inner: core_ex::Session,
    engine: Arc<Engine>,
}

#[pymethods]
impl Session {
    /// Whether the session outlives its exchanges (the host keeps it under a session id, so
    /// a stream can be resumed with `Last-Event-ID`). Default `False`. Set it no later than
    /// the head of the answer that names the session: until then the session's streams keep
    /// no resume points.
    fn set_resumable(&self, resumable: bool) {
        self.inner.set_resumable(resumable);
    }

    /// How many client requests wait for their answers.
    #[getter]
    fn pending_count(&self) -> usize {
        self.inner.pending_count()
    }

    /// Where a message the server sent goes, for hosts that receive a session's messages on
    /// one channel (a stdio process): the id of the exchange it answers (`Exchange.id`),
    /// `"unsolicited"` (judge it with the GET stream's exchange) or `"unreadable"` (fail the
    /// session's requests with `fail_all`).
    fn route<'py>(
        &self,
        py: Python<'py>,
        message: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let bytes = json_input(message, "message")?;
        Ok(match self.inner.route(&bytes, self.engine.limits()) {
            Route::Exchange(id) => id.into_pyobject(py)?.into_any(),
            Route::Unsolicited => "unsolicited".into_pyobject(py)?.into_any(),
            Route::Unreadable => "unreadable".into_pyobject(py)?.into_any(),
        })
    }

    /// Answers every waiting request with an error (`code`, `message`): returns, for each,
    /// the id of the exchange that carried it and the error response to deliver on its
    /// stream.
    #[pyo3(signature = (message, code=-32603))]
    fn fail_all<'py>(
        &self,
        py: Python<'py>,
        message: &str,
        code: i32,
    ) -> Vec<(u64, Bound<'py, PyBytes>)> {
        self.inner
            .fail_all(code, message)
            .into_iter()
            .map(|(id, body)| (id, PyBytes::new(py, &body)))
            .collect()
    }

    fn __repr__(&self) -> String {
        format!("Session(pending={})", self.inner.pending_count())
    }
}

/// The state of one HTTP exchange (or stream) on the server side: judges what the server
/// sends back. Hold it for the whole stream; thread-safe, but its calls are meant to come in
/// stream order.
#[pyclass(frozen, module = "mcp_policy._native")]
#[derive(Debug)]
pub struct Exchange {
    inner: Mutex<core_ex::Exchange>,
    id: u64,
    session: core_ex::Session,
    engine: Arc<Engine>,
}

fn failure(name: &str) -> PyResult<Failure> {
    Ok(match name {
        "unreachable" => Failure::Unreachable,
        "timeout" => Failure::Timeout,
        "broken" => Failure::Broken,
        "shutting_down" => Failure::ShuttingDown,
        "unjudgeable" => Failure::Unjudgeable,
        other => {
            return Err(errors::plain(
                ErrorCode::InvalidArgument,
                format!(
                    "failure must be one of \"unreachable\", \"timeout\", \"broken\", \
                     \"shutting_down\", \"unjudgeable\"; not {other:?}"
                ),
            ));
        }
    })
}

impl Exchange {
    fn new(inner: core_ex::Exchange, engine: Arc<Engine>) -> Self {
        Self {
            id: inner.id(),
            session: inner.session().clone(),
            inner: Mutex::new(inner),
            engine,
        }
    }

    /// Runs `f` on the exchange; with the GIL released when `big`. Never blocks on the lock
    /// while holding the GIL (a thread working with the GIL released needs it back to
    /// return, which would deadlock).
    fn with<T: Send>(
        &self,
        py: Python<'_>,
        big: bool,
        f: impl FnOnce(&mut core_ex::Exchange) -> T + Send,
    ) -> T {
        if !big {
            match self.inner.try_lock() {
                Ok(mut g) => return f(&mut g),
                Err(TryLockError::Poisoned(p)) => return f(&mut p.into_inner()),
                Err(TryLockError::WouldBlock) => {}
            }
        }
        py.detach(|| {
            let mut g: MutexGuard<'_, _> = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut g)
        })
    }
}

#[pymethods]
impl Exchange {
    /// This exchange's number in its session (`Session.route` names it).
    #[getter]
    fn id(&self) -> u64 {
        self.id
    }

    /// How many requests of the client body wait for their answers here.
    #[getter]
    fn waiting(&self, py: Python<'_>) -> usize {
        self.with(py, false, |e| e.waiting())
    }

    /// The session it belongs to.
    #[getter]
    fn session(&self) -> Session {
        Session {
            inner: self.session.clone(),
            engine: self.engine.clone(),
        }
    }

    /// Reads the server's response head: returns `"stream"` (send the status with
    /// `Content-Type: text/event-stream`, then what each `server_chunk` and `finish` return)
    /// or `"whole"` (read the whole body, then send what `server_body` makes of it).
    #[pyo3(signature = (status, content_type=None, content_encoding=None))]
    fn server_head(
        &self,
        py: Python<'_>,
        status: u16,
        content_type: Option<&Bound<'_, PyAny>>,
        content_encoding: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<&'static str> {
        let opt = |x: Option<&Bound<'_, PyAny>>, what: &str| -> PyResult<Option<Vec<u8>>> {
            match x.filter(|v| !v.is_none()) {
                Some(v) => Ok(Some(input_bytes(v, what)?.into_owned())),
                None => Ok(None),
            }
        };
        let ct = opt(content_type, "content_type")?;
        let ce = opt(content_encoding, "content_encoding")?;
        Ok(self.with(py, false, |e| {
            match e.server_head(status, ct.as_deref(), ce.as_deref()) {
                Head::Stream => "stream",
                Head::Whole => "whole",
            }
        }))
    }

    /// Feeds a chunk of the server's event stream, split anywhere: returns the whole events
    /// to send on (`Step.to_client`), the bodies to POST to the server (`Step.to_server`), and
    /// whether the stream must end (`Step.end`).
    #[pyo3(signature = (chunk, context=None))]
    fn server_chunk(
        &self,
        py: Python<'_>,
        chunk: &Bound<'_, PyAny>,
        context: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Step> {
        let bytes = input_bytes(chunk, "chunk")?;
        let ctx = context_arg(context)?;
        let big = bytes.len() >= DETACH_BYTES;
        let step = self.with(py, big, |e| e.server_chunk(&bytes, &ctx));
        Ok(Step { inner: step })
    }

    /// The end of the server's event stream: errors for requests left unanswered (unless the
    /// stream can be resumed).
    fn finish(&self, py: Python<'_>) -> Step {
        Step {
            inner: self.with(py, false, |e| e.finish()),
        }
    }

    /// Judges the server's whole body after `server_head` said `"whole"`.
    #[pyo3(signature = (body, context=None))]
    fn server_body(
        &self,
        py: Python<'_>,
        body: &Bound<'_, PyAny>,
        context: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Answer> {
        let bytes = input_bytes(body, "body")?;
        let ctx = context_arg(context)?;
        let big = bytes.len() >= DETACH_BYTES;
        let a = self.with(py, big, |e| e.server_body(&bytes, &ctx));
        Ok(Answer {
            inner: a,
            original: bytes.into_owned(),
        })
    }

    /// Judges one server message that arrived on its own (a stdio line). Raises the message's
    /// error when it cannot be read (nothing of it may be delivered).
    #[pyo3(signature = (message, context=None))]
    fn server_message(
        &self,
        py: Python<'_>,
        message: &Bound<'_, PyAny>,
        context: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Delivery> {
        let bytes = json_input(message, "message")?;
        let ctx = context_arg(context)?;
        let big = bytes.len() >= DETACH_BYTES;
        match self.with(py, big, |e| e.server_message(&bytes, &ctx)) {
            Ok(d) => Ok(Delivery { inner: d }),
            Err(e) => Err(errors::core(&e)),
        }
    }

    /// The server failed before its answer head (`failure`: `"unreachable"`, `"timeout"`,
    /// `"broken"`, `"shutting_down"`, `"unjudgeable"`): the reply to send the client, an
    /// error for each request waiting here.
    fn fail_reply(&self, py: Python<'_>, failure_kind: &str, detail: &str) -> PyResult<Reply> {
        let f = failure(failure_kind)?;
        let r = self.with(py, false, |e| e.fail_reply(f, detail));
        let a = answer::of(&r);
        Ok(Reply {
            inner: r,
            answer: a,
        })
    }

    /// The server failed during its event stream: the events answering each request waiting
    /// here with an error; the stream ends.
    fn fail_stream(&self, py: Python<'_>, failure_kind: &str, detail: &str) -> PyResult<Step> {
        let f = failure(failure_kind)?;
        Ok(Step {
            inner: self.with(py, false, |e| e.fail_stream(f, detail)),
        })
    }

    fn __repr__(&self) -> String {
        format!("Exchange(id={})", self.id)
    }
}

/// The client body may go to the server: send it with `content_type`, and judge the answer
/// with `exchange`.
#[pyclass(frozen, module = "mcp_policy._native")]
#[derive(Debug)]
pub struct Forward {
    exchange: Py<Exchange>,
    content_type: &'static str,
    answer: Value,
}

#[pymethods]
impl Forward {
    /// Judges what the server sends back for this body.
    #[getter]
    fn exchange(&self, py: Python<'_>) -> Py<Exchange> {
        self.exchange.clone_ref(py)
    }

    /// The `Content-Type` to forward the body with: exactly what it was judged as.
    #[getter]
    fn content_type(&self) -> &'static str {
        self.content_type
    }

    /// What the body held (`method`, `subject`, `requests`, `initialize`, `firstId`).
    #[getter]
    fn summary<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.answer["summary"])
    }

    /// The verdict in the engine's answer format (`answer::client_verdict`).
    #[getter]
    fn answer<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.answer)
    }

    fn __repr__(&self) -> String {
        format!("Forward(content_type={:?})", self.content_type)
    }
}

/// An HTTP answer the engine wrote, to send the client instead of forwarding.
#[pyclass(frozen, module = "mcp_policy._native")]
#[derive(Debug)]
pub struct Reply {
    inner: core_ex::Reply,
    answer: Value,
}

#[pymethods]
impl Reply {
    /// HTTP status.
    #[getter]
    fn status(&self) -> u16 {
        self.inner.status
    }

    /// `Content-Type` of `body`; `None` when the body is empty.
    #[getter]
    fn content_type(&self) -> Option<&'static str> {
        self.inner.content_type
    }

    /// A `WWW-Authenticate` header to send (the step-up challenge), or `None`.
    #[getter]
    fn www_authenticate(&self) -> Option<String> {
        self.inner.www_authenticate.clone()
    }

    /// The headers to send, as `(name, value)` pairs.
    #[getter]
    fn headers(&self) -> Vec<(&'static str, String)> {
        self.inner
            .headers()
            .into_iter()
            .map(|(n, v)| (n, v.to_owned()))
            .collect()
    }

    /// The body (JSON-RPC error responses).
    #[getter]
    fn body<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.body)
    }

    /// Why: `"denied"`, `"invalid"`, `"dropped"` or `"failed"`.
    #[getter]
    fn kind<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &answer::of(&self.inner.kind))
    }

    /// The JSON-RPC error code the body carries (the first, for a batch).
    #[getter]
    fn error_code(&self) -> Option<i32> {
        self.inner.error_code
    }

    /// What the client body held.
    #[getter]
    fn summary<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &answer::of(&self.inner.summary))
    }

    /// The reply in the engine's answer format (`answer::client_verdict` for a client
    /// verdict, `answer::of` for `fail_reply`).
    #[getter]
    fn answer<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.answer)
    }

    fn __repr__(&self) -> String {
        format!(
            "Reply(status={}, kind={:?}, error_code={:?})",
            self.inner.status,
            self.inner.kind.as_str(),
            self.inner.error_code
        )
    }
}

fn bytes_list<'py>(py: Python<'py>, v: &[Vec<u8>]) -> PyResult<Bound<'py, PyList>> {
    PyList::new(py, v.iter().map(|b| PyBytes::new(py, b)))
}

/// What to send after one step of a server stream.
#[pyclass(frozen, module = "mcp_policy._native")]
#[derive(Debug)]
pub struct Step {
    inner: core_ex::Step,
}

#[pymethods]
impl Step {
    /// Bytes to send to the client now (whole SSE events).
    #[getter]
    fn to_client<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.to_client)
    }

    /// JSON-RPC bodies to POST to the server, each on its own.
    #[getter]
    fn to_server<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        bytes_list(py, &self.inner.to_server)
    }

    /// The stream must end once `to_client` is sent.
    #[getter]
    fn end(&self) -> bool {
        self.inner.end
    }

    /// What happened, for logs (`answered`, `withheld`, `refused`, `dropped`, `hidden`,
    /// `failed`, `errorCode`, `failure`).
    #[getter]
    fn notes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &answer::of(&self.inner.notes))
    }

    /// The step in the engine's answer format.
    #[getter]
    fn answer<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &answer::of(&self.inner))
    }

    fn __repr__(&self) -> String {
        format!(
            "Step(to_client={} bytes, to_server={}, end={})",
            self.inner.to_client.len(),
            self.inner.to_server.len(),
            if self.inner.end { "True" } else { "False" }
        )
    }
}

/// The server's whole answer, judged: what to send the client instead.
#[pyclass(frozen, module = "mcp_policy._native")]
#[derive(Debug)]
pub struct Answer {
    inner: core_ex::Answer,
    original: Vec<u8>,
}

#[pymethods]
impl Answer {
    /// HTTP status to send.
    #[getter]
    fn status(&self) -> u16 {
        self.inner.status
    }

    /// `Content-Type` to send; `None` for an empty body.
    #[getter]
    fn content_type(&self) -> Option<&'static str> {
        self.inner.content_type
    }

    /// The body to send (the server's own bytes when the engine kept them).
    #[getter]
    fn body<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.inner.body.as_deref().unwrap_or(&self.original))
    }

    /// Whether `body` is the server's body exactly as received.
    #[getter]
    fn unchanged(&self) -> bool {
        self.inner.body.is_none()
    }

    /// JSON-RPC bodies to POST to the server.
    #[getter]
    fn to_server<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        bytes_list(py, &self.inner.to_server)
    }

    /// What happened, for logs.
    #[getter]
    fn notes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &answer::of(&self.inner.notes))
    }

    /// The answer in the engine's answer format (`body: None` = the server's body as it was).
    #[getter]
    fn answer<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &answer::of(&self.inner))
    }

    fn __repr__(&self) -> String {
        format!(
            "Answer(status={}, content_type={:?}, unchanged={})",
            self.inner.status,
            self.inner.content_type,
            if self.inner.body.is_none() {
                "True"
            } else {
                "False"
            }
        )
    }
}

/// One server message judged (a stdio line).
#[pyclass(frozen, module = "mcp_policy._native")]
#[derive(Debug)]
pub struct Delivery {
    inner: core_ex::Delivery,
}

#[pymethods]
impl Delivery {
    /// The message (or batch) to deliver to the client, or `None`.
    #[getter]
    fn message<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.inner.message.as_deref().map(|m| PyBytes::new(py, m))
    }

    /// JSON-RPC bodies to send to the server.
    #[getter]
    fn to_server<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        bytes_list(py, &self.inner.to_server)
    }

    /// What happened, for logs.
    #[getter]
    fn notes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &answer::of(&self.inner.notes))
    }

    /// The delivery in the engine's answer format.
    #[getter]
    fn answer<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &answer::of(&self.inner))
    }

    fn __repr__(&self) -> String {
        format!(
            "Delivery(message={}, to_server={})",
            if self.inner.message.is_some() {
                "yes"
            } else {
                "None"
            },
            self.inner.to_server.len()
        )
    }
}
