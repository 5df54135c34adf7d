//! `mcp-policy serve` against a recording HTTP backend: what reaches the backend, and what the
//! client gets back. The backend is a few lines of hyper that remembers every request.

mod common;
use common::{ChannelBody, Gateway};

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Frame;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

#[derive(Debug, Clone)]
struct Seen {
    headers: http::HeaderMap,
    body: Bytes,
}

type Log = Arc<Mutex<Vec<Seen>>>;

/// A backend that records requests; `tools/call` answers with three SSE events 300 ms apart,
/// everything else with a JSON result carrying a session id.
async fn backend() -> (SocketAddr, Log) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let log: Log = Arc::default();
    let log2 = log.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let log = log2.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let log = log.clone();
                    async move {
                        let (parts, body) = req.into_parts();
                        let body = body.collect().await.unwrap().to_bytes();
                        log.lock().unwrap().push(Seen {
                            headers: parts.headers,
                            body: body.clone(),
                        });
                        let text = String::from_utf8_lossy(&body).to_string();
                        let resp: http::Response<
                            http_body_util::combinators::BoxBody<Bytes, Infallible>,
                        > = if text.contains("tools/call") {
                            let (tx, rx) =
                                tokio::sync::mpsc::channel::<Result<Frame<Bytes>, Infallible>>(4);
                            tokio::spawn(async move {
                                for i in 1..=3 {
                                    let ev = if i < 3 {
                                        format!(
                                            "event: message\nid: e{i}\ndata: {{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{{\"progressToken\":1,\"progress\":{i}}}}}\n\n"
                                        )
                                    } else {
                                        "id: e3\ndata: {\"jsonrpc\":\"2.0\",\"id\":7,\n data: \"result\":{}}\n\n".replace("\n data", "\ndata")
                                    };
                                    if tx.send(Ok(Frame::data(Bytes::from(ev)))).await.is_err() {
                                        return;
                                    }
                                    tokio::time::sleep(Duration::from_millis(300)).await;
                                }
                            });
                            http::Response::builder()
                                .header("content-type", "text/event-stream")
                                .header("mcp-session-id", "upstream-1")
                                .body(BodyExt::boxed(ChannelBody(rx)))
                                .unwrap()
                        } else if text.contains("tools/list") {
                            // A list request the server refuses: the answer is an error.
                            http::Response::builder()
                                .header("content-type", "application/json")
                                .body(BodyExt::boxed(Full::new(Bytes::from(
                                    r#"{"jsonrpc":"2.0","id":2,"error":{"code":-32601,"message":"no tools here"}}"#,
                                ))))
                                .unwrap()
                        } else {
                            http::Response::builder()
                                .header("content-type", "application/json")
                                .header("mcp-session-id", "upstream-1")
                                .header("connection", "x-backend-private")
                                .header("x-backend-private", "1")
                                .body(BodyExt::boxed(Full::new(Bytes::from(
                                    r#"{"jsonrpc":"2.0","id":1,"result":{}}"#,
                                ))))
                                .unwrap()
                        };
                        Ok::<_, Infallible>(resp)
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (addr, log)
}

