//! Requests and responses that try to sneak past the policy, through the built gateway, with a
//! recording backend behind it (issue 6, "Show").
//!
//! The policy lists and calls `echo` only and denies `get-env` outright. For every trick the
//! test checks what the client gets (HTTP status and JSON-RPC error code), and from the
//! backend's recording that nothing denied or unparseable ever reached it. The server-side
//! tricks (SSE framing, non-`message` events, duplicate keys in list items) check that hidden
//! tools never reach the client.

mod common;
use common::Gateway;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

const POLICY: &str = r#"{
  "authorizations": [
    { "authorizedFeatures": [
        { "type": "TOOLS", "methods": ["TOOLS_LIST", "TOOLS_CALL"], "patternType": "LITERAL", "patternValue": "echo" } ] },
    { "effect": "DENY", "authorizedFeatures": [
        { "type": "TOOLS", "methods": ["TOOLS_LIST", "TOOLS_CALL"], "patternType": "LITERAL", "patternValue": "get-env" } ] }
  ]
}"#;

/// server-everything's real `tools/list` answer (17 tools, `get-env` among them).
const TOOLS_LIST: &str = include_str!("../../core/tests/fixtures/traffic/tools-list.json");

type Log = Arc<Mutex<Vec<Bytes>>>;

/// The `tools/list` answer for request `id`: the captured bytes with only the id replaced, so
/// member order is the server's (a serde round trip would reorder keys depending on
/// `serde_json` features elsewhere in the build, and the tricks below edit the text).
fn tools_list(id: &Value) -> String {
    let body = TOOLS_LIST.trim_end();
    let head = body
        .strip_suffix(r#""id":1}"#)
        .expect("fixture ends with its id");
    format!("{head}\"id\":{id}}}")
}

/// What the backend answers to one JSON-RPC message (a real server matches method names
/// exactly, and reads JSON as `JSON.parse` does: the last duplicate key wins).
fn answer(msg: &Value) -> Option<Value> {
    let id = msg.get("id")?.clone();
    msg.get("method")?;
    Some(match msg["method"].as_str() {
        Some("initialize") => json!({"jsonrpc":"2.0","id":id,"result":{
            "protocolVersion":"2025-11-25","capabilities":{"tools":{}},
            "serverInfo":{"name":"recording","version":"1"}}}),
        Some("tools/list") => serde_json::from_str(&tools_list(&id)).unwrap(),
        Some("tools/call") => json!({"jsonrpc":"2.0","id":id,"result":{"content":[
            {"type":"text","text":format!("called {}", msg["params"]["name"])}]}}),
        _ => json!({"jsonrpc":"2.0","id":id,"error":{"code":-32601,"message":"Method not found"}}),
    })
}

/// The server-side tricks, chosen by the `x-trick` request header (the gateway carries
/// end-to-end headers), for a `tools/list` request with this `id`.
fn trick(name: &str, id: &Value) -> (&'static str, String) {
    let list = tools_list(id);
    let sse = "text/event-stream";
    match name {
        // One JSON text over many `data:` lines: the client joins them with `\n`.
        "split" => (
            sse,
            format!(
                "id: s1\ndata: {}\n\n",
                list.replace(",{\"name\":", ",\ndata: {\"name\":")
            ),
        ),
        // The unfiltered list in events that are not `message` events, then the real answer.
        "other" => (
            sse,
            format!(
                "event: other\nid: o1\ndata: {list}\n\nevent: Message\ndata: {list}\n\n\
                 event: message\nid: o2\ndata: {list}\n\n"
            ),
        ),
        // A list item naming `echo` first and `get-env` second (JSON.parse keeps the second).
        "dupname-sse" | "dupname-json" => {
            let body = list.replacen(
                "{\"name\":\"echo\",",
                "{\"name\":\"echo\",\"name\":\"get-env\",",
                1,
            );
            assert_ne!(body, list, "the duplicate-name trick must apply");
            if name == "dupname-sse" {
                (sse, format!("data: {body}\n\n"))
            } else {
                ("application/json", body)
            }
        }
        // The hidden tool's name spelled with an escape.
        "escaped" => (
            "application/json",
            list.replace("\"name\":\"get-env\"", "\"name\":\"get-\\u0065nv\""),
        ),
        // Unparseable data where the answer should be (trailing garbage after the list).
        "garbage" => (sse, format!("id: g1\ndata: {list} {{\"x\":1}}\n\n")),
        "garbage-json" => ("application/json", format!("{list} {{\"x\":1}}")),
        other => panic!("unknown trick {other}"),
    }
}

/// A backend that records every body it receives and answers valid MCP JSON.
async fn backend() -> (SocketAddr, Log) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let log: Log = Arc::default();
    let log2 = log.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let log = log2.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let log = log.clone();
                    async move {
                        let (parts, body) = req.into_parts();
                        let body = body.collect().await.unwrap().to_bytes();
                        if parts.method == http::Method::POST {
                            log.lock().unwrap().push(body.clone());
                        }
                        let parsed: Option<Value> = serde_json::from_slice(&body).ok();
                        let trick_name = parts.headers.get("x-trick").map(|v| v.to_str().unwrap());
                        let (ctype, text, status) = match (&parsed, trick_name) {
                            (Some(msg), Some(t)) => {
                                let (c, b) = trick(t, &msg["id"]);
                                (c, b, 200)
                            }
                            (Some(Value::Array(batch)), None) => {
                                let answers: Vec<Value> = batch.iter().filter_map(answer).collect();
                                ("application/json", Value::Array(answers).to_string(), 200)
                            }
                            (Some(msg), None) => match answer(msg) {
                                Some(a) => ("application/json", a.to_string(), 200),
                                None => ("application/json", String::new(), 202),
                            },
                            (None, _) => (
                                "application/json",
                                json!({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}).to_string(),
                                400,
                            ),
                        };
                        let resp = http::Response::builder()
                            .status(status)
                            .header("content-type", ctype)
                            .header("mcp-session-id", "upstream-1")
                            .body(Full::new(Bytes::from(text)))
                            .unwrap();
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

fn gateway(backend: SocketAddr) -> Gateway {
    let dir = std::env::temp_dir().join(format!(
        "mcp-gw-attacks-{}-{}",
        std::process::id(),
        backend.port()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let policy = dir.join("policy.json");
    std::fs::write(&policy, POLICY).unwrap();
    let config = dir.join("gateway.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\n[[api]]\nname = \"rec\"\npath = \"/mcp\"\npolicy = {:?}\n\
             backend = {{ url = \"http://{backend}/mcp\" }}\n",
            policy.display().to_string()
        ),
    )
    .unwrap();
    common::start(&config)
}

/// A client answer: status, content type and the JSON-RPC messages in it (JSON or SSE).
#[derive(Debug)]
struct Answer {
    status: u16,
    text: String,
    messages: Vec<Value>,
}

impl Answer {
    fn error_codes(&self) -> Vec<i64> {
        let mut out = Vec::new();
        for m in &self.messages {
            match m {
                Value::Array(items) => {
                    out.extend(items.iter().filter_map(|i| i["error"]["code"].as_i64()));
                }
                m => out.extend(m["error"]["code"].as_i64()),
            }
        }
        out
    }

    /// Every tool name the client would see (`JSON.parse` semantics: last duplicate wins).
    fn tool_names(&self) -> Vec<String> {
        self.messages
            .iter()
            .filter_map(|m| m["result"]["tools"].as_array())
            .flatten()
            .filter_map(|t| t["name"].as_str().map(str::to_owned))
            .collect()
    }
}

async fn post(url: &str, headers: &[(&str, &str)], body: impl Into<Bytes>) -> Answer {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let mut req = http::Request::post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let call = async {
        let resp = client
            .request(req.body(Full::new(body.into())).unwrap())
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let sse = resp
            .headers()
            .get("content-type")
            .is_some_and(|v| v.to_str().unwrap().starts_with("text/event-stream"));
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (status, sse, String::from_utf8(bytes.to_vec()).unwrap())
    };
    let (status, sse, text) = tokio::time::timeout(Duration::from_secs(10), call)
        .await
        .expect("the gateway answers within 10 s");
    let messages = if sse {
        sse_data(&text)
            .iter()
            .map(|d| serde_json::from_str(d).unwrap())
            .collect()
    } else if text.is_empty() {
        Vec::new()
    } else {
        vec![serde_json::from_str(&text).unwrap()]
    };
    Answer {
        status,
        text,
        messages,
    }
}

/// The data of each `message` event, as an EventSource-style client assembles it.
fn sse_data(text: &str) -> Vec<String> {
    text.split("\n\n")
        .filter_map(|block| {
            let mut event = "message";
            let mut data: Vec<&str> = Vec::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    event = v.trim_start();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push(v.strip_prefix(' ').unwrap_or(v));
                }
            }
            (event == "message" && !data.is_empty() && !data.join("").is_empty())
                .then(|| data.join("\n"))
        })
        .collect()
}

const INIT: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;

fn call(id: u32, name: &str) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"{name}","arguments":{{"message":"hi"}}}}}}"#
    )
}

