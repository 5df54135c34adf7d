//! `filter_list`: hiding the tools a caller may not see from a `tools/list` result.
//!
//! `cargo bench -p mcp-policy-benches --bench filter_list -- --warm-up-time 1 --measurement-time 3`
//!
//! Three ways over the same bytes, reported as throughput of input bytes:
//! - mcp-policy `Engine::filter_response` (one pass over the borrowed message view, kept items
//!   copied byte for byte), plus `Filtered::apply` to get the bytes to send;
//! - the naive approach: `serde_json::Value` tree, `retain` with the same engine's
//!   `Engine::allows`, `serde_json::to_vec`;
//! - the floor: `serde_json::from_slice::<serde::de::IgnoredAny>` (validation only).

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mcp_policy::policy::{AclMethod, Engine};
use mcp_policy::{Context, Limits, Message};
use mcp_policy_benches::{list_policy_json, synthetic_tools_list};

const EVERYTHING: &[u8] = include_bytes!("../../core/tests/fixtures/traffic/tools-list.json");
const REQUEST: &[u8] = br#"{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{}}"#;

fn ours(engine: &Engine, req: &Message<'_>, body: &[u8], ctx: &Context<'_>) -> usize {
    let f = engine
        .filter_response(req, body, ctx)
        .expect("a list result");
    f.apply(body).map_or(0, <[u8]>::len)
}

fn naive(engine: &Engine, body: &[u8], ctx: &Context<'_>) -> usize {
    let mut v: serde_json::Value = serde_json::from_slice(body).expect("JSON");
    if let Some(tools) = v
        .get_mut("result")
        .and_then(|r| r.get_mut("tools"))
        .and_then(serde_json::Value::as_array_mut)
    {
        tools.retain(|t| {
            t.get("name")
                .and_then(serde_json::Value::as_str)
                .is_some_and(|n| engine.allows(AclMethod::ToolsList, n, ctx))
        });
    }
    serde_json::to_vec(&v).expect("serialises").len()
}

fn floor(body: &[u8]) -> bool {
    serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok()
}

/// Names of the tools in a list result.
fn names(body: &[u8]) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_slice(body).expect("JSON");
    v["result"]["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .map(|t| t["name"].as_str().expect("name").to_owned())
        .collect()
}

fn bench(c: &mut Criterion) {
    let limits = Limits {
        max_body_bytes: 16 << 20,
        ..Limits::default()
    };
    let engine =
        Engine::from_json(list_policy_json().as_bytes(), &limits).unwrap_or_else(|e| panic!("{e}"));
    let ctx = Context::default();
    let req = Message::parse(REQUEST, &limits).expect("request");
    let synthetic = synthetic_tools_list(500);

    let inputs: [(&str, &[u8], usize, usize); 2] = [
        ("server-everything (17 tools)", EVERYTHING, 17, 8),
        ("synthetic (500 tools)", synthetic.as_bytes(), 500, 225),
    ];
    let mut g = c.benchmark_group("filter_list");
    for (what, body, total, kept) in inputs {
        // Both approaches keep the same tools, in order.
        let f = engine.filter_response(&req, body, &ctx).expect("filtered");
        let ours_out = f.apply(body).expect("forwarded");
        let kept_names = names(ours_out);
        assert_eq!(names(body).len(), total, "{what}");
        assert_eq!(kept_names.len(), kept, "{what}: {kept_names:?}");
        let mut v: serde_json::Value = serde_json::from_slice(body).expect("JSON");
        v["result"]["tools"]
            .as_array_mut()
            .expect("tools")
            .retain(|t| {
                engine.allows(
                    AclMethod::ToolsList,
                    t["name"].as_str().expect("name"),
                    &ctx,
                )
            });
        assert_eq!(names(&serde_json::to_vec(&v).expect("JSON")), kept_names);
        assert!(floor(body));

        g.throughput(Throughput::Bytes(body.len() as u64));
        g.bench_function(BenchmarkId::new("mcp-policy filter_response", what), |b| {
            b.iter(|| ours(&engine, &req, black_box(body), &ctx))
        });
        g.bench_function(BenchmarkId::new("naive serde_json::Value", what), |b| {
            b.iter(|| naive(&engine, black_box(body), &ctx))
        });
        g.bench_function(BenchmarkId::new("floor IgnoredAny", what), |b| {
            b.iter(|| floor(black_box(body)))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
