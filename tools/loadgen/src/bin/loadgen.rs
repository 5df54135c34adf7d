//! Load generator for `make bench-gateway`: a fixed number of MCP requests at a fixed
//! concurrency, or many sessions each holding a GET stream.
//!
//! ```text
//! mcp-loadgen bench URL call|list REQUESTS CONCURRENCY MAX_SECS
//! mcp-loadgen sessions URL SESSIONS RSS_PID HOLD_SECS
//! ```
//!
//! `bench`: each of CONCURRENCY workers opens one HTTP/1.1 connection and one MCP session, sends
//! a short warm-up (up to 200 requests per connection, not measured), then sends `tools/call`
//! (echo) or `tools/list` requests back to back until REQUESTS have been sent in total or
//! MAX_SECS have passed. The same client, connection reuse and concurrency serve the direct and
//! the through-the-gateway runs. Prints one JSON line: requests, errors, seconds, requests/s,
//! p50/p99/max latency in µs, the load generator's own CPU time per request in µs (from
//! `/proc/self/stat`, so the reader can see how much of the shared cores the client took), and
//! `sent`: every request of the run, initialize and warm-up included (what the servers handled
//! while their CPU time was read from outside). An answer counts as an error unless it is HTTP
//! 200 with a JSON-RPC `result`.
//!
//! `sessions`: opens SESSIONS sessions, each on its own connection with a GET stream left open,
//! then reads the resident set size of process RSS_PID (the gateway) from `/proc`, holds for
//! HOLD_SECS, reads it again and prints one JSON line.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;

type Sender = SendRequest<Full<Bytes>>;

const INIT: &str = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"mcp-loadgen","version":"1"}}}"#;

fn fail(msg: &str) -> ! {
    eprintln!("mcp-loadgen: {msg}");
    std::process::exit(2)
}

async fn connect(uri: &Uri) -> Result<Sender, String> {
    let host = uri.host().unwrap_or("127.0.0.1");
    let port = uri.port_u16().unwrap_or(80);
    let stream = tokio::net::TcpStream::connect((host, port))
        .await
        .map_err(|e| format!("connect {host}:{port}: {e}"))?;
    let _ = stream.set_nodelay(true);
    let (send, conn) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(send)
}

fn request(
    uri: &Uri,
    method: http::Method,
    session: Option<&str>,
    body: Bytes,
) -> Request<Full<Bytes>> {
    let mut b = Request::builder()
        .method(method)
        .uri(uri.path())
        .header("host", uri.authority().map_or("127.0.0.1", |a| a.as_str()))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25");
    if let Some(s) = session {
        b = b.header("mcp-session-id", s);
    }
    b.body(Full::new(body)).unwrap_or_default()
}

/// POSTs one body; returns the status, the session id header and the whole answer.
async fn post(
    send: &mut Sender,
    uri: &Uri,
    session: Option<&str>,
    body: Bytes,
) -> Result<(u16, Option<String>, Bytes), String> {
    send.ready().await.map_err(|e| e.to_string())?;
    let resp = send
        .send_request(request(uri, http::Method::POST, session, body))
        .await
        .map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let sid = resp
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, sid, bytes))
}

async fn open_session(send: &mut Sender, uri: &Uri) -> Result<String, String> {
    let (status, sid, body) = post(send, uri, None, Bytes::from_static(INIT.as_bytes())).await?;
    match (status, sid) {
        (200, Some(s)) => Ok(s),
        (st, _) => Err(format!(
            "initialize: HTTP {st}: {}",
            String::from_utf8_lossy(&body)
        )),
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)] as f64 / 1000.0
}

/// CPU time (user + system) of this process so far, in µs (Linux clock ticks of 10 ms).
fn self_cpu_us() -> u64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0;
    };
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|x| x.parse().ok())
        .collect();
    f.iter().sum::<u64>() * 10_000
}