fn gateway(extra: &str, backend: SocketAddr) -> Gateway {
    let dir = std::env::temp_dir().join(format!(
        "mcp-gw-rs-{}-{}",
        std::process::id(),
        backend.port()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("gateway.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\n[[api]]\nname = \"rec\"\npath = \"/mcp\"\n{extra}\n\
             backend = {{ url = \"http://{backend}/mcp\" }}\n"
        ),
    )
    .unwrap();
    common::start(&config)
}

async fn post(
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, http::HeaderMap, Vec<(Duration, Bytes)>) {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let mut req = http::Request::post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = client
        .request(req.body(Full::new(Bytes::from(body.to_owned()))).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let start = Instant::now();
    let mut body = resp.into_body();
    let mut chunks = Vec::new();
    while let Some(f) = body.frame().await {
        if let Ok(d) = f.unwrap().into_data() {
            chunks.push((start.elapsed(), d));
        }
    }
    (status, headers, chunks)
}

const INIT: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_sessions_and_streaming() {
    let (addr, log) = backend().await;
    let gw = gateway("", addr);
    let url = format!("{}/mcp", gw.base);

    let (status, headers, _) = post(
        &url,
        &[
            ("authorization", "Bearer secret-token"),
            ("connection", "x-hop"),
            ("x-hop", "1"),
            ("mcp-protocol-version", "2025-11-25"),
            ("x-end-to-end", "kept"),
        ],
        INIT,
    )
    .await;
    assert_eq!(status, 200);
    let sid = headers["mcp-session-id"].to_str().unwrap().to_owned();
    assert_ne!(
        sid, "upstream-1",
        "the client sees the gateway's id, not the backend's"
    );
    assert!(
        headers.get("x-backend-private").is_none(),
        "hop-by-hop response header stripped"
    );
    {
        let seen = &log.lock().unwrap()[0];
        assert!(
            seen.headers.get("authorization").is_none(),
            "no token passthrough"
        );
        assert!(
            seen.headers.get("x-hop").is_none(),
            "header named in Connection stripped"
        );
        assert_eq!(seen.headers["mcp-protocol-version"], "2025-11-25");
        assert_eq!(seen.headers["x-end-to-end"], "kept");
        assert_eq!(&seen.body[..], INIT.as_bytes());
    }

    // Later requests carry the backend's session id upstream.
    let call = r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"slow","_meta":{"progressToken":1}}}"#;
    let (status, headers, chunks) = post(&url, &[("mcp-session-id", &sid)], call).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/event-stream");
    assert_eq!(
        log.lock().unwrap()[1].headers["mcp-session-id"],
        "upstream-1"
    );
    // Each event is flushed as it comes: three chunks, spread over ~600 ms.
    assert_eq!(chunks.len(), 3, "{chunks:?}");
    assert!(
        chunks[2].0 - chunks[0].0 >= Duration::from_millis(450),
        "{chunks:?}"
    );
    let text: String = chunks
        .iter()
        .map(|(_, c)| String::from_utf8_lossy(c).to_string())
        .collect();
    assert!(
        text.contains("id: e1\n") && text.contains("id: e3\n"),
        "{text}"
    );
    assert!(
        text.contains("data: {\"jsonrpc\":\"2.0\",\"id\":7,\ndata: \"result\":{}}\n"),
        "{text}"
    );

    // What cannot be parsed never reaches the backend.
    let before = log.lock().unwrap().len();
    let (status, _, chunks) = post(&url, &[("mcp-session-id", &sid)], "{\"jsonrpc\":").await;
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&chunks[0].1).contains("-32700"));
    let dup = r#"{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"a","name":"b"}}"#;
    let (status, _, _) = post(&url, &[("mcp-session-id", &sid)], dup).await;
    assert_eq!(status, 400);
    assert_eq!(
        log.lock().unwrap().len(),
        before,
        "refused bodies did not reach the backend"
    );

    // Unknown sessions: 404 from the gateway, backend untouched.
    let (status, _, _) = post(&url, &[("mcp-session-id", "nope")], call).await;
    assert_eq!(status, 404);
    assert_eq!(log.lock().unwrap().len(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_forwarded_only_when_configured() {
    let (addr, log) = backend().await;
    let gw = gateway("forward_authorization = true", addr);
    let (status, _, _) = post(
        &format!("{}/mcp", gw.base),
        &[("authorization", "Bearer t")],
        INIT,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(log.lock().unwrap()[0].headers["authorization"], "Bearer t");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_answer_to_a_filtered_list_is_passed_and_counted() {
    let (addr, _log) = backend().await;
    let dir = std::env::temp_dir().join(format!("mcp-gw-rs-list-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let policy = dir.join("policy.json");
    std::fs::write(
        &policy,
        r#"{"authorizations":[{"authorizedFeatures":[{"type":"TOOLS","methods":["TOOLS_LIST"],"patternType":"ANY"}]}]}"#,
    )
    .unwrap();
    let gw = gateway(
        &format!("policy = {:?}", policy.display().to_string()),
        addr,
    );
    let url = format!("{}/mcp", gw.base);
    let (_, headers, _) = post(&url, &[], INIT).await;
    let sid = headers["mcp-session-id"].to_str().unwrap().to_owned();
    let (status, _, chunks) = post(
        &url,
        &[("mcp-session-id", &sid)],
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#,
    )
    .await;
    assert_eq!(status, 200);
    let body: Vec<u8> = chunks.iter().flat_map(|(_, c)| c.to_vec()).collect();
    let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(answer["error"]["code"], -32601, "{answer}");

    // The one-pass list filter said it read an error answer; its code reaches the stats.
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let stats = client
        .get(format!("{}/dashboard/stats", gw.base).parse().unwrap())
        .await
        .unwrap();
    let stats = stats.into_body().collect().await.unwrap().to_bytes();
    let stats: serde_json::Value = serde_json::from_slice(&stats).unwrap();
    let errors = stats["overall"]["rpc_errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .any(|e| e["label"] == "METHOD_NOT_FOUND" && e["count"] == 1),
        "{stats}"
    );
}
