//! `mcp-policy filter` and `mcp-policy serve` give byte-identical output for the same answer:
//! both are the engine's exchange API, and neither may add a rule of its own. Every stream (the
//! captured server-everything lists and the SSE edge cases) is served by a backend that writes
//! it in two pieces cut at every byte position, through the gateway, and compared with what the
//! command-line filter prints for the whole stream.

mod common;
use common::ChannelBody;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Frame;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

/// One answer to serve: the request it answers and the event stream.
struct Case {
    name: &'static str,
    request: String,
    stream: Vec<u8>,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(root().join("core/tests/fixtures/traffic").join(name)).unwrap()
}

fn request(id: u32, method: &str) -> String {
    format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"{method}","params":{{}}}}"#)
}

fn cases() -> Vec<Case> {
    let list =
        r#"{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"echo"},{"name":"get-env"}]}}"#;
    let sampling = r#"{"jsonrpc":"2.0","id":9,"method":"sampling/createMessage","params":{"messages":[],"maxTokens":5}}"#;
    vec![
        Case {
            name: "tools-list.sse",
            request: request(1, "tools/list"),
            stream: fixture("tools-list.sse"),
        },
        Case {
            name: "prompts-list.sse",
            request: request(17, "prompts/list"),
            stream: fixture("prompts-list.sse"),
        },
        Case {
            name: "resources-list.sse",
            request: request(11, "resources/list"),
            stream: fixture("resources-list.sse"),
        },
        Case {
            name: "resource-templates-list.sse",
            request: request(12, "resources/templates/list"),
            stream: fixture("resource-templates-list.sse"),
        },
        Case {
            name: "BOM and CRLF",
            request: request(1, "tools/list"),
            stream: format!(
                "\u{feff}id: p\r\ndata:\r\n\r\nevent: message\r\nid: e1\r\ndata: {list}\r\n\r\n"
            )
            .into_bytes(),
        },
        Case {
            name: "lone CR",
            request: request(1, "tools/list"),
            stream: format!(": hi\rretry: 500\rdata: {list}\r\r").into_bytes(),
        },
        Case {
            name: "a non-message event carrying the list, then the answer",
            request: request(1, "tools/list"),
            stream: format!("event: other\nid: x\ndata: {list}\n\ndata: {list}\n\n").into_bytes(),
        },
        Case {
            name: "a sampling request in the stream",
            request: request(1, "tools/list"),
            stream: format!("id: s\ndata: {sampling}\n\ndata: {list}\n\n").into_bytes(),
        },
        Case {
            name: "an unreadable event",
            request: request(1, "tools/list"),
            stream: b"data: {\"jsonrpc\":\"2.0\",\"id\":1,\"id\":2,\"result\":{}}\n\n".to_vec(),
        },
        Case {
            name: "a stream cut inside an event",
            request: request(1, "tools/list"),
            stream: format!("id: e1\ndata: {list}\n").into_bytes(),
        },
        Case {
            name: "an answer with an escaped id read as the request's",
            request: request(1, "tools/list"),
            stream: format!(
                "data: {}\n\n",
                list.replace("\"id\":1", "\"id\":\"\\u0031\"")
            )
            .into_bytes(),
        },
    ]
}

