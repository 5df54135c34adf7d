//! Trigger conditions end to end through `mcp-policy check` (issue 4): a role header, a scope
//! in `user.roles`, a JWT claim, the tool name via `#mcp.name` and via `#jsonPath` on the
//! request content, an argument value; and the audit of true/false/errored conditions.

use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value, json};

struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Self {
        let d = std::env::temp_dir().join(format!("mcp-policy-cond-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        Self(d)
    }
    fn file(&self, name: &str, v: &Value) -> String {
        let p = self.0.join(name);
        std::fs::write(&p, v.to_string()).unwrap();
        p.to_str().unwrap().to_owned()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

/// A policy granting TOOLS_CALL on ANY tool when `condition` holds.
fn grant_if(condition: &str) -> Value {
    json!({"authorizations": [{"condition": condition, "authorizedFeatures": [
        {"type": "TOOLS", "methods": ["TOOLS_LIST", "TOOLS_CALL"], "patternType": "ANY"}]}]})
}

fn call(name: &str, args: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": name, "arguments": args}})
}

fn check(tag: &str, policy: &Value, message: &Value, context: &Value) -> Value {
    let s = Scratch::new(tag);
    let out = Command::new(env!("CARGO_BIN_EXE_mcp-policy"))
        .args([
            "check",
            "--policy",
            &s.file("p.json", policy),
            "--message",
            &s.file("m.json", message),
        ])
        .args(["--context", &s.file("c.json", context)])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn decision(tag: &str, condition: &str, message: &Value, context: &Value) -> String {
    let v = check(tag, &grant_if(condition), message, context);
    assert_eq!(v["allowed"], v["decision"] == "allow", "{v}");
    assert_eq!(v["status"], 200, "{v}");
    v["decision"].as_str().unwrap().to_owned()
}

#[test]
fn role_header_and_the_list_gotcha() {
    let admin = json!({"request": {"headers": {"X-User-Role": ["admin"]}}});
    let user = json!({"request": {"headers": {"X-User-Role": ["user"]}}});
    let ok = "{#request.headers['x-user-role'][0] == 'admin'}";
    assert_eq!(
        decision("h1", ok, &call("echo", json!({})), &admin),
        "allow"
    );
    assert_eq!(decision("h2", ok, &call("echo", json!({})), &user), "deny");
    // Gravitee's gotcha: a header is a list, so comparing it with a string is false.
    let gotcha = "{#request.headers['x-user-role'] == 'admin'}";
    assert_eq!(
        decision("h3", gotcha, &call("echo", json!({})), &admin),
        "deny"
    );
    let first = "{#request.headers.getFirst('X-USER-ROLE') == 'admin'}";
    assert_eq!(
        decision("h4", first, &call("echo", json!({})), &admin),
        "allow"
    );
}

#[test]
fn scope_in_user_roles() {
    let c = "{#context.attributes['user.roles'].contains('mcp:tools')}";
    let with = json!({"attributes": {"user.roles": ["openid", "mcp:tools"]}});
    let without = json!({"attributes": {"user.roles": ["openid"]}});
    assert_eq!(decision("s1", c, &call("echo", json!({})), &with), "allow");
    assert_eq!(
        decision("s2", c, &call("echo", json!({})), &without),
        "deny"
    );
    // The prefixed spelling Gravitee stores attributes under resolves the same way.
    let prefixed = "{#context.attributes['gravitee.attribute.user.roles'].contains('mcp:tools')}";
    assert_eq!(
        decision("s3", prefixed, &call("echo", json!({})), &with),
        "allow"
    );
}

#[test]
fn jwt_claim() {
    let c = "{#context.attributes['jwt.claims']['tenant'] == 'acme'}";
    let acme = json!({"attributes": {"jwt.claims": {"sub": "alice", "tenant": "acme"}}});
    let other = json!({"attributes": {"jwt.claims": {"sub": "bob", "tenant": "globex"}}});
    assert_eq!(decision("j1", c, &call("echo", json!({})), &acme), "allow");
    assert_eq!(decision("j2", c, &call("echo", json!({})), &other), "deny");
    // oauth.payload is a JSON string (gotcha 2): read it with #jsonPath.
    let payload =
        "{#jsonPath(#context.attributes['oauth.payload'], '$.scope').contains('mcp:read')}";
    let ctx =
        json!({"attributes": {"oauth.payload": "{\"active\":true,\"scope\":\"openid mcp:read\"}"}});
    assert_eq!(
        decision("j3", payload, &call("echo", json!({})), &ctx),
        "allow"
    );
}

#[test]
fn tool_name_via_mcp_and_via_request_content() {
    let none = json!({});
    let by_var = "{#mcp.name matches 'get-.*'}";
    assert_eq!(
        decision("n1", by_var, &call("get-sum", json!({})), &none),
        "allow"
    );
    assert_eq!(
        decision("n2", by_var, &call("echo", json!({})), &none),
        "deny"
    );
    // #request.content defaults to the message being judged.
    let by_path = "{#jsonPath(#request.content, '$.params.name') == 'echo'}";
    assert_eq!(
        decision("n3", by_path, &call("echo", json!({})), &none),
        "allow"
    );
    assert_eq!(
        decision("n4", by_path, &call("get-env", json!({})), &none),
        "deny"
    );
    let attr = "{#context.attributes['mcp_tool_name'] == 'echo'}";
    assert_eq!(
        decision("n5", attr, &call("echo", json!({})), &none),
        "allow"
    );
}

#[test]
fn argument_value() {
    let c = "{#mcp.arguments['a'] < 10 && #mcp.arguments['b'] < 10}";
    assert_eq!(
        decision(
            "a1",
            c,
            &call("get-sum", json!({"a": 1, "b": 2})),
            &json!({})
        ),
        "allow"
    );
    assert_eq!(
        decision(
            "a2",
            c,
            &call("get-sum", json!({"a": 1, "b": 200})),
            &json!({})
        ),
        "deny"
    );
}

#[test]
fn audit_shows_condition_outcomes_and_errors_fail_closed() {
    let policy = json!({"authorizations": [
        {"condition": "{#context.attributes['user.roles'].contains('mcp:admin')}",
         "authorizedFeatures": [{"type": "TOOLS", "methods": ["TOOLS_CALL"], "patternType": "ANY"}]},
        {"authorizedFeatures": [{"type": "TOOLS", "methods": ["TOOLS_CALL"], "patternType": "LITERAL", "patternValue": "echo"}]},
        {"effect": "DENY", "condition": "{#mcp.arguments['n'].length() > 3}",
         "authorizedFeatures": [{"type": "TOOLS", "methods": ["TOOLS_CALL"], "patternType": "LITERAL", "patternValue": "echo"}]}
    ]});
    // The deny condition calls a string method on a number: an evaluation error, so it denies.
    let v = check("d1", &policy, &call("echo", json!({"n": 5})), &json!({}));
    assert_eq!(v["decision"], "deny");
    assert_eq!(v["allowed"], false);
    assert_eq!(v["kind"], "condition_error");
    assert_eq!(v["rule"], 2);
    assert_eq!(v["audit"]["rule"], 2);
    let results = v["audit"]["conditions"]["results"].as_array().unwrap();
    assert_eq!(results[0], json!({"rule": 2, "outcome": "error"}));
    assert!(
        v["audit"]["conditions"]["firstError"]
            .as_str()
            .unwrap()
            .starts_with("rule 2:")
    );
    // The same deny rule with a false condition: the grant of rule 1 applies.
    let v = check("d2", &policy, &call("echo", json!({"n": "ab"})), &json!({}));
    assert_eq!(v["decision"], "allow", "{v}");
    assert_eq!(v["allowed"], true);
    assert_eq!(v["rule"], 1);
    assert_eq!(v["audit"]["rule"], 1);
    // A grant whose condition is false is skipped and recorded.
    let v = check(
        "d3",
        &policy,
        &call("get-sum", json!({})),
        &json!({"attributes": {"user.roles": ["x"]}}),
    );
    assert_eq!(v["decision"], "deny");
    assert_eq!(v["rule"], Value::Null);
    assert_eq!(
        v["audit"]["conditions"]["results"][0],
        json!({"rule": 0, "outcome": "false"})
    );
}
