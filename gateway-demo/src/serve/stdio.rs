//! Stdio backends: one child process per MCP session, bridged to Streamable HTTP.
//!
//! Here the gateway is the HTTP server itself. Each POST carrying requests gets its own SSE
//! stream, closed once every request in it is answered; messages the process sends on its own
//! go to the stream they belong to when that is knowable (progress of a request), else to the
//! session's GET stream, else to the newest open POST stream, else they wait for a GET stream.
//! Every event gets an id `<stream>-<seq>` and the recent events of each stream are kept, so a
//! client can resume with `Last-Event-ID` after a dropped connection.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, StatusCode};
use mcp_policy::jsonrpc::{Message, MessageKind};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::mpsc;

use super::guard::{PassThroughGuard, RequestMeta, ServerVerdict, jsonrpc_error};
use super::log::{self, Exchange};
use super::proxy::{MessageInfo, SESSION_HEADER, channel_body, id_key, raw_key, respond};
use super::session::{Session, Upstream, mint_id};
use super::sse::SseEvent;
use super::{Api, Resp, Shared};

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
    /// Requests of this stream still unanswered.
    open: usize,
    done: bool,
    /// Logged when the stream completes.
    exchange: Option<Exchange>,
}

impl Stream {
    fn new(open: usize, sink: mpsc::Sender<Bytes>, exchange: Option<Exchange>) -> Self {
        Self {
            events: VecDeque::new(),
            next_seq: 0,
            sink: Some(sink),
            open,
            done: false,
            exchange,
        }
    }

    fn live(&self) -> bool {
        !self.done && self.sink.as_ref().is_some_and(|s| !s.is_closed())
    }

    fn push(&mut self, sid: u64, data: Option<&[u8]>) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let id = Some(format!("{sid}-{seq}").into_bytes());
        let ev = match data {
            Some(d) => SseEvent::message(id, d.to_vec()),
            // The priming event: an id to resume from before any message was sent.
            None => SseEvent {
                id,
                data: Some(Vec::new()),
                ..SseEvent::default()
            },
        };
        let bytes = Bytes::from(ev.to_bytes());
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

    fn finish(&mut self) {
        self.done = true;
        self.sink = None;
        self.exchange = None;
    }
}

#[derive(Debug, Default)]
struct State {
    next_stream: u64,
    streams: HashMap<u64, Stream>,
    /// Request id key → (stream, request body).
    pending: HashMap<String, (u64, Bytes)>,
    /// Progress token key → stream.
    progress: HashMap<String, u64>,
    get_stream: Option<u64>,
    backlog: VecDeque<Bytes>,
    ended: bool,
}

impl State {
    fn complete_one(&mut self, sid: u64) {
        let Some(s) = self.streams.get_mut(&sid) else {
            return;
        };
        s.open = s.open.saturating_sub(1);
        if s.open > 0 || Some(sid) == self.get_stream {
            return;
        }
        s.finish();
        self.progress.retain(|_, v| *v != sid);
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
    meta: RequestMeta,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Starts the process of a new session and registers the session.
pub(crate) fn start(
    shared: &Arc<Shared>,
    api: &Api,
    command: &[String],
    cwd: Option<&Path>,
    env: &[(String, String)],
    meta: &RequestMeta,
) -> Result<Arc<Session>, String> {
    let label = api.backend_label();
    let (program, args) = command.split_first().ok_or("empty backend command")?;
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
        .map_err(|e| format!("Backend {label} could not start: {e}"))?;
    let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return Err(format!("Backend {label}: no stdio pipes"));
    };
    let id = mint_id();
    let mut meta = meta.clone();
    meta.session_id = Some(Arc::from(id.as_str()));
    let proc = Arc::new(StdioSession {
        api: api.name.clone(),
        session_id: id.clone(),
        shared: Arc::downgrade(shared),
        stdin: tokio::sync::Mutex::new(Some(stdin)),
        child: Mutex::new(Some(child)),
        state: Mutex::new(State::default()),
        meta,
    });
    let session = Arc::new(Session::with_id(
        id,
        api.name.clone(),
        Upstream::Stdio(proc.clone()),
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
                if let Some(answer) = proc.dispatch(line.trim_ascii())
                    && let Err(e) = proc.write_line(&answer).await
                {
                    break e;
                }
            }
            Err(e) => break format!("reading from the backend failed: {e}"),
        }
    };
    proc.end(&why);
}

