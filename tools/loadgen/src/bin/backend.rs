//! A minimal, fast Streamable HTTP MCP backend for the gateway load check.
//!
//! It answers `initialize` (minting a session id), `tools/list` (server-everything's real list,
//! from the core traffic fixtures), `tools/call` (an echo) with JSON bodies, 202 for
//! notifications, holds GET streams open (one SSE comment, then silence) and ends sessions on
//! DELETE. It does as little as possible per request so that the measured difference between
//! "direct" and "through the gateway" is the gateway's.
//!
//! `mcp-fast-backend [ADDR]` (default `127.0.0.1:0`) prints `listening on http://ADDR` once ready.

use std::collections::HashSet;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Method, Response, StatusCode};
use http_body_util::{BodyExt, Full, combinators::BoxBody};
use hyper::body::Frame;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::Value;

/// server-everything's `tools/list` answer, as captured.
const TOOLS_LIST: &str = include_str!("../../../../core/tests/fixtures/traffic/tools-list.json");

type Body = BoxBody<Bytes, Infallible>;

struct State {
    sessions: Mutex<HashSet<String>>,
    next: AtomicU64,
    /// The list result (everything after `"result":`), spliced after each request's id.
    list_result: String,
}

fn full(b: impl Into<Bytes>) -> Body {
    Full::new(b.into()).boxed()
}

fn json(status: StatusCode, body: String, session: Option<&str>) -> Response<Body> {
    let mut r = Response::builder()
        .status(status)
        .header("content-type", "application/json");
    if let Some(s) = session {
        r = r.header("mcp-session-id", s);
    }
    r.body(full(body)).unwrap_or_default()
}

fn error(status: StatusCode, code: i32, message: &str) -> Response<Body> {
    json(
        status,
        format!(r#"{{"jsonrpc":"2.0","id":null,"error":{{"code":{code},"message":"{message}"}}}}"#),
        None,
    )
}

async fn handle(
    state: Arc<State>,
    req: http::Request<hyper::body::Incoming>,
) -> Result<Response<Body>, Infallible> {
    let session = req
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let known = |s: &Option<String>| {
        s.as_ref()
            .is_some_and(|s| state.sessions.lock().is_ok_and(|m| m.contains(s)))
    };
    match *req.method() {
        Method::GET => {
            if !known(&session) {
                return Ok(error(StatusCode::NOT_FOUND, -32001, "Session not found"));
            }
            // An open stream with nothing to say: one comment, then pending until the client
            // goes away (the sender is never dropped while the body is alive).
            let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(1);
            let _ = tx.try_send(Bytes::from_static(b": open\n\n"));
            return Ok(Response::builder()
                .header("content-type", "text/event-stream")
                .body(BodyExt::boxed(Held { rx, _tx: tx }))
                .unwrap_or_default());
        }
        Method::DELETE => {
            if let (Some(s), Ok(mut m)) = (&session, state.sessions.lock()) {
                m.remove(s);
            }
            return Ok(json(StatusCode::OK, String::new(), None));
        }
        Method::POST => {}
        _ => {
            return Ok(error(
                StatusCode::METHOD_NOT_ALLOWED,
                -32000,
                "Method not allowed",
            ));
        }
    }
    let Ok(body) = req.into_body().collect().await.map(|c| c.to_bytes()) else {
        return Ok(error(StatusCode::BAD_REQUEST, -32700, "Parse error"));
    };
    let Ok(msg) = serde_json::from_slice::<Value>(&body) else {
        return Ok(error(StatusCode::BAD_REQUEST, -32700, "Parse error"));
    };
    let method = msg.get("method").and_then(Value::as_str).unwrap_or("");
    let Some(id) = msg.get("id").map(Value::to_string) else {
        // A notification or a response.
        return Ok(json(StatusCode::ACCEPTED, String::new(), None));
    };
    if method == "initialize" {
        let sid = format!("fast-{}", state.next.fetch_add(1, Ordering::Relaxed));
        if let Ok(mut m) = state.sessions.lock() {
            m.insert(sid.clone());
        }
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":{id},"result":{{"protocolVersion":"2025-11-25","capabilities":{{"tools":{{}}}},"serverInfo":{{"name":"mcp-fast-backend","version":"1"}}}}}}"#
        );
        return Ok(json(StatusCode::OK, body, Some(&sid)));
    }
    if !known(&session) {
        return Ok(error(StatusCode::NOT_FOUND, -32001, "Session not found"));
    }
    let body = match method {
        "tools/list" => format!(
            r#"{{"jsonrpc":"2.0","id":{id},"result":{}}}"#,
            state.list_result
        ),
        "tools/call" => {
            let text = msg["params"]["arguments"]["message"].as_str().unwrap_or("");
            let text = Value::String(format!("Echo: {text}"));
            format!(
                r#"{{"jsonrpc":"2.0","id":{id},"result":{{"content":[{{"type":"text","text":{text}}}]}}}}"#
            )
        }
        "ping" => format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{{}}}}"#),
        _ => format!(
            r#"{{"jsonrpc":"2.0","id":{id},"error":{{"code":-32601,"message":"Method not found"}}}}"#
        ),
    };
    Ok(json(StatusCode::OK, body, None))
}

/// An SSE body that sends what arrives on its channel and keeps its own sender, so it never
/// ends by itself: the stream stays open until the client goes away.
struct Held {
    rx: tokio::sync::mpsc::Receiver<Bytes>,
    _tx: tokio::sync::mpsc::Sender<Bytes>,
}

impl hyper::body::Body for Held {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.rx.poll_recv(cx).map(|o| o.map(|b| Ok(Frame::data(b))))
    }
}

#[tokio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let listener = match tokio::net::TcpListener::bind(&addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    // The captured bytes themselves (`{"result":…,"jsonrpc":"2.0","id":N}`), not a
    // re-serialisation, so the gateway filters exactly what server-everything sends.
    let text = TOOLS_LIST.trim();
    let list_result = text
        .strip_prefix("{\"result\":")
        .and_then(|r| r.rfind(",\"jsonrpc\"").map(|end| r[..end].to_owned()))
        .unwrap_or_else(|| {
            let v: Value = serde_json::from_str(text).unwrap_or_default();
            v["result"].to_string()
        });
    let state = Arc::new(State {
        sessions: Mutex::default(),
        next: AtomicU64::new(1),
        list_result,
    });
    if let Ok(a) = listener.local_addr() {
        println!("listening on http://{a}");
    }
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| handle(state.clone(), req));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}