/// What the command-line filter prints for a whole stream.
fn cli_output(policy: &Path, case: &Case, dir: &Path) -> Vec<u8> {
    let req = dir.join("request.json");
    let resp = dir.join("response.sse");
    std::fs::write(&req, &case.request).unwrap();
    std::fs::write(&resp, &case.stream).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mcp-policy"))
        .args(["filter", "--content-type", "text/event-stream", "--policy"])
        .arg(policy)
        .arg("--request")
        .arg(&req)
        .arg("--response")
        .arg(&resp)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        case.name,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A backend answering `?case=N&split=P` with case N's stream, written as two body frames cut
/// at byte P; anything else (the gateway's answers to refused server requests) with 202.
async fn backend(streams: Arc<Vec<Vec<u8>>>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            // The two pieces must leave at once: with Nagle's algorithm the second one waits
            // for an acknowledgement the gateway delays (40 ms a request).
            stream.set_nodelay(true).unwrap();
            let streams = streams.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let streams = streams.clone();
                    async move {
                        let query = req.uri().query().unwrap_or("").to_owned();
                        let _ = req.into_body().collect().await;
                        let param = |k: &str| {
                            query
                                .split('&')
                                .find_map(|kv| kv.strip_prefix(k)?.strip_prefix('='))
                                .and_then(|v| v.parse::<usize>().ok())
                        };
                        let (Some(case), Some(split)) = (param("case"), param("split")) else {
                            return Ok::<_, Infallible>(
                                http::Response::builder()
                                    .status(202)
                                    .body(Full::new(Bytes::new()).boxed())
                                    .unwrap(),
                            );
                        };
                        let body = streams[case].clone();
                        let (tx, rx) =
                            tokio::sync::mpsc::channel::<Result<Frame<Bytes>, Infallible>>(2);
                        tokio::spawn(async move {
                            let (a, b) = body.split_at(split);
                            let _ = tx.send(Ok(Frame::data(Bytes::copy_from_slice(a)))).await;
                            tokio::task::yield_now().await;
                            let _ = tx.send(Ok(Frame::data(Bytes::copy_from_slice(b)))).await;
                        });
                        Ok(http::Response::builder()
                            .header("content-type", "text/event-stream")
                            .body(BodyExt::boxed(ChannelBody(rx)))
                            .unwrap())
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    addr
}

/// POSTs `body` to `url` on a kept-alive connection and returns the whole answer body.
async fn post(
    sender: &mut hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    authority: &str,
    path: &str,
    body: &str,
) -> Vec<u8> {
    let req = http::Request::post(path)
        .header("host", authority)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap();
    // The previous answer read to its end does not make the connection ready at once: its
    // task still has to see the end. Sending before that is refused ("connection was not
    // ready"), as hyper documents.
    sender.ready().await.unwrap();
    let resp = sender.send_request(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    resp.into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filter_and_gateway_give_identical_bytes_at_every_split() {
    let dir = std::env::temp_dir().join(format!("mcp-filter-diff-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let policy = root().join("examples/policies/extended.json");
    let cases = cases();
    let expected: Vec<Vec<u8>> = cases.iter().map(|c| cli_output(&policy, c, &dir)).collect();
    // The filter did something in the cases meant to test it.
    assert!(!String::from_utf8_lossy(&expected[0]).contains("\"get-env\""));
    assert!(String::from_utf8_lossy(&expected[0]).contains("\"echo\""));

    let streams = Arc::new(cases.iter().map(|c| c.stream.clone()).collect::<Vec<_>>());
    let backend = backend(streams).await;
    let config = dir.join("gateway.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\n[[api]]\nname = \"diff\"\npath = \"/mcp\"\npolicy = {:?}\nbackend = {{ url = \"http://{backend}/mcp\" }}\n",
            policy.display()
        ),
    )
    .unwrap();
    let gw = common::start(&config);
    let authority = gw.base.trim_start_matches("http://").to_owned();

    // Four connections share the positions of every case.
    let jobs: Vec<(usize, usize)> = cases
        .iter()
        .enumerate()
        .flat_map(|(i, c)| (0..=c.stream.len()).map(move |p| (i, p)))
        .collect();
    let jobs = Arc::new(jobs);
    let cases = Arc::new(cases);
    let expected = Arc::new(expected);
    let mut tasks = Vec::new();
    for worker in 0..4 {
        let (jobs, cases, expected, authority) = (
            jobs.clone(),
            cases.clone(),
            expected.clone(),
            authority.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let tcp = tokio::net::TcpStream::connect(&authority).await.unwrap();
            tcp.set_nodelay(true).unwrap();
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
                .await
                .unwrap();
            tokio::spawn(conn);
            let mut checked = 0;
            for &(case, split) in jobs.iter().skip(worker).step_by(4) {
                let path = format!("/mcp?case={case}&split={split}");
                let got = post(&mut sender, &authority, &path, &cases[case].request).await;
                assert_eq!(
                    String::from_utf8_lossy(&got),
                    String::from_utf8_lossy(&expected[case]),
                    "{} cut at byte {split}",
                    cases[case].name
                );
                checked += 1;
            }
            checked
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    assert_eq!(total, jobs.len());
    let _ = std::fs::remove_dir_all(&dir);
}
