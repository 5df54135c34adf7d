//! Gravitee EL behaviour that the shared cases (`cases/expr/`, run by `cases_expr.rs`) cannot
//! state: how a condition reads a blank or constant template, step budgets other than the
//! default, the Rust value a result is, and the context built in Rust rather than from JSON.

mod case_runner;

use mcp_policy::expr::{Env, EvalErrorKind, McpVars, ResultType, Template, Value};
use mcp_policy::{Context, Limits, Message, answer};

/// The context of the shared expr cases, built with the Rust builder: every case must read it
/// as it reads the JSON document the case file gives.
fn ctx() -> Context<'static> {
    Context::builder()
        .method("POST")
        .path("/stores/123")
        .path_info("/my/path/A58")
        .header("X-Gravitee-Endpoint", "my_api_host")
        .header("X-Multi", "v1")
        .header("X-Multi", "v2")
        .header("x-user-role", "admin")
        .header("X-Bool", "true")
        .param("param", "myparam")
        .param("multi", "a")
        .param("multi", "b")
        .attribute("gravitee.attribute.api", "my-api-id")
        .attribute("user", "alice")
        .attribute("user.roles", ["mcp:tools", "mcp:read"])
        .attribute(
            "oauth.payload",
            r#"{"sub":"alice","scope":"mcp:tools mcp:read","client_id":"vscode"}"#,
        )
        .attributes_json([(
            "jwt.claims".to_string(),
            serde_json::json!({"sub": "alice", "groups": ["dev", "ops"], "tier": 2}),
        )])
        .api_id("weather")
        .api_name("Weather MCP")
        .api_property("name_123", "Doe")
        .api_property("firstname_123", "John")
        .subscription_id("s1")
        .subscription_metadata("clientType", "PARTNER")
        .variable(
            "profile",
            r#"{ "lastname": "DOE", "firstname": "JOHN", "age": 35, "groups" : ["Group1", "Group2", "Group3"], "emptiness" : [], "nothingness" : null }"#,
        )
        .variable("list", vec!["test"])
        .content(r#"{ "lastname": "DOE", "firstname": "JOHN", "age": 35 }"#)
        .build()
}

const CALL: &str = r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"get_weather","arguments":{"city":"Paris","days":3,"opts":{"units":"metric"}}}}"#;

/// Hosts that build contexts in Rust (`Context::builder`: strings, lists and JSON values in
/// place of a JSON document) must get the answers the JSON-reading bindings get.
#[test]
fn the_builder_context_answers_every_case_like_its_json() {
    let mut failures = case_runner::Failures::default();
    let files = case_runner::load("expr", &mut failures);
    let built = ctx();
    let limits = Limits::default();
    let mut compared = 0;
    for file in &files {
        let Some(text) = case_runner::resolve(&file.doc, "context").unwrap() else {
            continue;
        };
        let from_json = Context::from_json(std::str::from_utf8(&text).unwrap()).unwrap();
        let msg_bytes = case_runner::resolve(&file.doc, "message").unwrap();
        let msg = msg_bytes
            .as_deref()
            .map(|b| Message::parse(b, &limits).unwrap());
        for case in file.doc["cases"].as_array().unwrap() {
            let name = case["name"].as_str().unwrap();
            let expr = case["expression"].as_str().unwrap();
            let ty = match case.get("type").and_then(|t| t.as_str()) {
                Some("string") => ResultType::String,
                Some("boolean") => ResultType::Boolean,
                _ => ResultType::Auto,
            };
            let want = answer::evaluate(expr, &from_json, msg.as_ref(), ty, &limits);
            let got = answer::evaluate(expr, &built, msg.as_ref(), ty, &limits);
            if want != got {
                failures.add(
                    &file.path,
                    Some(name),
                    format!("from JSON {want}, from the builder {got}"),
                );
            }
            compared += 1;
        }
    }
    assert!(compared > 100, "only {compared} cases with a context");
    failures.finish("expr");
}

/// A condition that is blank applies (Gravitee: an absent condition); the answer format only
/// shows template values, so the policy cases and this test state it.
#[test]
fn blank_and_literal_conditions_are_constants() {
    let env_ctx = Context::default();
    let env = Env::new(&env_ctx);
    for (src, constant) in [
        ("", Some(true)),
        ("   ", Some(true)),
        ("true", Some(true)),
        (" yes ", Some(true)),
        ("no", Some(false)),
        ("{#a}", None),
        ("{1 == 1}", None),
    ] {
        let t = Template::compile(src, &Limits::default()).unwrap();
        assert_eq!(t.is_constant(), constant, "{src:?}");
        if let Some(c) = constant {
            assert_eq!(t.eval_bool(&env).unwrap(), c, "{src:?}");
        }
    }
}

#[test]
fn step_budget_stops_evaluation() {
    let limits = Limits {
        max_expr_steps: 50,
        ..Limits::default()
    };
    let t = Template::compile("{('x' * 100000).length() > 1}", &limits).unwrap();
    let c = Context::default();
    let e = t.eval_bool(&Env::new(&c)).unwrap_err();
    assert_eq!(e.kind(), EvalErrorKind::Budget);
}

#[test]
fn a_string_result_is_a_rust_string() {
    let c = ctx();
    let v = Template::compile("{#mcp.name}", &Limits::default()).unwrap();
    let msg = Message::parse(CALL.as_bytes(), &Limits::default()).unwrap();
    let env = Env::new(&c).with_mcp(McpVars::from_message(&msg).unwrap());
    assert!(
        matches!(v.eval(&env, ResultType::Auto).unwrap(), Value::Str(ref s) if s == "get_weather")
    );
}
