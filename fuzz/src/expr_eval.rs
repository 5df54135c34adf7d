//! Random templates and contexts: compile, evaluate with every result type.

use mcp_policy::expr::{Env, McpVars, ResultType, Template};
use mcp_policy::{Context, Limits, Message};

const BODY: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_weather","arguments":{"city":"Paris","list":[1,2,{"k":"v"}]}}}"#;

/// One input: template bytes, a NUL, context JSON bytes. Never panics; every evaluation stops
/// within the step budget.
pub fn fuzz_one(data: &[u8]) {
    let (t, c) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b""[..]),
    };
    let src = String::from_utf8_lossy(t);
    let ctx_text = String::from_utf8_lossy(c);
    let limits = Limits {
        max_expr_steps: 5_000,
        max_regex_bytes: 256 * 1024,
        ..Limits::default()
    };
    let Ok(template) = Template::compile(&src, &limits) else {
        return;
    };
    let ctx = Context::from_json_with(&ctx_text, &limits).unwrap_or_default();
    let msg = Message::parse(BODY.as_bytes(), &limits).ok();
    let mut env = Env::new(&ctx);
    if let Some(m) = msg.as_ref().and_then(McpVars::from_message) {
        env = env.with_mcp(m);
    }
    for ty in [ResultType::Auto, ResultType::String, ResultType::Boolean] {
        if let Ok(v) = template.eval(&env, ty) {
            let _ = v.to_json();
        }
    }
    let _ = template.eval_bool(&env);
    let _ = template.is_constant();
}
