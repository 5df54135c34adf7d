//! Stdio backends: one child process per MCP session, bridged to Streamable HTTP.
//!
//! Here the gateway is the HTTP server itself. Each POST carrying requests gets its own SSE
//! stream, closed once every request in it is answered. The process writes every message of
//! the session on its stdout; the engine says which request a line answers or reports progress
//! of ([`CoreSession::route`]), and the line is judged by that request's exchange and sent on
//! its stream. Other messages are judged for the stream they go to: the session's GET stream,
//! else the newest open POST stream, else they wait for a GET stream. Every event gets an id
//! `<stream>-<seq>` and the recent events of each stream are kept, so a client can resume with
//! `Last-Event-ID` after a dropped connection.

use std::collections::{HashMap, VecDeque};
use std::process::Stdio;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, StatusCode};
use mcp_policy::Context;
use mcp_policy::exchange::{Exchange, Forward, Route, Session as CoreSession};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::mpsc;

use super::guard::ApiGuard;
use super::log::{self, Record};
use super::replies::{GatewayError, Resp, channel_body, respond};
use super::seal::Bound;
use super::session::{Session, Upstream, mint};
use super::{Api, SESSION_HEADER, Shared};

/// Events kept per stream for resumption.
const KEPT_EVENTS: usize = 256;
/// Finished streams kept for resumption.
const KEPT_DONE_STREAMS: usize = 32;
/// Buffered events per client connection before the connection is dropped (the client can
/// resume from what it received).
const SINK_CAPACITY: usize = 256;
/// Messages kept for a GET stream that is not open yet.
const BACKLOG: usize = 256;

#[derive(Debug)]
struct Stream {
    events: VecDeque<(u64, Bytes)>,
    next_seq: u64,
    sink: Option<mpsc::Sender<Bytes>>,
    /// The engine's exchange of the POST that opened the stream (none for the GET stream): it
    /// judges every answer to the POST's requests.
    exchange: Option<Exchange>,
    /// What conditions read when judging messages sent on this stream (owned: the stream
    /// outlives its request).
    ctx: Context<'static>,
    done: bool,
    /// Logged when the stream completes.
    record: Option<Record>,
}

impl Stream {
    fn new(
        exchange: Option<Exchange>,
        ctx: Context<'static>,
        sink: mpsc::Sender<Bytes>,
        record: Option<Record>,
    ) -> Self {
        Self {
            events: VecDeque::new(),
            next_seq: 0,
            sink: Some(sink),
            exchange,
            ctx,
            done: false,
            record,
        }
    }

    fn live(&self) -> bool {
        !self.done && self.sink.as_ref().is_some_and(|s| !s.is_closed())
    }

    /// Sends one message event (`None`: the priming event, an id to resume from before any
    /// message was sent).
    fn push(&mut self, sid: u64, data: Option<&[u8]>) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let id = format!("{sid}-{seq}");
        let mut ev = Vec::with_capacity(data.map_or(0, <[u8]>::len) + 40);
        match data {
            Some(d) => mcp_policy::sse::write_message(&mut ev, Some(id.as_bytes()), d),
            None => mcp_policy::sse::Event {
                id: Some(id.into_bytes()),
                data: Some(Vec::new()),
                ..mcp_policy::sse::Event::default()
            }
            .write(&mut ev),
        }
        let bytes = Bytes::from(ev);
        if self.events.len() == KEPT_EVENTS {
            self.events.pop_front();
        }
        self.events.push_back((seq, bytes.clone()));
        if let Some(tx) = &self.sink
            && tx.try_send(bytes).is_err()
        {
            // Closed, or the client reads too slowly: drop the connection; the client can
            // resume with Last-Event-ID.
            self.sink = None;
        }
    }

    /// Whether every request of the stream's POST has its answer.
    fn answered(&self) -> bool {
        self.exchange.as_ref().is_none_or(|e| e.waiting() == 0)
    }

    fn finish(&mut self) {
        self.done = true;
        self.sink = None;
        self.record = None;
        self.exchange = None;
    }
}

#[derive(Debug, Default)]
struct State {
    next_stream: u64,
    streams: HashMap<u64, Stream>,
    /// The engine's exchange id → the stream of its POST.
    by_exchange: HashMap<u64, u64>,
    get_stream: Option<u64>,
    backlog: VecDeque<Bytes>,
    ended: bool,
}

