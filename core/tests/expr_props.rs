//! Random templates and contexts never panic and always stop within the step budget.

use mcp_policy::expr::{Env, EvalErrorKind, McpVars, ResultType, Template};
use mcp_policy::{Context, Limits, Message};
use proptest::prelude::*;

const BODY: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_x","arguments":{"a":[1,2,{"b":"c"}]}}}"#;

fn fragments() -> impl Strategy<Value = String> {
    let atoms = prop::sample::select(vec![
        "{#",
        "{(",
        "{T(",
        "}",
        "{",
        "(",
        ")",
        "[",
        "]",
        "'",
        "\"",
        " ",
        "#request",
        "#mcp",
        ".name",
        ".headers",
        "['x']",
        "[0]",
        "#context.attributes['user.roles']",
        ".contains('a')",
        " matches 'a.*'",
        " == ",
        " != ",
        " && ",
        " || ",
        "!",
        " ? ",
        " : ",
        " ?: ",
        "?.",
        "+",
        "*",
        "1",
        "2.5",
        "'s'",
        "null",
        "true",
        "#jsonPath(#request.content, '$..b')",
        ".size()",
        ".split(',')",
        "{'a','b'}",
        "#mcp.arguments",
        ".length()",
        "#nothing",
        " and ",
        " or ",
        "'x' * 1000",
        ".substring(1)",
        "^",
        "-",
        "/",
        "%",
        ",",
        ":",
        "$",
        "\\",
        "é",
    ]);
    prop::collection::vec(atoms, 0..24).prop_map(|v| v.concat())
}

fn check(src: &str, ctx_json: &str) {
    let limits = Limits {
        max_expr_steps: 2_000,
        ..Limits::default()
    };
    let Ok(t) = Template::compile(src, &limits) else {
        return;
    };
    let ctx = Context::from_json(ctx_json).unwrap_or_default();
    let msg = Message::parse(BODY.as_bytes(), &limits).unwrap();
    let env = Env::new(&ctx).with_mcp(McpVars::from_message(&msg).unwrap());
    for ty in [ResultType::Auto, ResultType::String, ResultType::Boolean] {
        match t.eval(&env, ty) {
            Ok(v) => {
                let _ = v.to_json();
            }
            // Errors are fine (and carry a position inside the template); panics are not.
            Err(e) => assert!(e.position() <= src.len()),
        }
    }
    let _ = t.eval_bool(&env);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]
    #[test]
    fn random_templates_never_panic(src in fragments(), hdr in "[a-z]{0,3}") {
        let ctx = format!(r#"{{"request":{{"headers":{{"x":["{hdr}"]}}}},"attributes":{{"user.roles":["a","{hdr}"]}}}}"#);
        check(&src, &ctx);
    }

    #[test]
    fn arbitrary_text_never_panics(src in "\\PC{0,64}") {
        check(&src, "{}");
    }
}

#[test]
fn exponential_work_is_cut_by_the_budget() {
    let limits = Limits {
        max_expr_steps: 1_000,
        ..Limits::default()
    };
    let t = Template::compile("{(('ab' * 100) * 100) * 100}", &limits).unwrap();
    let ctx = Context::default();
    let e = t.eval(&Env::new(&ctx), ResultType::String).unwrap_err();
    assert_eq!(e.kind(), EvalErrorKind::Budget);
}
