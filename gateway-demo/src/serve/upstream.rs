//! Kept-alive HTTP/1.1 connections to an API's backend, and the client that speaks on them.
//!
//! An API has exactly one HTTP backend, so its idle connections are a plain stack. The request
//! is written and its answer read by the task of the client request that needs it. hyper's
//! client ran each connection as a task of its own, so every proxied request crossed a request
//! channel and a oneshot and woke that task several times: replacing it took a `tools/call`
//! through the gateway from 64.3 k to 56.2 k instructions (benches/README.md). What the bytes
//! read mean (head, framing, chunks) is [`super::h1`]'s, which is fuzzed; this file does the
//! I/O. The connection goes back to the pool when the body has been read to its end on a
//! connection that stays open; an answer abandoned midway closes its connection.

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

use super::h1::{self, Framing, Head, Step};

/// An idle connection is closed after this long unused (the backend may close it earlier).
const IDLE_FOR: Duration = Duration::from_secs(30);

/// Most idle connections kept. Expiry is only checked when the pool is used, so without a cap
/// a burst of concurrent requests left one idle connection (a socket at the backend and its
/// buffer here) per request of the burst for as long as traffic stayed low.
const MAX_IDLE: usize = 64;

/// The largest request buffer a connection keeps for its next request.
const KEEP_WRITE_BUFFER: usize = 16 * 1024;

/// Bytes read per system call, and the connection's buffer when nothing larger is waiting.
const READ_CHUNK: usize = 8 * 1024;

/// Why a request got no answer.
#[derive(Debug)]
pub(crate) enum UpstreamError {
    /// No connection could be opened.
    Connect(std::io::Error),
    /// The connection failed while sending the request or reading the answer head, or the
    /// head was not HTTP.
    Http(std::io::Error),
}

impl UpstreamError {
    /// Whether the backend could not be reached at all.
    pub(crate) fn is_connect(&self) -> bool {
        matches!(self, Self::Connect(_))
    }
}

