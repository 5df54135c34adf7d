//! `mcp-policy filter` end to end, through the built binary: the request and the server's
//! answer are judged with the exchange API as the gateway judges them, and the output is the
//! exact bytes the client would get (or, with `--json`, the engine's answers).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

const EXTENDED: &str = "examples/policies/extended.json";

/// Tools for everyone, sampling refused (a server request the policy governs).
const NO_SAMPLING: &str = r#"{"authorizations":[
  {"authorizedFeatures":[{"type":"TOOLS","methods":["TOOLS_LIST","TOOLS_CALL"],"patternType":"ANY"}]},
  {"effect":"DENY","authorizedFeatures":[{"type":"SAMPLING","methods":["SAMPLING_CREATE_MESSAGE"],"patternType":"ANY"}]}]}"#;

const LIST_1: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
/// A list answer to `LIST_1` holding a tool `extended.json` hides.
const TOOLS: &str =
    r#"{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"echo"},{"name":"get-env"}]}}"#;
/// `TOOLS` as the client gets it under `extended.json`.
const TOOLS_SEEN: &str = r#"{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"echo"}]}}"#;

struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Self {
        let d =
            std::env::temp_dir().join(format!("mcp-policy-filter-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        Self(d)
    }

    fn file(&self, name: &str, bytes: &[u8]) -> String {
        let p = self.0.join(name);
        std::fs::write(&p, bytes).unwrap();
        p.to_str().unwrap().to_owned()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

struct Run {
    code: i32,
    out: Vec<u8>,
    err: String,
}

impl Run {
    fn text(&self) -> String {
        String::from_utf8(self.out.clone()).unwrap()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.out).unwrap()
    }
}

/// `mcp-policy filter --policy POLICY --request REQUEST --response RESPONSE EXTRA…`; a policy
/// starting with `{` is written to a file first, any other is a path from the repository root.
fn filter(tag: &str, policy: &str, request: &str, response: &[u8], extra: &[&str]) -> Run {
    let s = Scratch::new(tag);
    let policy = if policy.starts_with('{') {
        s.file("policy.json", policy.as_bytes())
    } else {
        policy.to_owned()
    };
    let out = Command::new(env!("CARGO_BIN_EXE_mcp-policy"))
        .args(["filter", "--policy", &policy])
        .args(["--request", &s.file("request.json", request.as_bytes())])
        .args(["--response", &s.file("response", response)])
        .args(extra)
        .current_dir(root())
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        out: out.stdout,
        err: String::from_utf8(out.stderr).unwrap(),
    }
}

/// What `--json` shows of the client verdict for a forwarded request.
fn forwarded(method: &str, id: &str, subject: Value) -> Value {
    json!({
        "verdict": "forward",
        "contentType": "application/json",
        "summary": {"method": method, "subject": subject, "requests": 1, "initialize": false, "firstId": id},
    })
}

fn notes(set: Value) -> Value {
    let mut n = json!({
        "answered": 0, "withheld": 0, "refused": 0, "dropped": 0, "hidden": 0, "failed": 0,
        "errorCode": null, "failure": null,
    });
    for (k, v) in set.as_object().unwrap() {
        n[k] = v.clone();
    }
    n
}

#[test]
fn the_captured_stream_keeps_every_tool_but_get_env() {
    let fixture = std::fs::read(root().join("core/tests/fixtures/traffic/tools-list.sse")).unwrap();
    let r = filter("fixture", EXTENDED, LIST_1, &fixture, &[]);
    assert_eq!(r.code, 0, "{}", r.err);
    let out = r.text();
    // Two events: a priming event with empty data, then the list answer.
    let text = String::from_utf8(fixture).unwrap();
    let (head, rest) = text.split_once("data: {").unwrap();
    let data_in = format!("{{{}", rest.strip_suffix("\n\n").unwrap());
    // Events are written out again from what was parsed: the empty data loses its space.
    let data_out = out
        .strip_prefix(&head.replace("data: \n", "data:\n"))
        .and_then(|o| o.strip_prefix("data: "))
        .and_then(|o| o.strip_suffix("\n\n"))
        .unwrap_or_else(|| panic!("{out}"));
    // The list answer loses get-env and nothing else: the tool is spliced out of the
    // server's text, the rest passes byte for byte.
    let at = data_in.find(r#",{"name":"get-env""#).unwrap();
    let cut = data_in.len() - data_out.len();
    let tool: Value = serde_json::from_str(&data_in[at + 1..at + cut]).unwrap();
    assert_eq!(tool["name"], "get-env");
    assert_eq!(
        data_out,
        format!("{}{}", &data_in[..at], &data_in[at + cut..])
    );
    let v: Value = serde_json::from_str(data_out).unwrap();
    let names: Vec<&str> = v["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 16);
    assert!(!names.contains(&"get-env"));
    // The same list as JSON under the Gravitee example: only get-sum is granted without a role.
    let json = std::fs::read(root().join("core/tests/fixtures/traffic/tools-list.json")).unwrap();
    let r = filter(
        "fixture-json",
        "examples/policies/gravitee.json",
        LIST_1,
        &json,
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.err);
    let mut expected: Value = serde_json::from_slice(&json).unwrap();
    expected["result"]["tools"]
        .as_array_mut()
        .unwrap()
        .retain(|t| t["name"] == "get-sum");
    assert_eq!(r.json(), expected);
}

#[test]
fn a_byte_order_mark_is_skipped_and_the_list_still_filtered() {
    let body = format!("\u{feff}data: {TOOLS}\n\n");
    let r = filter("bom", EXTENDED, LIST_1, body.as_bytes(), &[]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(r.text(), format!("data: {TOOLS_SEEN}\n\n"));
}

#[test]
fn crlf_line_ends_are_read_as_clients_read_them() {
    let body = format!("event: message\r\nid: e1\r\ndata: {TOOLS}\r\n\r\n");
    let r = filter("crlf", EXTENDED, LIST_1, body.as_bytes(), &[]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(
        r.text(),
        format!("event: message\nid: e1\ndata: {TOOLS_SEEN}\n\n")
    );
}

#[test]
fn the_data_of_another_event_type_never_passes() {
    // A lenient client might read the `other` event's list, which nothing judged: only its id
    // passes (so Last-Event-ID still advances).
    let body = format!("event: other\nid: o1\ndata: {TOOLS}\n\ndata: {TOOLS}\n\n");
    let r = filter("other", EXTENDED, LIST_1, body.as_bytes(), &[]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(r.text(), format!("id: o1\n\ndata: {TOOLS_SEEN}\n\n"));
    let r = filter("other-json", EXTENDED, LIST_1, body.as_bytes(), &["--json"]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(
        r.json()["step"]["notes"],
        notes(json!({"answered": 1, "dropped": 1, "hidden": 1}))
    );
}

#[test]
fn an_unreadable_event_ends_the_stream_with_an_error_for_the_request() {
    let request = r#"{"jsonrpc":"2.0","id":42,"method":"tools/list"}"#;
    let body = b"data: {\"jsonrpc\":\"2.0\",\"id\":42,\"result\":\n\n\
                 data: {\"jsonrpc\":\"2.0\",\"id\":42,\"result\":{\"tools\":[]}}\n\n";
    let why = "The server sent an event the gateway cannot read: unexpected end of input, \
               expected a JSON value (at byte 34): send exactly one valid JSON value (RFC 8259)";
    let error =
        format!(r#"{{"jsonrpc":"2.0","id":42,"error":{{"code":-32603,"message":"{why}"}}}}"#);
    let r = filter("unreadable", EXTENDED, request, body, &[]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(r.text(), format!("event: message\ndata: {error}\n\n"));
    let r = filter("unreadable-json", EXTENDED, request, body, &["--json"]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(
        r.json(),
        json!({
            "client": forwarded("tools/list", "42", Value::Null),
            "head": "stream",
            "step": {
                "toClient": format!("event: message\ndata: {error}\n\n"),
                "toServer": [],
                "end": true,
                "notes": notes(json!({"failed": 1, "errorCode": -32603, "failure": why})),
            },
            "toServer": [],
        })
    );
}

#[test]
fn a_stream_cut_inside_an_event_answers_the_request_with_an_error() {
    let request = r#"{"jsonrpc":"2.0","id":42,"method":"tools/list"}"#;
    let r = filter(
        "cut",
        EXTENDED,
        request,
        br#"data: {"jsonrpc":"2.0","id":42,"result":{"tools":[]}}"#,
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(
        r.text(),
        "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":42,\"error\":{\"code\":-32603,\
         \"message\":\"The server's event stream ended inside an event (no blank line after \
         it)\"}}\n\n"
    );
}

#[test]
fn a_refused_server_request_goes_back_to_the_server_not_to_the_client() {
    let call =
        r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{}}}"#;
    let sampling = r#"{"jsonrpc":"2.0","id":"s1","method":"sampling/createMessage","params":{"messages":[],"maxTokens":10}}"#;
    let result = r#"{"jsonrpc":"2.0","id":7,"result":{"content":[]}}"#;
    let body = format!("id: a\ndata: {sampling}\n\nid: b\ndata: {result}\n\n");
    let r = filter("sampling", NO_SAMPLING, call, body.as_bytes(), &[]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(r.text(), format!("id: a\n\nid: b\ndata: {result}\n\n"));
    let r = filter(
        "sampling-json",
        NO_SAMPLING,
        call,
        body.as_bytes(),
        &["--json"],
    );
    assert_eq!(r.code, 0, "{}", r.err);
    let refusal = r#"{"jsonrpc":"2.0","id":"s1","error":{"code":-32601,"message":"Method not found: sampling/createMessage"}}"#;
    assert_eq!(
        r.json(),
        json!({
            "client": forwarded("tools/call", "7", json!("echo")),
            "head": "stream",
            "step": {
                "toClient": format!("id: a\n\nid: b\ndata: {result}\n\n"),
                "toServer": [refusal],
                "end": true,
                "notes": notes(json!({"answered": 1, "refused": 1})),
            },
            "toServer": [refusal],
        })
    );
}

#[test]
fn a_json_answer_is_filtered_whole() {
    let r = filter("json", EXTENDED, LIST_1, TOOLS.as_bytes(), &[]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(r.text(), TOOLS_SEEN);
    let r = filter("json-json", EXTENDED, LIST_1, TOOLS.as_bytes(), &["--json"]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(
        r.json(),
        json!({
            "client": forwarded("tools/list", "1", Value::Null),
            "head": "whole",
            "answer": {
                "status": 200,
                "contentType": "application/json",
                "body": TOOLS_SEEN,
                "toServer": [],
                "notes": notes(json!({"answered": 1, "hidden": 1})),
            },
            "toServer": [],
        })
    );
    // An answer passed unchanged is the server's bytes, spacing and all.
    let spaced =
        " { \"jsonrpc\": \"2.0\", \"id\": 1, \"result\": {\"tools\": [{\"name\": \"echo\"}]} }\n";
    let r = filter("json-same", EXTENDED, LIST_1, spaced.as_bytes(), &[]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(r.text(), spaced);
}

#[test]
fn the_content_type_decides_how_the_answer_is_read() {
    // Declared as an event stream, a JSON-looking body is read as events: this one holds no
    // complete event, so the request gets an error.
    let r = filter(
        "ct-sse",
        EXTENDED,
        LIST_1,
        TOOLS.as_bytes(),
        &["--content-type", "text/event-stream"],
    );
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(
        r.text().starts_with(
            "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32603,"
        ),
        "{}",
        r.text()
    );
    // A type the engine does not read is never delivered: 502 with an error for the request.
    let r = filter(
        "ct-html",
        EXTENDED,
        LIST_1,
        TOOLS.as_bytes(),
        &["--content-type", "text/html"],
    );
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(
        r.text(),
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32603,\"message\":\"The server sent \
         an answer the gateway cannot judge: the server answered with Content-Type `text/html`: \
         the engine reads only UTF-8 `application/json` and `text/event-stream`: declare \
         UTF-8 `application/json` (an answer may also be `text/event-stream`) and send it \
         without Content-Encoding\"}}"
    );
    assert!(r.err.contains("HTTP 502"), "{}", r.err);
}

#[test]
fn a_refused_request_prints_the_reply_the_client_gets() {
    let call = r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"get-env"}}"#;
    let r = filter(
        "denied",
        "examples/policies/gravitee.json",
        call,
        TOOLS.as_bytes(),
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(
        r.text(),
        r#"{"jsonrpc":"2.0","id":3,"error":{"code":-32602,"message":"Unknown tool: get-env"}}"#
    );
    assert!(r.err.contains("not forwarded"), "{}", r.err);
    assert_eq!(r.err.lines().count(), 1, "{}", r.err);
    let r = filter(
        "denied-json",
        "examples/policies/gravitee.json",
        call,
        TOOLS.as_bytes(),
        &["--json"],
    );
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(r.json()["client"]["verdict"], "reply");
    assert_eq!(r.json()["client"]["kind"], "denied");
    assert_eq!(r.json()["toServer"], json!([]));
    assert!(r.json().get("head").is_none());
    // An unreadable request is refused too, with the error a client gets.
    let r = filter("invalid", EXTENDED, "{bad", TOOLS.as_bytes(), &[]);
    assert_eq!(r.code, 0, "{}", r.err);
    let v = r.json();
    assert_eq!(v["id"], Value::Null);
    assert_eq!(v["error"]["code"], -32700);
    assert!(r.err.contains("not forwarded"), "{}", r.err);
}
