//! `mcp-policy expr` end to end, through the built binary.

use std::io::Write;
use std::process::{Command, Stdio};

fn run(args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mcp-policy"));
    cmd.arg("expr").args(args);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let Some(s) = stdin {
        child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    } else {
        drop(child.stdin.take());
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

const CTX: &str = r#"{"request":{"headers":{"X-User-Role":["admin"]}},"attributes":{"user.roles":["mcp:tools"]}}"#;

#[test]
fn prints_values() {
    let (code, out, _) = run(
        &[
            "{#request.headers['x-user-role'][0] == 'admin'}",
            "--context",
            "-",
        ],
        Some(CTX),
    );
    assert_eq!(code, 0);
    assert_eq!(out.trim(), r#"{"value":true}"#);
    // Gotcha: a header is a list.
    let (_, out, _) = run(
        &[
            "{#request.headers['x-user-role'] == 'admin'}",
            "--context",
            "-",
        ],
        Some(CTX),
    );
    assert_eq!(out.trim(), r#"{"value":false}"#);
    let (_, out, _) = run(
        &["{#request.headers['x-user-role']}", "--context", "-"],
        Some(CTX),
    );
    assert_eq!(out.trim(), r#"{"value":["admin"]}"#);
    let (_, out, _) = run(
        &[
            "{#request.headers['x-user-role']}",
            "--context",
            "-",
            "--type",
            "string",
        ],
        Some(CTX),
    );
    assert_eq!(out.trim(), r#"{"value":"admin"}"#);
    let (_, out, _) = run(
        &["{#context.attributes['nope']}", "--context", "-"],
        Some(CTX),
    );
    assert_eq!(out.trim(), r#"{"value":null}"#);
    let (_, out, _) = run(&["{1 == 1}", "--type", "string"], None);
    assert_eq!(out.trim(), r#"{"value":"{1 == 1}"}"#);
    let (_, out, _) = run(&["true", "--type", "boolean"], None);
    assert_eq!(out.trim(), r#"{"value":true}"#);
}

#[test]
fn reads_the_message() {
    let dir = std::env::temp_dir().join(format!("mcp-policy-cli-expr-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let msg = dir.join("msg.json");
    std::fs::write(&msg, r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_weather","arguments":{"city":"Paris"}}}"#).unwrap();
    let m = msg.to_str().unwrap();
    let (_, out, _) = run(
        &[
            "{#mcp.name matches 'get_.*' && #mcp.arguments.city == 'Paris'}",
            "--message",
            m,
        ],
        None,
    );
    assert_eq!(out.trim(), r#"{"value":true}"#);
    let (_, out, _) = run(
        &[
            "{#jsonPath(#request.content, '$.params.name')}",
            "--message",
            m,
        ],
        None,
    );
    assert_eq!(out.trim(), r#"{"value":"get_weather"}"#);
    let (_, out, _) = run(
        &["{#context.attributes['mcp_tool_name']}", "--message", m],
        None,
    );
    assert_eq!(out.trim(), r#"{"value":"get_weather"}"#);
}

#[test]
fn errors_are_json_with_positions() {
    let (code, out, _) = run(&["{#request.headers['x'] ==}"], None);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["error"]["code"], "INVALID_EXPRESSION");
    assert_eq!(v["error"]["position"], 25);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expected a value")
    );
    let (code, out, _) = run(&["{(1 / 0)}"], None);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["error"]["code"], "EVALUATION_FAILED");
    assert_eq!(v["error"]["message"], "division by zero");
    assert_eq!(v["error"]["position"], 2);
}

#[test]
fn unusable_inputs_exit_2() {
    let (code, out, err) = run(&["{#a}", "--context", "/nonexistent/ctx.json"], None);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(err.contains("/nonexistent/ctx.json"), "{err}");
    let (code, _, err) = run(&["{#a}", "--context", "-"], Some("{not json"));
    assert_eq!(code, 2);
    assert!(err.contains("context `-`"), "{err}");
}

#[test]
fn a_request_content_that_is_an_mcp_message_fills_mcp() {
    let ctx = r#"{"request":{"content":"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Paris\"}}}"}}"#;
    let (code, out, err) = run(
        &[
            "{#mcp.name + ' ' + #context.attributes['mcp_tool_name'] + ' ' + #mcp.arguments['city']}",
            "--context",
            "-",
        ],
        Some(ctx),
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), r#"{"value":"get_weather get_weather Paris"}"#);
}