impl State {
    /// Ends a POST stream whose requests are all answered, keeping it for resumption.
    fn complete_if_answered(&mut self, sid: u64) {
        let Some(s) = self.streams.get_mut(&sid) else {
            return;
        };
        if !s.answered() || Some(sid) == self.get_stream {
            return;
        }
        s.finish();
        self.by_exchange.retain(|_, v| *v != sid);
        let mut done: Vec<u64> = self
            .streams
            .iter()
            .filter(|(_, s)| s.done)
            .map(|(k, _)| *k)
            .collect();
        if done.len() > KEPT_DONE_STREAMS {
            done.sort_unstable();
            for k in &done[..done.len() - KEPT_DONE_STREAMS] {
                self.streams.remove(k);
            }
        }
    }

    fn route_unsolicited(&self) -> Option<u64> {
        if let Some(g) = self
            .get_stream
            .filter(|g| self.streams.get(g).is_some_and(Stream::live))
        {
            return Some(g);
        }
        self.streams
            .iter()
            .filter(|(_, s)| s.live())
            .map(|(k, _)| *k)
            .max()
    }
}

/// The process behind one session.
#[derive(Debug)]
pub(crate) struct StdioSession {
    api: Arc<str>,
    session_id: String,
    shared: Weak<Shared>,
    stdin: tokio::sync::Mutex<Option<ChildStdin>>,
    child: Mutex<Option<Child>>,
    state: Mutex<State>,
    /// The engine's state of the session (shared with every exchange of it).
    core: CoreSession,
    /// The context of the request that started the session: what conditions read about
    /// messages that belong to no request.
    ctx: Context<'static>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Starts the process of a new session and registers the session. `core` is the engine's
/// session the `initialize` request was judged in.
pub(crate) fn start(
    shared: &Arc<Shared>,
    api: &Api,
    core: CoreSession,
    ctx: Context<'static>,
    owner: Option<Arc<str>>,
) -> Result<Arc<Session>, GatewayError> {
    let label = api.backend_label();
    let super::config::Backend::Stdio { command, cwd, env } = &api.backend else {
        return Err(GatewayError::ProcessStart(format!(
            "Backend {label} is not a stdio command"
        )));
    };
    let (program, args) = command
        .split_first()
        .ok_or_else(|| GatewayError::ProcessStart("empty backend command".into()))?;
    let mut cmd = Command::new(program);
    cmd.args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    if let Some(d) = cwd {
        cmd.current_dir(d);
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| GatewayError::ProcessStart(format!("Backend {label} could not start: {e}")))?;
    let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return Err(GatewayError::ProcessStart(format!(
            "Backend {label}: no stdio pipes"
        )));
    };
    let id = mint(
        &shared.runtime().keys,
        &api.name,
        &Bound::Stdio,
        owner.as_deref(),
    );
    let proc = Arc::new(StdioSession {
        api: api.name.clone(),
        session_id: id.clone(),
        shared: Arc::downgrade(shared),
        stdin: tokio::sync::Mutex::new(Some(stdin)),
        child: Mutex::new(Some(child)),
        state: Mutex::new(State::default()),
        core: core.clone(),
        ctx,
    });
    let session = Arc::new(Session::with_id(
        id,
        api.name.clone(),
        Upstream::Stdio(proc.clone()),
        core,
        owner,
    ));
    shared.sessions.insert(session.clone());
    log::info(&format!(
        "api {:?}: session {} started {label}",
        api.name, session.id
    ));
    tokio::spawn(read_stdout(
        proc,
        stdout,
        api.config.limits.max_response_bytes,
    ));
    Ok(session)
}

async fn read_stdout(proc: Arc<StdioSession>, stdout: ChildStdout, max_line: usize) {
    let mut reader = BufReader::new(stdout);
    let mut line = Vec::new();
    let why = loop {
        line.clear();
        let mut limited = (&mut reader).take(max_line as u64 + 1);
        match limited.read_until(b'\n', &mut line).await {
            Ok(0) => break "the backend process exited".to_owned(),
            Ok(_) if line.len() > max_line => {
                break format!("the backend wrote a message larger than {max_line} bytes");
            }
            Ok(_) => {
                for answer in proc.dispatch(line.trim_ascii()) {
                    if let Err(e) = proc.write_line(&answer).await {
                        proc.end(&e);
                        return;
                    }
                }
            }
            Err(e) => break format!("reading from the backend failed: {e}"),
        }
    };
    proc.end(&why);
}

impl StdioSession {
    /// The API's engine now (a reload applies to running sessions).
    fn guard(&self) -> Option<ApiGuard> {
        self.shared
            .upgrade()
            .and_then(|s| s.runtime().api(&self.api).map(|a| a.guard.clone()))
    }

    /// Whether a client still holds a stream of this session open.
    pub(crate) fn has_open_streams(&self) -> bool {
        lock(&self.state).streams.values().any(Stream::live)
    }