impl fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connect(e) => write!(f, "tcp connect error: {e}"),
            Self::Http(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for UpstreamError {}

/// One connection to the backend and what was read from it but not consumed yet
/// (`buf[start..end]`).
#[derive(Debug)]
struct Conn {
    io: TcpStream,
    /// The request being written (kept for its allocation).
    wbuf: Vec<u8>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl Conn {
    fn new(io: TcpStream) -> Self {
        Self {
            io,
            wbuf: Vec::new(),
            buf: vec![0; READ_CHUNK],
            start: 0,
            end: 0,
        }
    }

    fn buffered(&self) -> &[u8] {
        self.buf.get(self.start..self.end).unwrap_or_default()
    }

    fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Reads more into the buffer: `Ready(Ok(0))` at the end of the stream. The buffer grows
    /// only while a head or a chunk line does not fit (both are bounded by their callers).
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        if self.start > 0 && self.buf.len() - self.end < READ_CHUNK / 2 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() - self.end < READ_CHUNK / 2 {
            self.buf.resize(self.buf.len() + READ_CHUNK, 0);
        }
        let Some(spare) = self.buf.get_mut(self.end..) else {
            return Poll::Ready(Err(io::Error::other("read buffer out of bounds")));
        };
        let mut rb = ReadBuf::new(spare);
        match Pin::new(&mut self.io).poll_read(cx, &mut rb) {
            Poll::Ready(Ok(())) => {
                let n = rb.filled().len();
                self.end += n;
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Whether an idle connection can take a request: nothing arrived on it since its last
    /// answer (no close, no stray bytes). Asks the socket only when the runtime saw it become
    /// readable.
    fn is_reusable(&mut self) -> bool {
        if !self.buffered().is_empty() {
            return false;
        }
        let mut cx = Context::from_waker(Waker::noop());
        match self.io.poll_read_ready(&mut cx) {
            Poll::Pending => true,
            Poll::Ready(Err(_)) => false,
            // Readable: a close, stray bytes, or readiness left over from the last answer.
            Poll::Ready(Ok(())) => matches!(self.poll_fill(&mut cx), Poll::Pending),
        }
    }

    /// Writes `request` and reads the answer's head (interim 1xx answers skipped).
    async fn exchange(&mut self, request: &[u8]) -> io::Result<Head> {
        self.io.write_all(request).await?;
        std::future::poll_fn(|cx| self.poll_head(cx)).await
    }

    fn poll_head(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Head>> {
        loop {
            if let Some((head, n)) = h1::read_head(self.buffered())? {
                self.consume(n);
                return Poll::Ready(Ok(head));
            }
            match self.poll_fill(cx) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(h1::closed_early())),
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

#[derive(Debug)]
struct Idle {
    conn: Conn,
    since: Instant,
}

/// The kept-alive connections to one backend.
#[derive(Debug)]
pub(crate) struct BackendPool {
    /// Host to connect to (without the brackets of an IPv6 literal) and port.
    host: String,
    port: u16,
    connect_timeout: Duration,
    /// Most recently used last: a request takes the warmest connection, and the ones unused
    /// for longest are at the front, where they expire.
    idle: Mutex<VecDeque<Idle>>,
}

fn lock(m: &Mutex<VecDeque<Idle>>) -> MutexGuard<'_, VecDeque<Idle>> {
    // The stack is consistent between operations, so a panic elsewhere must not stop reuse.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A request to the backend as [`encode`] writes it. Its headers are a list, in order, that the
/// caller keeps free of repeats: a `HeaderMap` hashed every name to build what was only ever
/// written out (~1.5 k instructions per request).
#[derive(Debug)]
pub(crate) struct Outbound {
    pub(crate) method: http::Method,
    /// Origin form (path and query).
    pub(crate) target: http::Uri,
    /// Everything but `Content-Length`, which [`encode`] writes.
    pub(crate) headers: Vec<(http::HeaderName, http::HeaderValue)>,
    pub(crate) body: Bytes,
}

/// The request as it goes on the wire, into `out` (the connection's buffer, so that writing
/// allocates nothing once it has grown): request line, headers, the body's length when it has
/// one or its method carries one, and the body.
fn encode(req: &Outbound, out: &mut Vec<u8>) {
    let body = &req.body;
    let target = req
        .target
        .path_and_query()
        .map_or("/", http::uri::PathAndQuery::as_str);
    out.clear();
    out.extend_from_slice(req.method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in &req.headers {
        if name == http::header::CONTENT_LENGTH {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    let carries_body = matches!(
        req.method,
        http::Method::POST | http::Method::PUT | http::Method::PATCH
    );
    if carries_body || !body.is_empty() {
        out.extend_from_slice(b"content-length: ");
        // The digits without the formatting machinery (a few hundred instructions per request).
        super::log::push_int(out, u64::try_from(body.len()).unwrap_or(u64::MAX));
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
}

impl BackendPool {
    /// A pool for the backend at `uri` (an absolute `http://` URL, checked by the
    /// configuration).
    pub(crate) fn new(uri: &http::Uri, connect_timeout: Duration) -> Self {
        let host = uri.host().unwrap_or("127.0.0.1");
        Self {
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            port: uri.port_u16().unwrap_or(80),
            connect_timeout,
            idle: Mutex::new(VecDeque::new()),
        }
    }

    /// Sends `req` (origin-form target, `Host` set) on an idle connection, or a new one, and
    /// reads the answer's head. The body holds the connection until it has been read.
    pub(crate) async fn request(
        self: &Arc<Self>,
        req: Outbound,
    ) -> Result<http::Response<UpBody>, UpstreamError> {
        let head_request = req.method == http::Method::HEAD;
        let mut conn = match self.checkout() {
            Some(c) => c,
            None => self.connect().await?,
        };
        let mut wire = std::mem::take(&mut conn.wbuf);
        encode(&req, &mut wire);
        let sent = conn.exchange(&wire).await;
        // A large body's buffer is not kept for the connection's life (64 idle connections
        // could each hold the largest request ever sent).
        if wire.capacity() <= KEEP_WRITE_BUFFER {
            conn.wbuf = wire;
        }
        let mut head = sent.map_err(UpstreamError::Http)?;
        if head_request {
            // The head describes the body a GET would have had; none follows.
            head.framing = Framing::Length(0);
        }
        let mut resp = http::Response::new(UpBody {
            conn: Some(conn),
            framing: head.framing,
            keep: !head.close,
            pool: self.clone(),
        });
        *resp.status_mut() = head.status;
        *resp.version_mut() = if head.http11 {
            http::Version::HTTP_11
        } else {
            http::Version::HTTP_10
        };
        *resp.headers_mut() = head.headers;
        Ok(resp)
    }

    fn checkout(&self) -> Option<Conn> {
        let mut idle = lock(&self.idle);
        while let Some(mut i) = idle.pop_back() {
            if i.since.elapsed() >= IDLE_FOR {
                // Everything below was idle for longer still.
                idle.clear();
                return None;
            }
            if i.conn.is_reusable() {
                return Some(i.conn);
            }
        }
        None
    }

    fn put(&self, conn: Conn) {
        let now = Instant::now();
        let mut idle = lock(&self.idle);
        while idle
            .front()
            .is_some_and(|i| now.duration_since(i.since) >= IDLE_FOR)
        {
            idle.pop_front();
        }
        if idle.len() >= MAX_IDLE {
            // The coldest goes: dropping it closes the connection.
            idle.pop_front();
        }
        idle.push_back(Idle { conn, since: now });
    }

    async fn connect(&self) -> Result<Conn, UpstreamError> {
        let connect = TcpStream::connect((self.host.as_str(), self.port));
        let stream = match tokio::time::timeout(self.connect_timeout, connect).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Err(UpstreamError::Connect(e)),
            Err(_) => {
                return Err(UpstreamError::Connect(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!(
                        "no connection within {} ms",
                        self.connect_timeout.as_millis()
                    ),
                )));
            }
        };
        let _ = stream.set_nodelay(true);
        Ok(Conn::new(stream))
    }
}

/// The body of a backend's answer, read from its connection as the head framed it. At its
/// end the connection goes back to the pool (unless the backend closes it); dropped before,
/// it closes the connection.
#[derive(Debug)]
pub(crate) struct UpBody {
    /// `None` once the body ended (or failed).
    conn: Option<Conn>,
    framing: Framing,
    /// Whether the connection can take another request after this answer.
    keep: bool,
    pool: Arc<BackendPool>,
}

impl UpBody {
    /// The body has been read to its end (`Length(0)`, the only framing that ends before the
    /// close): the connection goes back to the pool.
    fn finish(&mut self) {
        if let Some(mut conn) = self.conn.take()
            && self.keep
            && conn.buffered().is_empty()
        {
            // A long head grew the buffer (up to 64 KiB): an idle connection keeps the usual.
            if conn.buf.len() > READ_CHUNK {
                conn.buf = vec![0; READ_CHUNK];
            }
            self.pool.put(conn);
        }
    }

    /// The next data of the body: `Ready(None)` at its end.
    fn poll_data(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Result<Bytes>>> {
        loop {
            if self.framing == Framing::Length(0) {
                self.finish();
                return Poll::Ready(None);
            }
            let Some(conn) = self.conn.as_mut() else {
                return Poll::Ready(None);
            };
            let avail = conn.buffered();
            if !avail.is_empty() {
                match h1::step(&mut self.framing, avail)? {
                    Step::More => {}
                    Step::Skip(n) => {
                        conn.consume(n);
                        continue;
                    }
                    Step::Data(n) => {
                        let data = Bytes::copy_from_slice(avail.get(..n).unwrap_or_default());
                        conn.consume(n);
                        return Poll::Ready(Some(Ok(data)));
                    }
                }
            }
            match conn.poll_fill(cx) {
                Poll::Ready(Ok(0)) => {
                    self.conn = None;
                    return Poll::Ready(h1::at_close(self.framing).err().map(Err));
                }
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Some(Err(e))),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl Body for UpBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        match this.poll_data(cx) {
            Poll::Ready(Some(Ok(data))) => Poll::Ready(Some(Ok(Frame::data(data)))),
            Poll::Ready(Some(Err(e))) => {
                // A connection whose answer failed is not read again: dropping it closes it.
                this.conn = None;
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.conn.is_none() || self.framing == Framing::Length(0)
    }

    fn size_hint(&self) -> SizeHint {
        match self.framing {
            Framing::Length(n) => SizeHint::with_exact(n),
            _ => SizeHint::default(),
        }
    }
}

impl Drop for UpBody {
    fn drop(&mut self) {
        // An answer that had nothing left to read (a 202, an empty body) keeps its connection.
        if self.framing == Framing::Length(0) {
            self.finish();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use http_body_util::{BodyExt, Full};
    use hyper_util::rt::TokioIo;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A backend answering `n` on the `n`th request of each connection, closing every
    /// connection after `per_conn` requests.
    async fn backend(
        per_conn: usize,
    ) -> (std::net::SocketAddr, Arc<std::sync::atomic::AtomicUsize>) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let conns = Arc::new(AtomicUsize::new(0));
        let counted = conns.clone();
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                counted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let seen = Arc::new(AtomicUsize::new(0));
                    let svc = hyper::service::service_fn(move |_req| {
                        let n = seen.fetch_add(1, Ordering::SeqCst) + 1;
                        async move {
                            let mut r = http::Response::new(Full::new(Bytes::from(n.to_string())));
                            if n == per_conn {
                                r.headers_mut()
                                    .insert("connection", http::HeaderValue::from_static("close"));
                            }
                            Ok::<_, std::convert::Infallible>(r)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        (addr, conns)
    }

    fn get() -> Outbound {
        Outbound {
            method: http::Method::GET,
            target: "/x".parse().unwrap(),
            headers: vec![(http::header::HOST, HeaderValue::from_static("x"))],
            body: Bytes::new(),
        }
    }

    async fn body(resp: http::Response<UpBody>) -> String {
        let b = resp.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(b.to_vec()).unwrap()
    }

    #[tokio::test(flavor = "current_thread")]
    async fn connections_are_reused_and_replaced_when_closed() {
        let (addr, conns) = backend(3).await;
        let uri: http::Uri = format!("http://{addr}/x").parse().unwrap();
        let pool = Arc::new(BackendPool::new(&uri, Duration::from_secs(1)));
        let mut answers = Vec::new();
        for _ in 0..7 {
            let resp = pool.request(get()).await.unwrap();
            answers.push(body(resp).await);
            // Let the runtime see the backend's close.
            tokio::task::yield_now().await;
        }
        assert_eq!(answers, ["1", "2", "3", "1", "2", "3", "1"]);
        assert_eq!(conns.load(std::sync::atomic::Ordering::SeqCst), 3);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_connection_whose_answer_is_unread_is_not_shared() {
        let (addr, conns) = backend(100).await;
        let uri: http::Uri = format!("http://{addr}/x").parse().unwrap();
        let pool = Arc::new(BackendPool::new(&uri, Duration::from_secs(1)));
        let a = pool.request(get()).await.unwrap();
        let b = pool.request(get()).await.unwrap();
        assert_eq!(conns.load(std::sync::atomic::Ordering::SeqCst), 2);
        assert_eq!((body(a).await, body(b).await), ("1".into(), "1".into()));
        let c = pool.request(get()).await.unwrap();
        assert_eq!(body(c).await, "2");
        assert_eq!(conns.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_burst_leaves_at_most_max_idle_connections() {
        let (addr, conns) = backend(1000).await;
        let uri: http::Uri = format!("http://{addr}/x").parse().unwrap();
        let pool = Arc::new(BackendPool::new(&uri, Duration::from_secs(1)));
        let mut held = Vec::new();
        for _ in 0..MAX_IDLE + 36 {
            held.push(pool.request(get()).await.unwrap());
        }
        assert_eq!(
            conns.load(std::sync::atomic::Ordering::SeqCst),
            MAX_IDLE + 36
        );
        for resp in held {
            body(resp).await;
        }
        assert_eq!(lock(&pool.idle).len(), MAX_IDLE);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_unreachable_backend_is_a_connect_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let uri: http::Uri = format!("http://{addr}/x").parse().unwrap();
        let pool = Arc::new(BackendPool::new(&uri, Duration::from_secs(1)));
        let e = pool.request(get()).await.unwrap_err();
        assert!(e.is_connect(), "{e}");
    }

    /// A backend speaking raw bytes: on each connection, the answer to its `i`th request is
    /// `script[i]`, written piece by piece with a pause between pieces; after the script the
    /// connection is closed. Counts connections.
    async fn raw_backend(script: Vec<Vec<&'static [u8]>>) -> (http::Uri, Arc<AtomicUsize>) {
        use tokio::io::AsyncReadExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let conns = Arc::new(AtomicUsize::new(0));
        let counted = conns.clone();
        let script = Arc::new(script);
        tokio::spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                counted.fetch_add(1, Ordering::SeqCst);
                let script = script.clone();
                tokio::spawn(async move {
                    let _ = stream.set_nodelay(true);
                    for answer in script.iter() {
                        // Each request is a head without a body (GET).
                        let mut seen = Vec::new();
                        while !seen.ends_with(b"\r\n\r\n") {
                            let mut b = [0u8; 1];
                            if stream.read(&mut b).await.unwrap_or(0) == 0 {
                                return;
                            }
                            seen.push(b[0]);
                        }
                        for piece in answer {
                            if stream.write_all(piece).await.is_err() {
                                return;
                            }
                            tokio::time::sleep(Duration::from_millis(2)).await;
                        }
                    }
                });
            }
        });
        (format!("http://{addr}/x").parse().unwrap(), conns)
    }

    /// Every byte of `text` as a piece of its own.
    fn bytewise(text: &'static [u8]) -> Vec<&'static [u8]> {
        text.chunks(1).collect()
    }

    async fn try_body(resp: http::Response<UpBody>) -> Result<String, String> {
        match resp.into_body().collect().await {
            Ok(b) => Ok(String::from_utf8(b.to_bytes().to_vec()).unwrap()),
            Err(e) => Err(e.to_string()),
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn chunked_bodies_in_any_pieces_are_decoded_and_the_connection_kept() {
        const CHUNKED: &[u8] = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n\
            5;ext=\"x\"\r\nhello\r\n6\r\n world\r\n0\r\ntrailer-field: 1\r\n\r\n";
        let (uri, conns) = raw_backend(vec![bytewise(CHUNKED), vec![CHUNKED]]).await;
        let pool = Arc::new(BackendPool::new(&uri, Duration::from_secs(1)));
        for _ in 0..2 {
            let resp = pool.request(get()).await.unwrap();
            assert_eq!(resp.status(), 200);
            assert_eq!(try_body(resp).await.unwrap(), "hello world");
        }
        assert_eq!(conns.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_body_without_length_runs_to_the_close_and_its_connection_is_not_reused() {
        let (uri, conns) = raw_backend(vec![vec![b"HTTP/1.1 200 OK\r\n\r\nab", b"c"]]).await;
        let pool = Arc::new(BackendPool::new(&uri, Duration::from_secs(1)));
        for _ in 0..2 {
            let resp = pool.request(get()).await.unwrap();
            assert_eq!(try_body(resp).await.unwrap(), "abc");
        }
        assert_eq!(conns.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn interim_answers_are_skipped() {
        let (uri, _) = raw_backend(vec![vec![
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </x>\r\n\r\n",
            b"HTTP/1.1 201 Created\r\ncontent-length: 2\r\nx-a: 1\r\n\r\nok",
        ]])
        .await;
        let pool = Arc::new(BackendPool::new(&uri, Duration::from_secs(1)));
        let resp = pool.request(get()).await.unwrap();
        assert_eq!(resp.status(), 201);
        assert_eq!(resp.headers()["x-a"], "1");
        assert!(resp.headers().get("link").is_none());
        assert_eq!(try_body(resp).await.unwrap(), "ok");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn what_cannot_be_read_as_http_is_an_error_naming_it() {
        let cases: [(&[u8], &str); 5] = [
            (b"SSH-2.0-OpenSSH_9.2\r\n\r\n", "invalid HTTP response"),
            (
                b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\nok",
                "conflicting Content-Length",
            ),
            (
                b"HTTP/1.1 200 OK\r\ncontent-length: -2\r\n\r\n",
                "bad Content-Length",
            ),
            (
                b"HTTP/1.1 200 OK\r\ncontent-le",
                "connection closed before message completed",
            ),
            (b"HTTP/1.1 101 Switching Protocols\r\n\r\n", "101"),
        ];
        for (answer, expected) in cases {
            let (uri, _) = raw_backend(vec![vec![answer]]).await;
            let pool = Arc::new(BackendPool::new(&uri, Duration::from_secs(1)));
            let e = pool.request(get()).await.unwrap_err();
            assert!(!e.is_connect());
            assert!(e.to_string().contains(expected), "{e} for {answer:?}");
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_body_cut_short_is_an_error_and_so_is_a_bad_chunk() {
        let cases: [(&[u8], &str); 3] = [
            (
                b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort",
                "closed before message completed",
            ),
            (
                b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhel",
                "closed before message completed",
            ),
            (
                b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nhello\r\n",
                "bad chunk size",
            ),
        ];
        for (answer, expected) in cases {
            let (uri, _) = raw_backend(vec![vec![answer]]).await;
            let pool = Arc::new(BackendPool::new(&uri, Duration::from_secs(1)));
            let resp = pool.request(get()).await.unwrap();
            let e = try_body(resp).await.unwrap_err();
            assert!(e.contains(expected), "{e} for {answer:?}");
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn connections_the_answer_leaves_unusable_are_not_reused() {
        let answers: [&[u8]; 4] = [
            // Bytes after the body: not an answer to anything sent.
            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokEXTRA",
            b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok",
            b"HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok",
            // A length beside a coding: the coding frames the body, the connection is not
            // trusted after.
            b"HTTP/1.1 200 OK\r\ncontent-length: 99\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
        ];
        for answer in answers {
            let (uri, conns) = raw_backend(vec![vec![answer], vec![answer]]).await;
            let pool = Arc::new(BackendPool::new(&uri, Duration::from_secs(1)));
            for _ in 0..2 {
                let resp = pool.request(get()).await.unwrap();
                assert_eq!(try_body(resp).await.unwrap(), "ok", "{answer:?}");
            }
            assert_eq!(conns.load(Ordering::SeqCst), 2, "{answer:?}");
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_connection_goes_back_with_the_usual_buffer_after_a_long_head() {
        const LONG: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-long: ";
        let mut answer = LONG.to_vec();
        answer.resize(LONG.len() + 3 * READ_CHUNK, b'a');
        answer.extend_from_slice(b"\r\n\r\nok");
        let answer: &'static [u8] = answer.leak();
        let (uri, conns) = raw_backend(vec![vec![answer], vec![answer]]).await;
        let pool = Arc::new(BackendPool::new(&uri, Duration::from_secs(1)));
        for _ in 0..2 {
            let resp = pool.request(get()).await.unwrap();
            assert_eq!(try_body(resp).await.unwrap(), "ok");
            assert_eq!(lock(&pool.idle).back().unwrap().conn.buf.len(), READ_CHUNK);
        }
        assert_eq!(conns.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn requests_go_out_with_their_length_and_headers() {
        let r = Outbound {
            method: http::Method::POST,
            target: "/mcp?x=1".parse().unwrap(),
            headers: vec![
                (http::header::HOST, HeaderValue::from_static("b:1")),
                (http::header::CONTENT_LENGTH, HeaderValue::from_static("99")),
            ],
            body: Bytes::from_static(b"{}"),
        };
        let mut out = Vec::new();
        encode(&r, &mut out);
        assert_eq!(
            out,
            b"POST /mcp?x=1 HTTP/1.1\r\nhost: b:1\r\ncontent-length: 2\r\n\r\n{}"
        );
        let d = Outbound {
            method: http::Method::DELETE,
            target: "/mcp".parse().unwrap(),
            headers: Vec::new(),
            body: Bytes::new(),
        };
        encode(&d, &mut out);
        assert_eq!(out, b"DELETE /mcp HTTP/1.1\r\n\r\n");
    }
}
