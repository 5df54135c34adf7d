//! `scale`: compile time and check time for 10, 1,000 and 10,000 rules (three literals for
//! every glob, one `TOOLS_CALL` rule each).
//!
//! `cargo bench -p mcp-policy-benches --bench scale -- --warm-up-time 1 --measurement-time 3`
//!
//! Compile is `Engine::from_json` on the policy document (JSON read + compile, what a host
//! does when the policy changes). Check is `Message::parse` + `Engine::check` of a ~300-byte
//! `tools/call` naming the last literal, the last glob, or nothing granted.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use mcp_policy::policy::Engine;
use mcp_policy::{Context, Limits, Message};
use mcp_policy_benches::{call_message, scale_policy_json};

const SIZES: [usize; 3] = [10, 1_000, 10_000];

fn check(engine: &Engine, body: &[u8], ctx: &Context<'_>) -> bool {
    let msg = Message::parse(body, engine.limits()).expect("message");
    engine.check(&msg, ctx).is_allowed()
}

fn bench(c: &mut Criterion) {
    let limits = Limits::default();
    let ctx = Context::default();

    let mut g = c.benchmark_group("scale/compile");
    g.sample_size(10);
    for n in SIZES {
        let doc = scale_policy_json(n);
        let engine = Engine::from_json(doc.as_bytes(), &limits).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(engine.rule_count(), n);
        g.bench_with_input(BenchmarkId::from_parameter(n), &doc, |b, doc| {
            b.iter(|| Engine::from_json(black_box(doc.as_bytes()), &limits).map(|e| e.rule_count()))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("scale/check");
    for n in SIZES {
        let engine = Engine::from_json(scale_policy_json(n).as_bytes(), &limits)
            .unwrap_or_else(|e| panic!("{e}"));
        let last_glob = (0..n).rev().find(|i| i % 4 == 3).expect("a glob");
        let last_literal = (0..n).rev().find(|i| i % 4 != 3).expect("a literal");
        let cases = [
            (
                "literal",
                call_message(&format!("tool_{last_literal}_run")),
                true,
            ),
            (
                "glob",
                call_message(&format!("svc{last_glob}_restart")),
                true,
            ),
            ("denied", call_message("tool_x_run"), false),
        ];
        for (what, body, allowed) in cases {
            assert_eq!(check(&engine, body.as_bytes(), &ctx), allowed, "{what} {n}");
            g.bench_with_input(BenchmarkId::new(what, n), &body, |b, body| {
                b.iter(|| check(&engine, black_box(body.as_bytes()), &ctx))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