/// Nothing denied or unparseable reached the backend: each recorded body is a body the test
/// expected through, byte for byte, and read the way a server reads it (last duplicate key
/// wins, exact method names) no `tools/call` names anything but `echo`.
fn assert_recording(log: &Log, expected: &[String]) {
    let seen = log.lock().unwrap().clone();
    for body in &seen {
        let text = std::str::from_utf8(body).expect("only UTF-8 reached the backend");
        assert!(
            expected.iter().any(|e| e == text),
            "an unexpected body reached the backend: {text}"
        );
        let v: Value = serde_json::from_str(text).expect("only JSON reached the backend");
        let msgs = match v {
            Value::Array(a) => a,
            m => vec![m],
        };
        for m in msgs {
            if m["method"] == "tools/call" {
                assert_eq!(m["params"]["name"], "echo", "{text}");
            }
        }
    }
    let seen: Vec<String> = seen
        .iter()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .collect();
    for e in expected {
        assert!(
            seen.contains(e),
            "expected body never reached the backend: {e}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_tricks_never_reach_the_backend() {
    let (addr, log) = backend().await;
    let gw = gateway(addr);
    let url = format!("{}/mcp", gw.base);
    let mut expected: Vec<String> = Vec::new();

    let sid_header = gw_session(&url).await;
    expected.push(INIT.to_owned());
    let sid = sid_header.as_str();
    let v25 = ("mcp-protocol-version", "2025-11-25");
    let s = ("mcp-session-id", sid);

    // The allowed call goes through, unchanged.
    let ok = post(&url, &[s, v25], call(2, "echo")).await;
    assert_eq!(ok.status, 200);
    assert_eq!(
        ok.messages[0]["result"]["content"][0]["text"],
        "called \"echo\""
    );
    expected.push(call(2, "echo"));

    // (body, expected HTTP status, expected JSON-RPC code); none may reach the backend.
    let refused: Vec<(String, u16, i64)> = vec![
        // Denied outright.
        (call(3, "get-env"), 200, -32602),
        // Duplicate `name`, also when one spelling is escaped: ambiguous, refused.
        (
            r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"echo","name":"get-env"}}"#.into(),
            400,
            -32600,
        ),
        (
            r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"echo","n\u0061me":"get-env"}}"#.into(),
            400,
            -32600,
        ),
        (
            r#"{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"n\u0061me":"get-env","name":"echo"}}"#.into(),
            400,
            -32600,
        ),
        // Escapes are decoded before judging: these name `get-env`.
        (
            r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"n\u0061me":"get-env"}}"#.into(),
            200,
            -32602,
        ),
        (call(8, r"get-\u0065nv"), 200, -32602),
        (call(9, r"\u0067\u0065\u0074\u002d\u0065\u006e\u0076"), 200, -32602),
        // Control characters in the name or the method.
        (call(10, r"get-env\u0000"), 400, -32602),
        (call(11, r"echo\u0000"), 400, -32602),
        (call(12, r"echo\u001f"), 400, -32602),
        (
            r#"{"jsonrpc":"2.0","id":13,"method":"tools/call\u0000","params":{"name":"get-env"}}"#.into(),
            400,
            -32600,
        ),
        // A raw control character inside a string is not JSON at all.
        (call(14, "get-env\u{1}"), 400, -32700),
        // Trailing data after the one JSON value.
        (format!("{} {}", call(15, "echo"), call(16, "get-env")), 400, -32700),
        (format!("{}x", call(17, "echo")), 400, -32700),
        // Lone surrogates.
        (call(18, r"\ud800"), 400, -32700),
        (call(19, r"get-env\udc00"), 400, -32700),
        // Wrong-typed name or method.
        (
            r#"{"jsonrpc":"2.0","id":20,"method":"tools/call","params":{"name":["get-env"]}}"#.into(),
            400,
            -32602,
        ),
        (
            r#"{"jsonrpc":"2.0","id":21,"method":"tools/call","params":{"name":{"get-env":1}}}"#.into(),
            400,
            -32602,
        ),
        (
            r#"{"jsonrpc":"2.0","id":22,"method":"tools/call","params":{"name":null}}"#.into(),
            400,
            -32602,
        ),
        (
            r#"{"jsonrpc":"2.0","id":23,"method":["tools/call"],"params":{"name":"get-env"}}"#.into(),
            400,
            -32600,
        ),
        // Over-deep JSON (in the arguments of an allowed tool).
        (
            format!(
                r#"{{"jsonrpc":"2.0","id":24,"method":"tools/call","params":{{"name":"echo","arguments":{{"x":{}1{}}}}}}}"#,
                "[".repeat(500),
                "]".repeat(500)
            ),
            400,
            -32700,
        ),
    ];
    for (body, status, code) in &refused {
        let a = post(&url, &[s, v25], body.clone()).await;
        assert_eq!(a.status, *status, "{body} -> {}", a.text);
        assert_eq!(a.error_codes(), [*code], "{body} -> {}", a.text);
    }
    // Invalid UTF-8 in the name.
    let mut raw = call(25, "get-env").into_bytes();
    let at = raw.windows(7).position(|w| w == b"get-env").unwrap();
    raw[at + 3] = 0xff;
    let a = post(&url, &[s, v25], raw).await;
    assert_eq!(
        (a.status, a.error_codes()),
        (400, vec![-32700]),
        "{}",
        a.text
    );

    // Method case tricks. MCP names are case-sensitive, but a loosely matching server would
    // run `Tools/Call` as `tools/call` unjudged, so the engine refuses known methods spelled
    // differently: they never reach the backend.
    for (id, m) in [(26, "Tools/Call"), (27, "TOOLS/CALL"), (28, "tools/Call")] {
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":{id},"method":"{m}","params":{{"name":"get-env"}}}}"#
        );
        let a = post(&url, &[s, v25], body.clone()).await;
        assert_eq!(
            (a.status, a.error_codes()),
            (200, vec![-32601]),
            "{}",
            a.text
        );
    }

    // Batches: under 2025-03-26 one denied message refuses the whole batch, each request
    // answered; a batch of allowed calls goes through and its answer is filtered per message.
    let v03 = ("mcp-protocol-version", "2025-03-26");
    let mixed = format!("[{},{}]", call(30, "echo"), call(31, "get-env"));
    let a = post(&url, &[s, v03], mixed).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let mut codes = a.error_codes();
    codes.sort_unstable();
    assert_eq!(codes, [-32602, -32600], "{}", a.text);
    let allowed = format!(
        r#"[{},{{"jsonrpc":"2.0","id":33,"method":"tools/list"}}]"#,
        call(32, "echo")
    );
    let a = post(&url, &[s, v03], allowed.clone()).await;
    assert_eq!(a.status, 200, "{}", a.text);
    expected.push(allowed);
    let Value::Array(items) = &a.messages[0] else {
        panic!("a batch answer: {}", a.text)
    };
    assert_eq!(items.len(), 2, "{}", a.text);
    let listed: Vec<&str> = items[1]["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        ["echo"],
        "the list inside a batch answer is filtered"
    );
    // Any batch under 2025-06-18 and later is refused.
    for v in ["2025-06-18", "2025-11-25"] {
        let batch = format!("[{},{}]", call(34, "echo"), call(35, "echo"));
        let a = post(&url, &[s, ("mcp-protocol-version", v)], batch).await;
        assert_eq!(
            (a.status, a.error_codes()),
            (400, vec![-32600]),
            "{v}: {}",
            a.text
        );
    }

    // 2026-07-28: `Mcp-Method` / `Mcp-Name` must agree with the body, plain or base64.
    let v26 = ("mcp-protocol-version", "2026-07-28");
    let m = ("mcp-method", "tools/call");
    for (name_header, body_name, status, code) in [
        (Some("echo"), "get-env", 400, -32020),
        (Some("get-env"), "echo", 400, -32020),
        (Some("=?base64?ZWNobw==?="), "get-env", 400, -32020),
        (Some("=?base64?!!!?="), "echo", 400, -32020),
        (None, "echo", 400, -32020),
        (Some("=?base64?Z2V0LWVudg==?="), "get-env", 200, -32602),
        (Some("get-env"), "get-env", 200, -32602),
    ] {
        let mut h = vec![v26, m];
        if let Some(n) = name_header {
            h.push(("mcp-name", n));
        }
        let a = post(&url, &h, call(40, body_name)).await;
        assert_eq!(
            (a.status, a.error_codes()),
            (status, vec![code]),
            "Mcp-Name {name_header:?}, body {body_name}: {}",
            a.text
        );
    }
    let a = post(
        &url,
        &[v26, ("mcp-method", "tools/list"), ("mcp-name", "echo")],
        call(41, "echo"),
    )
    .await;
    assert_eq!(
        (a.status, a.error_codes()),
        (400, vec![-32020]),
        "{}",
        a.text
    );
    // Headers that agree (plain, then base64) go through.
    for n in ["echo", "=?base64?ZWNobw==?="] {
        let a = post(&url, &[v26, m, ("mcp-name", n)], call(42, "echo")).await;
        assert_eq!(a.status, 200, "{}", a.text);
        assert!(a.error_codes().is_empty(), "{}", a.text);
    }
    expected.push(call(42, "echo"));

    assert_recording(&log, &expected);
}