    /// One line from the process, judged by the exchange it belongs to. Returns what to write
    /// back to the process: the error answers to its requests that the policy refused.
    fn dispatch(&self, line: &[u8]) -> Vec<Vec<u8>> {
        if line.is_empty() {
            return Vec::new();
        }
        let Some(guard) = self.guard() else {
            return Vec::new();
        };
        let limits = guard.guard.engine().limits().clone();
        match self.core.route(line, &limits) {
            Route::Unreadable => {
                self.unreadable();
                Vec::new()
            }
            Route::Exchange(xid) => {
                let mut st = lock(&self.state);
                let Some(sid) = st.by_exchange.get(&xid).copied() else {
                    drop(st);
                    return self.unsolicited(&guard, line);
                };
                let Some(stream) = st.streams.get_mut(&sid) else {
                    return Vec::new();
                };
                let Some(ex) = stream.exchange.as_mut() else {
                    return Vec::new();
                };
                let judged = ex.server_message(line, &stream.ctx);
                let to_server = match judged {
                    Ok(d) => {
                        if let Some(rec) = stream.record.as_mut()
                            && let Some(code) = d.notes.error_code
                        {
                            rec.rpc_error = Some(code);
                        }
                        if let Some(m) = &d.message {
                            stream.push(sid, Some(m));
                        }
                        d.to_server
                    }
                    Err(_) => {
                        drop(st);
                        self.unreadable();
                        return Vec::new();
                    }
                };
                st.complete_if_answered(sid);
                to_server
            }
            Route::Unsolicited => self.unsolicited(&guard, line),
        }
    }

    /// A message that belongs to no request: judged for the stream it goes to.
    fn unsolicited(&self, guard: &ApiGuard, line: &[u8]) -> Vec<Vec<u8>> {
        let mut ex = guard.guard.stream(&self.core, None);
        let Ok(d) = ex.server_message(line, &self.ctx) else {
            self.unreadable();
            return Vec::new();
        };
        if d.notes.refused > 0 {
            log::info(&format!(
                "api {:?}: session {}: a server request denied by policy was answered with an \
                 error",
                self.api, self.session_id
            ));
        }
        if let Some(data) = d.message {
            let mut st = lock(&self.state);
            match st
                .route_unsolicited()
                .and_then(|sid| st.streams.get_mut(&sid).map(|s| (sid, s)))
            {
                Some((sid, s)) => s.push(sid, Some(&data)),
                None => {
                    if st.backlog.len() == BACKLOG {
                        st.backlog.pop_front();
                    }
                    st.backlog.push_back(Bytes::from(data));
                }
            }
        }
        d.to_server
    }

    /// Delivers the engine's errors for waiting requests on their streams.
    fn deliver_errors(&self, st: &mut State, errors: Vec<(u64, Vec<u8>)>, why: &str) {
        for (xid, body) in errors {
            let Some(sid) = st.by_exchange.get(&xid).copied() else {
                continue;
            };
            if let Some(s) = st.streams.get_mut(&sid) {
                s.push(sid, Some(&body));
                if let Some(rec) = s.record.as_mut() {
                    rec.decision = "error";
                    rec.rpc_error = Some(-32603);
                    rec.detail = Some(why.to_owned());
                }
            }
            st.complete_if_answered(sid);
        }
    }

    /// A line that is not one JSON-RPC message: never delivered. It may have been the answer
    /// to any request still waiting, and nothing says which, so every one of them gets a
    /// `-32603` error (as the HTTP backend does for an unreadable event) instead of waiting
    /// forever. The process keeps running: a stray log line on stdout should not end the
    /// session, and answers arriving later for those ids are not delivered (nothing waits).
    fn unreadable(&self) {
        let msg = format!(
            "Backend process of api {:?} wrote a message the gateway cannot read",
            self.api
        );
        let errors = self.core.fail_all(-32603, &msg);
        log::warn(&format!(
            "api {:?}: session {}: the backend wrote a line that is not one JSON-RPC message; \
             dropped{}",
            self.api,
            self.session_id,
            if errors.is_empty() {
                String::new()
            } else {
                format!(
                    ", {} waiting request(s) answered with an error",
                    errors.len()
                )
            }
        ));
        let mut st = lock(&self.state);
        self.deliver_errors(&mut st, errors, &msg);
    }

    async fn write_line(&self, body: &[u8]) -> Result<(), String> {
        // JSON cannot hold a raw CR or LF inside a string, so every one of them is whitespace
        // between tokens and can become a space: the message then fits the stdio framing.
        let mut line: Vec<u8> = body
            .iter()
            .map(|&b| if b == b'\n' || b == b'\r' { b' ' } else { b })
            .collect();
        line.push(b'\n');
        let mut stdin = self.stdin.lock().await;
        let Some(w) = stdin.as_mut() else {
            return Err("the backend process has ended".into());
        };
        let res = async {
            w.write_all(&line).await?;
            w.flush().await
        }
        .await;
        res.map_err(|e| format!("writing to the backend failed: {e}"))
    }