impl StdioSession {
    fn guard(&self) -> Arc<dyn super::guard::Guard> {
        self.shared
            .upgrade()
            .and_then(|s| s.runtime().api(&self.api).map(|a| a.guard.clone()))
            .unwrap_or_else(|| Arc::new(PassThroughGuard::new(mcp_policy::Limits::default())))
    }

    fn limits(&self) -> mcp_policy::Limits {
        self.shared
            .upgrade()
            .and_then(|s| s.runtime().api(&self.api).map(|a| a.limits.clone()))
            .unwrap_or_default()
    }

    /// Whether a client still holds a stream of this session open.
    pub(crate) fn has_open_streams(&self) -> bool {
        lock(&self.state).streams.values().any(Stream::live)
    }

    /// One line from the process. Returns what to write back to the process: the error
    /// answer to a request of its that the policy refused.
    fn dispatch(&self, line: &[u8]) -> Option<Bytes> {
        if line.is_empty() {
            return None;
        }
        let limits = self.limits();
        let Ok(msg) = Message::parse(line, &limits) else {
            self.unreadable();
            return None;
        };
        let is_answer = matches!(
            msg.kind(),
            MessageKind::Response | MessageKind::ErrorResponse
        );
        if is_answer {
            let key = msg.id().map(|i| id_key(&i)).unwrap_or_default();
            let Some((sid, request)) = lock(&self.state).pending.remove(&key) else {
                log::warn(&format!(
                    "api {:?}: session {}: answer to unknown request id {key}; dropped",
                    self.api, self.session_id
                ));
                return None;
            };
            let verdict = self
                .guard()
                .server_message(line, &self.meta, Some(&request));
            let mut st = lock(&self.state);
            if let Some(s) = st.streams.get_mut(&sid) {
                if let Some(ex) = s.exchange.as_mut()
                    && msg.kind() == MessageKind::ErrorResponse
                {
                    ex.rpc_error = msg
                        .error()
                        .and_then(|e| e.get("code"))
                        .and_then(|c| c.as_i64());
                }
                match &verdict {
                    ServerVerdict::Pass => s.push(sid, Some(line)),
                    ServerVerdict::Replace(b) => s.push(sid, Some(b)),
                    // The client waits for this answer: withholding it must not hang the call.
                    // (`Refuse` is for server requests; an answer never gets it.)
                    ServerVerdict::Drop | ServerVerdict::Refuse(_) | ServerVerdict::Invalid(_) => s
                        .push(
                            sid,
                            Some(&jsonrpc_error(
                                Some(&key),
                                -32603,
                                "Response withheld by the gateway",
                            )),
                        ),
                }
            }
            st.complete_one(sid);
            return None;
        }
        let verdict = self.guard().server_message(line, &self.meta, None);
        let data: Bytes = match verdict {
            ServerVerdict::Pass => Bytes::copy_from_slice(line),
            ServerVerdict::Replace(b) => b,
            ServerVerdict::Drop | ServerVerdict::Invalid(_) => return None,
            ServerVerdict::Refuse(answer) => {
                log::info(&format!(
                    "api {:?}: session {}: a server request denied by policy was answered \
                     with an error",
                    self.api, self.session_id
                ));
                return Some(answer);
            }
        };
        let progress_stream = (msg.method() == Some("notifications/progress"))
            .then(|| msg.params().and_then(|p| p.get("progressToken")))
            .flatten()
            .map(|t| raw_key(&t));
        let mut st = lock(&self.state);
        let target = progress_stream
            .and_then(|k| st.progress.get(&k).copied())
            .filter(|sid| st.streams.get(sid).is_some_and(|s| !s.done))
            .or_else(|| st.route_unsolicited());
        match target.and_then(|sid| st.streams.get_mut(&sid).map(|s| (sid, s))) {
            Some((sid, s)) => s.push(sid, Some(&data)),
            None => {
                if st.backlog.len() == BACKLOG {
                    st.backlog.pop_front();
                }
                st.backlog.push_back(data);
            }
        }
        None
    }