/// Opens a session and returns the gateway's id for it.
async fn gw_session(url: &str) -> String {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let req = http::Request::post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .body(Full::new(Bytes::from(INIT)))
        .unwrap();
    let resp = client.request(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let sid = resp.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_ne!(sid, "upstream-1", "the client sees the gateway's id");
    sid
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_tricks_never_show_hidden_tools() {
    let (addr, log) = backend().await;
    let gw = gateway(addr);
    let url = format!("{}/mcp", gw.base);
    let sid = gw_session(&url).await;
    let s = ("mcp-session-id", sid.as_str());
    let v = ("mcp-protocol-version", "2025-11-25");
    let list = r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#;

    // Plain, then each trick: the client sees `echo` and never `get-env`.
    let plain = post(&url, &[s, v], list).await;
    assert_eq!(plain.tool_names(), ["echo"], "{}", plain.text);
    for t in ["split", "other", "dupname-sse", "dupname-json", "escaped"] {
        let a = post(&url, &[s, v, ("x-trick", t)], list).await;
        assert_eq!(a.status, 200, "{t}: {}", a.text);
        // A list item naming itself twice is ambiguous (which name would the client show?),
        // so it is hidden, echo included.
        let expected: &[&str] = if t.starts_with("dupname") {
            &[]
        } else {
            &["echo"]
        };
        assert_eq!(a.tool_names(), expected, "{t}: {}", a.text);
        assert!(
            !a.text.contains("get-env") && !a.text.contains(r"\u0065nv"),
            "{t}: the hidden tool reached the client: {}",
            a.text
        );
        if t == "other" {
            assert!(
                a.text.contains("id: o1\n"),
                "the stripped event keeps its id: {}",
                a.text
            );
        }
    }
    // An unreadable answer: the client gets an error for its request, not the data.
    let a = post(&url, &[s, v, ("x-trick", "garbage")], list).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert!(!a.text.contains("get-env"), "{}", a.text);
    assert_eq!(a.error_codes(), [-32603], "{}", a.text);
    assert_eq!(a.messages[0]["id"], 2, "{}", a.text);
    // The same as a JSON answer (the one-pass list filter refuses it; so does the gateway).
    let a = post(&url, &[s, v, ("x-trick", "garbage-json")], list).await;
    assert_eq!(a.status, 502, "{}", a.text);
    assert!(!a.text.contains("get-env"), "{}", a.text);
    assert_eq!(a.error_codes(), [-32603], "{}", a.text);
    assert_eq!(a.messages[0]["id"], 2, "{}", a.text);

    // Only the initialize and the list requests reached the backend.
    let seen = log.lock().unwrap().len();
    assert_eq!(seen, 1 + 8, "{:?}", log.lock().unwrap());
}
