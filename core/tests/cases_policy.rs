//! Runs `cases/policy/*.json`: policies, the messages they judge and the list answers they
//! filter, with expectations in the engine's JSON answer format (`cases/README.md`, "policy").

mod case_runner;

use case_runner::{Case, Spec};
use mcp_policy::policy::Engine;
use mcp_policy::{Context, Limits, Message, answer};
use serde_json::Value;

fn judge(case: &Case<'_>) -> Result<Value, String> {
    let policy = case
        .input("policy")?
        .ok_or("no policy (neither the case nor its file gives one)")?;
    let engine = Engine::from_json(&policy, &Limits::default());
    if case.expect_key == "expectPolicy" {
        if ["message", "request", "response", "context"]
            .iter()
            .any(|k| case.gives(k))
        {
            return Err("an `expectPolicy` case judges only its policy".into());
        }
        return match engine {
            Err(e) => Ok(answer::policy_error(&e)),
            Ok(_) => Err("the policy compiled; `expectPolicy` expects it refused".into()),
        };
    }
    let engine =
        engine.map_err(|e| format!("the policy does not compile: {}", answer::policy_error(&e)))?;
    let ctx_text = case.input_text("context")?;
    let ctx = match &ctx_text {
        Some(t) => Context::from_json(t).map_err(|e| format!("bad context: {e}"))?,
        None => Context::default(),
    };
    let message = case.input("message")?;
    let request = case.input("request")?;
    let response = case.input("response")?;
    match (message, request, response) {
        (Some(m), None, None) => Ok(answer::check(&engine, &m, &ctx)),
        (None, Some(req), Some(resp)) => {
            let req = Message::parse(&req, engine.limits())
                .map_err(|e| format!("the request does not parse: {e}"))?;
            Ok(match engine.filter_response(&req, &resp, &ctx) {
                Ok(f) => answer::filtered(&f, &resp),
                Err(e) => answer::core_error(&e),
            })
        }
        _ => Err("give either `message`, or `request` and `response`".into()),
    }
}

#[test]
fn policy_cases() {
    case_runner::run(
        &Spec {
            folder: "policy",
            file_inputs: &["policy", "context"],
            case_inputs: &["policy", "message", "request", "response", "context"],
            case_keys: &[],
            expects: &["expect", "expectPolicy"],
        },
        judge,
    );
}