async fn bench(uri: Uri, what: String, total: usize, concurrency: usize, max: Duration) {
    let body = match what.as_str() {
        "call" => {
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"message":"load test message of a typical size"}}}"#
        }
        "list" => r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}"#,
        other => fail(&format!("unknown request kind {other} (call or list)")),
    };
    let body = Bytes::from_static(body.as_bytes());
    let sent = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    // Sessions are opened before the clock starts: only the steady state is measured.
    let mut conns = Vec::new();
    for _ in 0..concurrency {
        let mut send = connect(&uri).await.unwrap_or_else(|e| fail(&e));
        let sid = open_session(&mut send, &uri)
            .await
            .unwrap_or_else(|e| fail(&e));
        conns.push((send, sid));
    }
    // Warm-up on every connection (pools, allocator, caches), not measured.
    let warm = (total / concurrency / 10).clamp(10, 200);
    for (send, sid) in &mut conns {
        for _ in 0..warm {
            if post(send, &uri, Some(sid), body.clone()).await.is_err() {
                fail("warm-up request failed");
            }
        }
    }
    let cpu0 = self_cpu_us();
    let start = Instant::now();
    let deadline = start + max;
    for (mut send, sid) in conns {
        let (uri, body, sent) = (uri.clone(), body.clone(), sent.clone());
        workers.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(total / concurrency + 1);
            let mut errors = 0usize;
            while sent.fetch_add(1, Ordering::Relaxed) < total && Instant::now() < deadline {
                let t = Instant::now();
                match post(&mut send, &uri, Some(&sid), body.clone()).await {
                    Ok((200, _, b)) if contains(&b, b"\"result\"") => {
                        lat.push(t.elapsed().as_nanos() as u64);
                    }
                    Ok(_) => errors += 1,
                    Err(_) => {
                        errors += 1;
                        break;
                    }
                }
            }
            (lat, errors)
        }));
    }
    let mut lat = Vec::with_capacity(total);
    let mut errors = 0;
    for w in workers {
        if let Ok((l, e)) = w.await {
            lat.extend(l);
            errors += e;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let cpu = self_cpu_us().saturating_sub(cpu0);
    lat.sort_unstable();
    let sent = concurrency * (1 + warm) + lat.len() + errors;
    println!(
        "{{\"kind\":\"{what}\",\"concurrency\":{concurrency},\"requests\":{},\"sent\":{sent},\"errors\":{errors},\"secs\":{secs:.3},\"rps\":{:.0},\"p50_us\":{:.1},\"p99_us\":{:.1},\"max_us\":{:.1},\"client_cpu_us_per_req\":{:.1}}}",
        lat.len(),
        lat.len() as f64 / secs,
        percentile(&lat, 0.50),
        percentile(&lat, 0.99),
        percentile(&lat, 1.0),
        cpu as f64 / lat.len().max(1) as f64,
    );
}

fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// One session with its GET stream open; the returned handles keep both alive.
async fn hold_session(uri: Uri) -> Result<(Sender, hyper::body::Incoming), String> {
    let mut send = connect(&uri).await?;
    let sid = open_session(&mut send, &uri).await?;
    let (_, _, _) = post(
        &mut send,
        &uri,
        Some(&sid),
        Bytes::from_static(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#),
    )
    .await?;
    send.ready().await.map_err(|e| e.to_string())?;
    let mut get = request(&uri, http::Method::GET, Some(&sid), Bytes::new());
    get.headers_mut().insert(
        "accept",
        http::HeaderValue::from_static("text/event-stream"),
    );
    let resp = send.send_request(get).await.map_err(|e| e.to_string())?;
    if resp.status() != 200 {
        return Err(format!("GET stream: HTTP {}", resp.status()));
    }
    let mut body = resp.into_body();
    // The first event proves the stream is open end to end.
    match tokio::time::timeout(Duration::from_secs(10), body.frame()).await {
        Ok(Some(Ok(_))) => Ok((send, body)),
        _ => Err("GET stream: nothing received".into()),
    }
}

async fn sessions(uri: Uri, n: usize, pid: u32, hold: Duration) {
    let before = rss_kb(pid).unwrap_or_else(|| fail(&format!("no process {pid}")));
    let start = Instant::now();
    let mut held = Vec::with_capacity(n);
    let mut errors = Vec::new();
    // 50 at a time: fast, without a connect storm against the listen backlog.
    let mut remaining = n;
    while remaining > 0 {
        let batch = remaining.min(50);
        remaining -= batch;
        let tasks: Vec<_> = (0..batch)
            .map(|_| tokio::spawn(hold_session(uri.clone())))
            .collect();
        for t in tasks {
            match t.await {
                Ok(Ok(h)) => held.push(h),
                Ok(Err(e)) => errors.push(e),
                Err(e) => errors.push(e.to_string()),
            }
        }
    }
    let opened = start.elapsed().as_secs_f64();
    let at_open = rss_kb(pid).unwrap_or(0);
    tokio::time::sleep(hold).await;
    let after_hold = rss_kb(pid).unwrap_or(0);
    let first_error = errors.first().map(String::as_str).unwrap_or("");
    println!(
        "{{\"sessions\":{},\"errors\":{},\"open_secs\":{opened:.2},\"rss_before_kb\":{before},\"rss_open_kb\":{at_open},\"rss_after_hold_kb\":{after_hold},\"first_error\":{}}}",
        held.len(),
        errors.len(),
        serde_json::Value::String(first_error.to_owned())
    );
    drop(held);
}

fn arg<T: std::str::FromStr>(args: &[String], i: usize, what: &str) -> T {
    args.get(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| fail(&format!("argument {i}: expected {what}")))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(&e.to_string()));
    let uri: Uri = arg(&args, 2, "a URL");
    match args.get(1).map(String::as_str) {
        Some("bench") => rt.block_on(bench(
            uri,
            arg(&args, 3, "call or list"),
            arg(&args, 4, "a request count"),
            arg::<usize>(&args, 5, "a concurrency").max(1),
            Duration::from_secs(arg(&args, 6, "a time limit in seconds")),
        )),
        Some("sessions") => rt.block_on(sessions(
            uri,
            arg(&args, 3, "a session count"),
            arg(&args, 4, "a pid"),
            Duration::from_secs(arg(&args, 5, "seconds to hold")),
        )),
        _ => fail(
            "usage: mcp-loadgen bench URL call|list REQUESTS CONCURRENCY MAX_SECS | sessions URL SESSIONS RSS_PID HOLD_SECS",
        ),
    }
    // Dropping the runtime could wait on held streams; the answer is printed, so leave now.
    std::process::exit(0);
}
