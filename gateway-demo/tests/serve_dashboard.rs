//! The dashboard (`/dashboard`, `/dashboard/stats`) through the built gateway, and stdio
//! backends that write a line that is not JSON-RPC: the request waiting for it must get a
//! `-32603` error instead of hanging.
//!
//! The backend is a fake MCP server in a few lines of Python run over stdio: `tools/call` of
//! `garbage` is "answered" with a line of plain text, `resources/read` with `-32002`, anything
//! else with an empty result. The policy denies the tool `secret`.

mod common;
use common::Gateway;

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};

const FAKE_SERVER: &str = r#"
import json, sys
for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    m = json.loads(line)
    if "id" not in m or "method" not in m:
        continue
    method, params = m["method"], m.get("params") or {}
    if method == "tools/call" and params.get("name") == "garbage":
        print("Server listening (a log line on stdout, not JSON-RPC)", flush=True)
        continue
    if method == "resources/read":
        err = {"code": -32002, "message": "Resource not found"}
        print(json.dumps({"jsonrpc": "2.0", "id": m["id"], "error": err}), flush=True)
        continue
    result = {}
    if method == "initialize":
        result = {"protocolVersion": params.get("protocolVersion"), "capabilities": {"tools": {}},
                  "serverInfo": {"name": "fake", "version": "1"}}
    elif method == "tools/call":
        result = {"content": [{"type": "text", "text": "ok"}]}
    print(json.dumps({"jsonrpc": "2.0", "id": m["id"], "result": result}), flush=True)
"#;

const POLICY: &str = r#"{
  "authorizations": [
    { "authorizedFeatures": [
        { "type": "TOOLS", "methods": ["TOOLS_LIST", "TOOLS_CALL"], "patternType": "ANY" },
        { "type": "RESOURCES", "methods": ["RESOURCES_LIST", "RESOURCES_READ"], "patternType": "ANY" },
        { "type": "PROMPTS", "methods": ["PROMPTS_LIST", "PROMPTS_GET"], "patternType": "ANY" } ] },
    { "effect": "DENY", "authorizedFeatures": [
        { "type": "TOOLS", "methods": ["TOOLS_LIST", "TOOLS_CALL"], "patternType": "LITERAL", "patternValue": "secret" } ] }
  ]
}"#;

fn gateway(name: &str) -> Gateway {
    let dir = std::env::temp_dir().join(format!("mcp-gw-dash-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("fake_server.py");
    std::fs::write(&script, FAKE_SERVER).unwrap();
    let policy = dir.join("policy.json");
    std::fs::write(&policy, POLICY).unwrap();
    let config = dir.join("gateway.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\n[[api]]\nname = \"fake\"\npath = \"/mcp\"\npolicy = {:?}\n\
             backend = {{ command = [\"python3\", {:?}] }}\n",
            policy.display().to_string(),
            script.display().to_string()
        ),
    )
    .unwrap();
    common::start(&config)
}

/// Status, headers and body of one request; fails the test instead of hanging.
async fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, http::HeaderMap, String) {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let mut req = http::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(Full::new(Bytes::from(body.to_owned()))).unwrap();
    let fut = async {
        let resp = client.request(req).await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        (status, headers, String::from_utf8_lossy(&body).into_owned())
    };
    tokio::time::timeout(Duration::from_secs(10), fut)
        .await
        .unwrap_or_else(|_| panic!("{method} {url} {body}: no complete answer in 10 s"))
}

/// The JSON-RPC messages of an SSE or JSON body.
fn messages(body: &str) -> Vec<Value> {
    if let Ok(v) = serde_json::from_str::<Value>(body) {
        return vec![v];
    }
    body.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str(d.trim()).ok())
        .collect()
}

struct Client {
    url: String,
    session: String,
    next_id: u64,
}

