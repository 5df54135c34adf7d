//! Runs `cases/expr/*.json`: condition templates evaluated against a context (and the message
//! judged), with expectations in the engine's JSON answer format (`cases/README.md`, "expr").

mod case_runner;

use case_runner::{Case, Spec};
use mcp_policy::expr::ResultType;
use mcp_policy::{Context, Limits, Message, answer};
use serde_json::Value;

fn judge(case: &Case<'_>) -> Result<Value, String> {
    let expression = case.str("expression")?.ok_or("no `expression`")?;
    let ty = match case.str("type")? {
        None | Some("auto") => ResultType::Auto,
        Some("string") => ResultType::String,
        Some("boolean") => ResultType::Boolean,
        Some(other) => return Err(format!("unknown `type` {other:?}")),
    };
    let limits = Limits::default();
    let ctx_text = case.input_text("context")?;
    let ctx = match &ctx_text {
        Some(t) => Context::from_json(t).map_err(|e| format!("bad context: {e}"))?,
        None => Context::default(),
    };
    let msg_bytes = case.input("message")?;
    let msg = msg_bytes
        .as_deref()
        .map(|b| Message::parse(b, &limits))
        .transpose()
        .map_err(|e| format!("the message does not parse: {e}"))?;
    Ok(answer::evaluate(
        expression,
        &ctx,
        msg.as_ref(),
        ty,
        &limits,
    ))
}

#[test]
fn expr_cases() {
    case_runner::run(
        &Spec {
            folder: "expr",
            file_inputs: &["context", "message"],
            case_inputs: &["context", "message"],
            case_keys: &["expression", "type"],
            expects: &["expect"],
        },
        judge,
    );
}
