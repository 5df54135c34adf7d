//! Evaluating a typical trigger condition: mcp-policy's Gravitee EL vs cel-rust's CEL.
//!
//! `cargo bench -p mcp-policy-benches --bench expr -- --warm-up-time 1 --measurement-time 3`

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use mcp_policy::expr::{Env, McpVars, Template};
use mcp_policy::{Context, Limits, Message};

const EL: &str =
    "{#context.attributes['user.roles'].contains('mcp:tools') && #mcp.name matches 'get_.*'}";
const CEL: &str = "'mcp:tools' in attributes['user.roles'] && mcp.name.matches('^get_.*$')";
const BODY: &str = r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"get_weather","arguments":{"city":"Paris"}}}"#;

fn cel_context(env: &Arc<cel::Env>) -> cel::Context<'static, 'static> {
    let mut ctx = cel::Context::with_env(Arc::clone(env));
    let mut attributes: HashMap<String, cel::Value> = HashMap::new();
    attributes.insert("user".into(), "alice".into());
    attributes.insert(
        "user.roles".into(),
        cel::Value::List(Arc::new(vec!["mcp:read".into(), "mcp:tools".into()])),
    );
    attributes.insert("client_id".into(), "vscode".into());
    ctx.add_variable_from_value("attributes", attributes);
    let mut mcp: HashMap<String, cel::Value> = HashMap::new();
    mcp.insert("method".into(), "tools/call".into());
    mcp.insert("name".into(), "get_weather".into());
    ctx.add_variable_from_value("mcp", mcp);
    ctx
}

fn bench(c: &mut Criterion) {
    let limits = Limits::default();
    let template = Template::compile(EL, &limits).unwrap();
    let ctx = Context::builder()
        .header("x-user-role", "admin")
        .attribute("user", "alice")
        .attribute("user.roles", ["mcp:read", "mcp:tools"])
        .attribute("client_id", "vscode")
        .build();
    let msg = Message::parse(BODY.as_bytes(), &limits).unwrap();
    let env = Env::new(&ctx).with_mcp(McpVars::from_message(&msg).unwrap());
    assert!(template.eval_bool(&env).unwrap());

    let cel_env = Arc::new(cel::Env::stdlib());
    let program = cel_env.compile(CEL).unwrap();
    let prepared = cel_context(&cel_env);
    assert_eq!(program.execute(&prepared).unwrap(), cel::Value::Bool(true));

    let mut g = c.benchmark_group("condition");
    g.bench_function("mcp-policy (Gravitee EL)", |b| {
        b.iter(|| black_box(&template).eval_bool(black_box(&env)).unwrap())
    });
    g.bench_function("cel-rust, context prepared outside", |b| {
        b.iter(|| black_box(&program).execute(black_box(&prepared)).unwrap())
    });
    g.bench_function("cel-rust, context built per evaluation", |b| {
        b.iter(|| {
            let ctx = cel_context(&cel_env);
            program.execute(black_box(&ctx)).unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
