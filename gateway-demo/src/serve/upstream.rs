//! Kept-alive HTTP/1 connections to an API's backend.
//!
//! An API has exactly one HTTP backend, so its idle connections are a plain stack. hyper-util's
//! general client did more per request: a pool lookup keyed by scheme and authority (hashed), a
//! race between that lookup and a lazy connect, a `Host` header formatted anew, and a spawned
//! task to give the connection back once the answer was read. Here a connection is lent to one
//! request ([`Lease`]) and given back when the lease drops, directly when the answer has been
//! read (the usual case: JSON answers are read whole), through a small task otherwise.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;

type Sender = SendRequest<Full<Bytes>>;

/// An idle connection is closed after this long unused (the backend may close it earlier).
const IDLE_FOR: Duration = Duration::from_secs(30);

/// Most idle connections kept. Expiry is only checked when the pool is used, so without a cap
/// a burst of concurrent requests left one idle connection (a socket at the backend, a task and
/// its buffers here) per request of the burst for as long as traffic stayed low.
const MAX_IDLE: usize = 64;

/// Why a request got no answer.
#[derive(Debug)]
pub(crate) enum UpstreamError {
    /// No connection could be opened.
    Connect(std::io::Error),
    /// The connection failed while sending the request or reading the answer head.
    Http(hyper::Error),
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

impl std::error::Error for UpstreamError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Connect(_) => None,
            Self::Http(e) => std::error::Error::source(e),
        }
    }
}

#[derive(Debug)]
struct Idle {
    sender: Sender,
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

    /// Sends `req` (origin-form target, `Host` set) on an idle connection, or a new one.
    /// The lease keeps the connection until the answer's body has been read.
    pub(crate) async fn request(
        self: &Arc<Self>,
        mut req: http::Request<Full<Bytes>>,
    ) -> Result<(http::Response<Incoming>, Lease), UpstreamError> {
        loop {
            let (mut sender, reused) = match self.checkout() {
                Some(s) => (s, true),
                None => (self.connect().await?, false),
            };
            match sender.try_send_request(req).await {
                Ok(resp) => {
                    let lease = Lease {
                        sender: Some(sender),
                        pool: self.clone(),
                    };
                    return Ok((resp, lease));
                }
                Err(mut e) => match e.take_message() {
                    // A kept-alive connection the backend closed meanwhile: the request was not
                    // sent, so a new connection takes it.
                    Some(again) if reused => req = again,
                    _ => return Err(UpstreamError::Http(e.into_error())),
                },
            }
        }
    }

    fn checkout(&self) -> Option<Sender> {
        let mut idle = lock(&self.idle);
        while let Some(i) = idle.pop_back() {
            if i.since.elapsed() >= IDLE_FOR {
                // Everything below was idle for longer still.
                idle.clear();
                return None;
            }
            if i.sender.is_ready() {
                return Some(i.sender);
            }
        }
        None
    }

    fn put(&self, sender: Sender) {
        let now = Instant::now();
        let mut idle = lock(&self.idle);
        while idle
            .front()
            .is_some_and(|i| now.duration_since(i.since) >= IDLE_FOR)
        {
            idle.pop_front();
        }
        if idle.len() >= MAX_IDLE {
            // The coldest goes: dropping its sender closes the connection.
            idle.pop_front();
        }
        idle.push_back(Idle { sender, since: now });
    }

    async fn connect(&self) -> Result<Sender, UpstreamError> {
        let connect = tokio::net::TcpStream::connect((self.host.as_str(), self.port));
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
        let (sender, conn) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(UpstreamError::Http)?;
        tokio::spawn(async move {
            // The backend closing or resetting the connection is routine; the request that
            // was on it, if any, sees the error.
            let _ = conn.await;
        });
        Ok(sender)
    }
}

/// A connection lent to one request. Dropping it gives the connection back to the pool once
/// it can take another request (the answer read to its end); a connection whose answer was
/// abandoned midway is closed by hyper and not given back.
#[derive(Debug)]
pub(crate) struct Lease {
    sender: Option<Sender>,
    pool: Arc<BackendPool>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        let Some(mut sender) = self.sender.take() else {
            return;
        };
        if sender.is_ready() {
            self.pool.put(sender);
            return;
        }
        if sender.is_closed() {
            return;
        }
        // Still busy with the answer (a stream dropped before its end, or a body nobody read):
        // wait for it off the request's path. Without a runtime (shutting down) it just closes.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let pool = self.pool.clone();
            rt.spawn(async move {
                if sender.ready().await.is_ok() {
                    pool.put(sender);
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

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

    fn get() -> http::Request<Full<Bytes>> {
        let mut r = http::Request::new(Full::new(Bytes::new()));
        *r.uri_mut() = "/x".parse().unwrap();
        r.headers_mut()
            .insert("host", http::HeaderValue::from_static("x"));
        r
    }

    async fn body(resp: http::Response<Incoming>) -> String {
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
            let (resp, lease) = pool.request(get()).await.unwrap();
            answers.push(body(resp).await);
            drop(lease);
            // Let the connection task see the backend's close.
            tokio::task::yield_now().await;
        }
        assert_eq!(answers, ["1", "2", "3", "1", "2", "3", "1"]);
        assert_eq!(conns.load(std::sync::atomic::Ordering::SeqCst), 3);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_lease_held_by_a_reader_is_not_shared() {
        let (addr, conns) = backend(100).await;
        let uri: http::Uri = format!("http://{addr}/x").parse().unwrap();
        let pool = Arc::new(BackendPool::new(&uri, Duration::from_secs(1)));
        let (a, lease_a) = pool.request(get()).await.unwrap();
        let (b, lease_b) = pool.request(get()).await.unwrap();
        assert_eq!((body(a).await, body(b).await), ("1".into(), "1".into()));
        assert_eq!(conns.load(std::sync::atomic::Ordering::SeqCst), 2);
        drop((lease_a, lease_b));
        let (c, _lease) = pool.request(get()).await.unwrap();
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
            let (resp, lease) = pool.request(get()).await.unwrap();
            body(resp).await;
            held.push(lease);
        }
        assert_eq!(
            conns.load(std::sync::atomic::Ordering::SeqCst),
            MAX_IDLE + 36
        );
        drop(held);
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
}