    /// A client POST the engine let through, with its exchange and the context its answers
    /// are judged with.
    pub(crate) async fn post(
        &self,
        body: Bytes,
        forward: Forward,
        ctx: Context<'static>,
        session_id: &str,
        mut rec: Record,
    ) -> Resp {
        if forward.summary.requests == 0 {
            if let Err(e) = self.write_line(&body).await {
                self.end(&e);
                return GatewayError::SessionNotFound.respond(&mut rec, None);
            }
            return respond(&mut rec, StatusCode::ACCEPTED, None, Bytes::new());
        }
        let (tx, rx) = mpsc::channel(SINK_CAPACITY);
        rec.status = 200;
        {
            let mut st = lock(&self.state);
            if st.ended {
                drop(st);
                return GatewayError::SessionNotFound.respond(&mut rec, None);
            }
            st.next_stream += 1;
            let sid = st.next_stream;
            let xid = forward.exchange.id();
            let mut stream = Stream::new(Some(forward.exchange), ctx, tx, Some(rec));
            stream.push(sid, None);
            st.streams.insert(sid, stream);
            st.by_exchange.insert(xid, sid);
        }
        if let Err(e) = self.write_line(&body).await {
            self.end(&e);
        }
        sse_response(rx, session_id)
    }

    /// A client GET: the session's stream for unsolicited messages, or a resumption.
    pub(crate) fn get(
        &self,
        last_event_id: Option<&str>,
        session_id: &str,
        mut rec: Record,
    ) -> Resp {
        let (tx, rx) = mpsc::channel(SINK_CAPACITY);
        let mut st = lock(&self.state);
        if st.ended {
            drop(st);
            return GatewayError::SessionNotFound.respond(&mut rec, None);
        }
        let resume = last_event_id.and_then(|l| {
            let (sid, seq) = l.split_once('-')?;
            Some((sid.parse::<u64>().ok()?, seq.parse::<u64>().ok()?))
        });
        if let Some((sid, seq)) = resume
            && let Some(s) = st.streams.get_mut(&sid)
        {
            // Every kept event was judged when it was first sent.
            for (_, ev) in s.events.iter().filter(|(n, _)| *n > seq) {
                let _ = tx.try_send(ev.clone());
            }
            if !s.done {
                // The resumed stream continues on this connection.
                s.sink = Some(tx);
            }
            rec.status = 200;
            return sse_response(rx, session_id);
        }
        if st
            .get_stream
            .and_then(|g| st.streams.get(&g))
            .is_some_and(Stream::live)
        {
            drop(st);
            return GatewayError::StreamConflict.respond(&mut rec, None);
        }
        if let Some(old) = st.get_stream.take() {
            st.streams.remove(&old);
        }
        st.next_stream += 1;
        let sid = st.next_stream;
        let mut stream = Stream::new(None, Context::default(), tx, None);
        stream.push(sid, None);
        for data in std::mem::take(&mut st.backlog) {
            stream.push(sid, Some(&data));
        }
        st.streams.insert(sid, stream);
        st.get_stream = Some(sid);
        rec.status = 200;
        sse_response(rx, session_id)
    }

    /// Ends the session: requests still waiting get an error event, streams close, the process
    /// is killed and the session forgotten. Idempotent.
    pub(crate) fn end(&self, why: &str) {
        {
            let mut st = lock(&self.state);
            if st.ended {
                return;
            }
            st.ended = true;
            let msg = format!("Backend process of api {:?} ended: {why}", self.api);
            let errors = self.core.fail_all(-32603, &msg);
            self.deliver_errors(&mut st, errors, &msg);
            for s in st.streams.values_mut() {
                s.finish();
            }
        }
        if let Some(mut child) = lock(&self.child).take() {
            // The runtime reaps killed children in the background.
            let _ = child.start_kill();
        }
        if let Some(shared) = self.shared.upgrade() {
            shared.sessions.remove(&self.session_id);
        }
        log::info(&format!(
            "api {:?}: session {} ended: {why}",
            self.api, self.session_id
        ));
    }
}

fn sse_response(rx: mpsc::Receiver<Bytes>, session_id: &str) -> Resp {
    let mut r = http::Response::new(channel_body(rx));
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-transform"),
    );
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    if let Ok(v) = HeaderValue::from_str(session_id) {
        h.insert(SESSION_HEADER, v);
    }
    r
}