    /// A line that is not one JSON-RPC message: never delivered. It may have been the answer
    /// to any request still waiting, and nothing says which, so every one of them gets a
    /// `-32603` error (as the HTTP backend does for an unreadable event) instead of waiting
    /// forever. The process keeps running: a stray log line on stdout should not end the
    /// session, and answers arriving later for those ids are dropped as unknown.
    fn unreadable(&self) {
        let mut st = lock(&self.state);
        let pending: Vec<(String, (u64, Bytes))> = st.pending.drain().collect();
        log::warn(&format!(
            "api {:?}: session {}: the backend wrote a line that is not one JSON-RPC message; \
             dropped{}",
            self.api,
            self.session_id,
            if pending.is_empty() {
                String::new()
            } else {
                format!(
                    ", {} waiting request(s) answered with an error",
                    pending.len()
                )
            }
        ));
        let msg = format!(
            "Backend process of api {:?} wrote a message the gateway cannot read",
            self.api
        );
        for (key, (sid, _)) in pending {
            if let Some(s) = st.streams.get_mut(&sid) {
                s.push(sid, Some(&jsonrpc_error(Some(&key), -32603, &msg)));
                if let Some(ex) = s.exchange.as_mut() {
                    ex.decision = "error";
                    ex.rpc_error = Some(-32603);
                    ex.detail = Some(msg.clone());
                }
            }
            st.complete_one(sid);
        }
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

    /// A client POST (already allowed by the guard).
    pub(crate) async fn post(
        &self,
        body: Bytes,
        info: &MessageInfo,
        session_id: &str,
        mut ex: Exchange,
    ) -> Resp {
        if info.request_ids.is_empty() {
            if let Err(e) = self.write_line(&body).await {
                self.end(&e);
                return super::proxy::rpc_error(
                    &mut ex,
                    StatusCode::NOT_FOUND,
                    None,
                    -32001,
                    "Session not found",
                );
            }
            return respond(&mut ex, StatusCode::ACCEPTED, None, Bytes::new());
        }
        let (tx, rx) = mpsc::channel(SINK_CAPACITY);
        ex.status = 200;
        {
            let mut st = lock(&self.state);
            if st.ended {
                drop(st);
                return super::proxy::rpc_error(
                    &mut ex,
                    StatusCode::NOT_FOUND,
                    None,
                    -32001,
                    "Session not found",
                );
            }
            st.next_stream += 1;
            let sid = st.next_stream;
            let mut stream = Stream::new(info.request_ids.len(), tx, Some(ex));
            stream.push(sid, None);
            st.streams.insert(sid, stream);
            for id in &info.request_ids {
                st.pending.insert(id.clone(), (sid, body.clone()));
            }
            for t in &info.progress_tokens {
                st.progress.insert(t.clone(), sid);
            }
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
        mut ex: Exchange,
    ) -> Resp {
        let (tx, rx) = mpsc::channel(SINK_CAPACITY);
        let mut st = lock(&self.state);
        if st.ended {
            drop(st);
            return super::proxy::rpc_error(
                &mut ex,
                StatusCode::NOT_FOUND,
                None,
                -32001,
                "Session not found",
            );
        }
        let resume = last_event_id.and_then(|l| {
            let (sid, seq) = l.split_once('-')?;
            Some((sid.parse::<u64>().ok()?, seq.parse::<u64>().ok()?))
        });
        if let Some((sid, seq)) = resume
            && let Some(s) = st.streams.get_mut(&sid)
        {
            for (_, ev) in s.events.iter().filter(|(n, _)| *n > seq) {
                let _ = tx.try_send(ev.clone());
            }
            if !s.done {
                // The resumed stream continues on this connection.
                s.sink = Some(tx);
            }
            ex.status = 200;
            return sse_response(rx, session_id);
        }
        if st
            .get_stream
            .and_then(|g| st.streams.get(&g))
            .is_some_and(Stream::live)
        {
            drop(st);
            return super::proxy::rpc_error(
                &mut ex,
                StatusCode::CONFLICT,
                None,
                -32000,
                "Conflict: Only one SSE stream is allowed per session",
            );
        }
        if let Some(old) = st.get_stream.take() {
            st.streams.remove(&old);
        }
        st.next_stream += 1;
        let sid = st.next_stream;
        let mut stream = Stream::new(0, tx, None);
        stream.push(sid, None);
        for data in std::mem::take(&mut st.backlog) {
            stream.push(sid, Some(&data));
        }
        st.streams.insert(sid, stream);
        st.get_stream = Some(sid);
        ex.status = 200;
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
            let pending: Vec<(String, (u64, Bytes))> = st.pending.drain().collect();
            for (key, (sid, _)) in pending {
                if let Some(s) = st.streams.get_mut(&sid) {
                    let msg = format!("Backend process of api {:?} ended: {why}", self.api);
                    s.push(sid, Some(&jsonrpc_error(Some(&key), -32603, &msg)));
                    if let Some(ex) = s.exchange.as_mut() {
                        ex.decision = "error";
                        ex.rpc_error = Some(-32603);
                        ex.detail = Some(msg);
                    }
                }
            }
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