impl Client {
    async fn connect(base: &str) -> Self {
        let url = format!("{base}/mcp");
        let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"}}});
        let (status, headers, _) =
            request("POST", &url, &Self::headers(None), &init.to_string()).await;
        assert_eq!(status, 200);
        let session = headers["mcp-session-id"].to_str().unwrap().to_owned();
        let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        let (status, _, _) = request(
            "POST",
            &url,
            &Self::headers(Some(&session)),
            &note.to_string(),
        )
        .await;
        assert_eq!(status, 202);
        Self {
            url,
            session,
            next_id: 1,
        }
    }

    fn headers(session: Option<&str>) -> Vec<(&str, &str)> {
        let mut h = vec![
            ("content-type", "application/json"),
            ("accept", "application/json, text/event-stream"),
            ("mcp-protocol-version", "2025-06-18"),
        ];
        if let Some(s) = session {
            h.push(("mcp-session-id", s));
        }
        h
    }

    /// Sends one request; returns the HTTP status and the messages answered.
    async fn call(&mut self, method: &str, params: Value) -> (u16, Vec<Value>) {
        let id = self.next_id;
        self.next_id += 1;
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let headers = Self::headers(Some(&self.session));
        let (status, _, text) = request("POST", &self.url, &headers, &body.to_string()).await;
        (status, messages(&text))
    }
}

/// Calls, allowed and denied of one tool in the stats JSON.
fn tool(all: &Value, name: &str) -> (u64, u64, u64) {
    let e = all["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {all}"));
    let n = |k: &str| e[k].as_u64().unwrap();
    (n("count"), n("allowed"), n("denied"))
}

