//! The README's "Policies" commands, run against the built binary with the same files.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mcp-policy"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn check(policy: &str, message: &str, context: Option<&str>) -> Value {
    let mut args = vec!["check", "--policy", policy, "--message", message];
    if let Some(c) = context {
        args.extend(["--context", c]);
    }
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn readme_shows_the_example_files_verbatim() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    for f in [
        "examples/policies/gravitee.json",
        "examples/policies/extended.json",
    ] {
        let text = std::fs::read_to_string(root().join(f)).unwrap();
        assert!(readme.contains(text.trim_end()), "README lost {f}");
    }
}

#[test]
fn gravitee_policy_as_in_the_readme() {
    let p = "examples/policies/gravitee.json";
    let user = check(
        p,
        "examples/messages/call-get-env.json",
        Some("examples/messages/context-user.json"),
    );
    assert_eq!(user["decision"], "deny");
    assert_eq!(user["allowed"], false);
    assert_eq!(user["rule"], Value::Null, "no rule granted it");
    assert_eq!(user["status"], 200);
    assert_eq!(user["error"]["code"], -32602);
    assert_eq!(user["error"]["message"], "Unknown tool: get-env");
    assert_eq!(user["response"]["id"], 1);
    let admin = check(
        p,
        "examples/messages/call-get-env.json",
        Some("examples/messages/context-admin.json"),
    );
    assert_eq!(admin["decision"], "allow", "{admin}");
    assert_eq!(admin["allowed"], true);
    assert_eq!(admin["reason"], "granted");
    assert_eq!(admin["rule"], 1);
    assert_eq!(admin["status"], 200);
    assert_eq!(admin["audit"]["rule"], 1);
    let sum = check(
        p,
        "examples/messages/call-get-sum.json",
        Some("examples/messages/context-user.json"),
    );
    assert_eq!(sum["decision"], "allow");
    assert_eq!(sum["rule"], 0);
    assert_eq!(sum["audit"]["rule"], 0);
}

#[test]
fn extended_policy_as_in_the_readme() {
    let p = "examples/policies/extended.json";
    let env = check(p, "examples/messages/call-get-env.json", None);
    assert_eq!(env["kind"], "denied_by_rule");
    assert_eq!(env["rule"], 1);
    assert_eq!(env["error"]["code"], -32010);
    assert_eq!(
        env["error"]["data"]["reason"],
        "denied by rule 1 (`never dump the environment`)"
    );
    let read = check(p, "examples/messages/read-features.json", None);
    assert_eq!(read["status"], 403);
    assert_eq!(read["allowed"], false);
    assert_eq!(read["requiredScopes"], serde_json::json!(["docs:read"]));
    let granted = check(
        p,
        "examples/messages/read-features.json",
        Some("examples/messages/context-admin.json"),
    );
    assert_eq!(granted["decision"], "deny", "admin lacks docs:read");
}

#[test]
fn lint_reports_against_a_real_tools_list() {
    let dir = std::env::temp_dir().join(format!("mcp-policy-lint-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("p.json");
    std::fs::write(&p, r#"{"authorizations":[{"condition":"{#request.headers['x-role'] == 'admin'}","authorizedFeatures":[{"type":"TOOLS","methods":["TOOLS_CALL"],"patternType":"LITERAL","patternValue":"get_weather"}]}]}"#).unwrap();
    let (code, out, err) = run(&[
        "lint",
        "--policy",
        p.to_str().unwrap(),
        "--tools",
        "core/tests/fixtures/traffic/tools-list.json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let msgs: Vec<&str> = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["message"].as_str().unwrap())
        .collect();
    assert!(
        msgs.iter().any(|m| m.contains("matches no tool")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter().any(|m| m.contains("a header is a list")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter().any(|m| m.contains("callable but not listed")),
        "{msgs:?}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn lint_exits_1_on_errors_and_reports_every_problem_in_one_run() {
    let dir = std::env::temp_dir().join(format!("mcp-policy-lint-all-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Four independent problems: an unknown method and an unknown pattern type (read errors),
    // a condition that does not compile and a regex that does not compile (compile errors),
    // in different rules. Before, the read errors hid the other two.
    let p = dir.join("broken.json");
    std::fs::write(&p, r#"{"completion":"pass","subscriptions":"pass","tasks":"pass","authorizations":[
        {"authorizedFeatures":[{"type":"TOOLS","methods":["TOOLS_RUN"],"patternType":"ANY"}]},
        {"condition":"{#request.headers['x'][0] ==}","authorizedFeatures":[{"type":"TOOLS","patternType":"GLOBBY","patternValue":"a"}]},
        {"authorizedFeatures":[{"type":"PROMPTS","methods":["PROMPTS_GET"],"patternType":"REGEX","patternValue":"(unclosed"}]}
    ]}"#).unwrap();
    let (code, out, err) = run(&["lint", "--policy", p.to_str().unwrap()]);
    assert_eq!(code, 1, "errors must fail lint: {out} {err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let paths: Vec<&str> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    for want in [
        "$.authorizations[0].authorizedFeatures[0].methods[0]",
        "$.authorizations[1].condition",
        "$.authorizations[1].authorizedFeatures[0].patternType",
        "$.authorizations[2].authorizedFeatures[0].patternValue",
    ] {
        assert!(paths.contains(&want), "{want} missing from {paths:?}");
    }
    let warned = v["warnings"].as_array().unwrap();
    for path in ["$.completion", "$.subscriptions", "$.tasks"] {
        assert!(
            warned.iter().any(|w| w["path"] == path),
            "a passed path is warned about at {path}: {warned:?}"
        );
    }

    let good = dir.join("good.json");
    std::fs::write(&good, r#"{"authorizations":[{"authorizedFeatures":[{"type":"TOOLS","methods":["TOOLS_LIST","TOOLS_CALL"],"patternType":"ANY"}]}]}"#).unwrap();
    let (code, out, err) = run(&["lint", "--policy", good.to_str().unwrap()]);
    assert_eq!(code, 0, "{out} {err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn unusable_inputs_exit_2_naming_the_file() {
    let (code, _, err) = run(&[
        "check",
        "--policy",
        "no/such/policy.json",
        "--message",
        "examples/messages/call-get-env.json",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("no/such/policy.json"), "{err}");
    let (code, _, err) = run(&[
        "check",
        "--policy",
        "examples/messages/call-get-env.json",
        "--message",
        "examples/messages/call-get-env.json",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("policy `examples/messages/call-get-env.json`"),
        "{err}"
    );
    // An unparseable message is a decision, not an unusable input.
    let dir = std::env::temp_dir().join(format!("mcp-policy-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let m = dir.join("m.json");
    std::fs::write(
        &m,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","name":"b"}}"#,
    )
    .unwrap();
    let v = check("examples/policies/gravitee.json", m.to_str().unwrap(), None);
    assert_eq!(v["decision"], "deny");
    assert_eq!(v["allowed"], false);
    assert_eq!(v["kind"], "invalid_message");
    assert_eq!(v["status"], 400);
    assert_eq!(v["error"]["code"], -32600);
    assert_eq!(v["response"]["id"], Value::Null);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_reader_that_goes_away_ends_the_output_quietly() {
    // `mcp-policy check … | head -c0`: the read end is closed before the tool writes.
    let mut child = Command::new(env!("CARGO_BIN_EXE_mcp-policy"))
        .args([
            "check",
            "--policy",
            "examples/policies/gravitee.json",
            "--message",
            "examples/messages/call-get-env.json",
        ])
        .current_dir(root())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(0), "{err}");
}