fn count(list: &Value, name: &str) -> u64 {
    list.as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name || e["label"] == name)
        .map_or(0, |e| e["count"].as_u64().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_stdio_line_answers_the_waiting_request() {
    let gw = gateway("garbage");
    let mut c = Client::connect(&gw.base).await;
    let (status, msgs) = c.call("tools/call", json!({"name": "garbage"})).await;
    assert_eq!(status, 200);
    let answer = msgs
        .iter()
        .find(|m| m.get("id").is_some())
        .expect("an answer");
    assert_eq!(answer["id"], 1);
    assert_eq!(answer["error"]["code"], -32603, "{answer}");
    assert!(
        !answer.to_string().contains("Server listening"),
        "the unreadable line itself is never delivered: {answer}"
    );
    // The session goes on: the process is still there and answers.
    let (_, msgs) = c.call("tools/call", json!({"name": "echo"})).await;
    assert_eq!(msgs.last().unwrap()["result"]["content"][0]["text"], "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_page_and_stats() {
    let gw = gateway("stats");
    let mut c = Client::connect(&gw.base).await;
    c.call("tools/call", json!({"name": "echo"})).await;
    c.call("tools/call", json!({"name": "echo"})).await;
    c.call("tools/call", json!({"name": "secret"})).await;
    c.call("tools/call", json!({"name": "garbage"})).await;
    c.call("resources/read", json!({"uri": "file:///missing"}))
        .await;
    c.call("prompts/get", json!({"name": "greeting"})).await;

    let stats_url = format!("{}/dashboard/stats", gw.base);
    let (status, headers, body) = request("GET", &stats_url, &[], "").await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/json");
    let j: Value = serde_json::from_str(&body).unwrap();
    let all = &j["overall"];
    // initialize, notifications/initialized and the six calls.
    assert_eq!(all["total"], 8, "{all}");
    assert_eq!(all["sessions"], 1);
    assert_eq!(count(&all["methods"], "tools/call"), 4);
    assert_eq!(count(&all["methods"], "initialize"), 1);
    assert_eq!(count(&all["tools"], "echo"), 2);
    assert_eq!(count(&all["tools"], "secret"), 1);
    assert_eq!(count(&all["tools"], "garbage"), 1);
    assert_eq!(tool(all, "echo"), (2, 2, 0));
    assert_eq!(tool(all, "secret"), (1, 0, 1));
    // Let through, then failed in the backend: neither allowed nor denied in the end.
    assert_eq!(tool(all, "garbage"), (1, 0, 0));
    assert_eq!(count(&all["http_methods"], "POST"), 8);
    assert_eq!(all["http_methods"].as_array().unwrap().len(), 1);
    assert_eq!(count(&all["resources"], "file:///missing"), 1);
    assert_eq!(count(&all["prompts"], "greeting"), 1);
    assert_eq!(count(&all["decisions"], "deny"), 1);
    assert_eq!(count(&all["decisions"], "error"), 1);
    assert_eq!(count(&all["rpc_errors"], "INTERNAL_ERROR"), 1);
    assert_eq!(count(&all["rpc_errors"], "RESOURCE_NOT_FOUND"), 1);
    assert!(count(&all["status_classes"], "2xx") >= 7, "{all}");
    let lat = &all["latency_ms"];
    assert!(lat["min"].as_f64().unwrap() <= lat["avg"].as_f64().unwrap());
    assert!(lat["avg"].as_f64().unwrap() <= lat["max"].as_f64().unwrap());
    let per_second: u64 = all["series"]["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(per_second, 8);
    let denied: u64 = all["series"]["denied"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(denied, 1);
    assert_eq!(j["apis"][0]["name"], "fake");
    assert_eq!(j["apis"][0]["total"], 8);
    // Dashboard requests are not traffic.
    let (_, _, again) = request("GET", &stats_url, &[], "").await;
    let again: Value = serde_json::from_str(&again).unwrap();
    assert_eq!(again["overall"]["total"], 8);

    let page_url = format!("{}/dashboard", gw.base);
    let (status, headers, page) = request("GET", &page_url, &[], "").await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert!(page.starts_with("<!doctype html>"));
    assert!(page.contains("/stats"));
    for external in ["src=\"http", "href=\"http", "@import", "url(http"] {
        assert!(!page.contains(external), "self-contained: {external}");
    }
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    let (status, _, _) = request("GET", &format!("{page_url}/"), &[], "").await;
    assert_eq!(status, 200);

    // The APIs' DNS-rebinding protection covers the dashboard too.
    let (status, _, _) = request("GET", &page_url, &[("host", "evil.example")], "").await;
    assert_eq!(status, 403);
    let evil_origin = [("origin", "http://evil.example")];
    let (status, _, _) = request("GET", &stats_url, &evil_origin, "").await;
    assert_eq!(status, 403);
    let (status, _, _) = request("POST", &stats_url, &[], "{}").await;
    assert_eq!(status, 405);

    // Ending the session is an HTTP verb of its own, not an MCP method.
    let (status, _, _) = request("DELETE", &c.url, &Client::headers(Some(&c.session)), "").await;
    assert_eq!(status, 200);
    let (_, _, body) = request("GET", &stats_url, &[], "").await;
    let all = serde_json::from_str::<Value>(&body).unwrap()["overall"].clone();
    assert_eq!(all["total"], 9);
    assert_eq!(count(&all["http_methods"], "DELETE"), 1);
    assert_eq!(count(&all["methods"], "DELETE"), 0);
    let methods: u64 = all["methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["count"].as_u64().unwrap())
        .sum();
    assert_eq!(methods, 8, "{all}");

    // /metrics has the same counts.
    let (status, _, text) = request("GET", &format!("{}/metrics", gw.base), &[], "").await;
    assert_eq!(status, 200);
    for line in [
        "mcp_gateway_tool_calls_total{api=\"fake\",tool=\"echo\",decision=\"allow\"} 2",
        "mcp_gateway_tool_calls_total{api=\"fake\",tool=\"secret\",decision=\"deny\"} 1",
        "mcp_gateway_tool_calls_total{api=\"fake\",tool=\"garbage\",decision=\"error\"} 1",
        "mcp_gateway_decisions_total{api=\"fake\",decision=\"deny\"} 1",
        "mcp_gateway_rpc_errors_total{api=\"fake\",code=\"-32603\"} 1",
        "mcp_gateway_rpc_errors_total{api=\"fake\",code=\"-32002\"} 1",
        "mcp_gateway_request_duration_seconds_count{api=\"fake\",http_method=\"DELETE\",\
         method=\"(none)\"} 1",
        "mcp_gateway_request_duration_seconds_count{api=\"fake\",http_method=\"POST\",\
         method=\"tools/call\"} 4",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
    }
}
