//! `sse`: filtering a `text/event-stream` response through `mcp_policy::sse::Filter`, the
//! stream arriving in chunks of random sizes (deterministic seed), as from a socket.
//!
//! `cargo bench -p mcp-policy-benches --bench sse -- --warm-up-time 1 --measurement-time 3`
//!
//! Streams: server-everything's real `tools/list` SSE response (chunks of 1–1,500 bytes), and
//! a synthetic stream (a priming event, 20 progress notifications, then the 500-tool result;
//! chunks of 1–16 KiB). The same list filtered as a plain JSON body is measured alongside, so
//! the SSE overhead reads directly.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mcp_policy::policy::Engine;
use mcp_policy::sse::{EventAction, Filter};
use mcp_policy::{Context, Limits, Message};
use mcp_policy_benches::{list_policy_json, random_chunks, synthetic_tools_list};

const EVERYTHING_SSE: &[u8] = include_bytes!("../../core/tests/fixtures/traffic/tools-list.sse");
const REQUEST: &[u8] = br#"{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{}}"#;

fn synthetic_stream(list: &str) -> Vec<u8> {
    let mut s = String::from("id: prime-0\ndata: \n\n");
    for i in 0..20 {
        s.push_str(&format!(
            "event: message\nid: ev-{i}\ndata: {{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{{\"progressToken\":\"t\",\"progress\":{i},\"total\":20}}}}\n\n"
        ));
    }
    s.push_str("event: message\nid: ev-final\ndata: ");
    s.push_str(list);
    s.push_str("\n\n");
    s.into_bytes()
}

/// Filters the whole stream; returns the bytes sent downstream and the rewritten events.
fn run(engine: &Engine, chunks: &[&[u8]], ctx: &Context<'_>) -> (usize, usize) {
    let mut f = Filter::new(engine, Some(REQUEST));
    let mut out = Vec::new();
    let mut rewritten = 0;
    for chunk in chunks {
        let actions = f.push(chunk, ctx, &mut out).expect("valid stream");
        rewritten += actions
            .iter()
            .filter(|a| **a == EventAction::Rewritten)
            .count();
    }
    let rest = f.finish(ctx, &mut out);
    assert!(rest.is_empty());
    (out.len(), rewritten)
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
    let list = synthetic_tools_list(500);
    let stream = synthetic_stream(&list);

    let everything_json: &[u8] =
        include_bytes!("../../core/tests/fixtures/traffic/tools-list.json");
    let inputs: [(&str, &[u8], &[u8], usize); 2] = [
        ("server-everything", EVERYTHING_SSE, everything_json, 1_500),
        ("synthetic 500 tools", &stream, list.as_bytes(), 16 << 10),
    ];
    let mut g = c.benchmark_group("sse");
    for (what, sse, json, max_chunk) in inputs {
        let chunks = random_chunks(sse, 0x5eed, 1, max_chunk);
        // Whatever the split, the list event is rewritten once and the output is the same.
        let (len, rewritten) = run(&engine, &chunks, &ctx);
        assert_eq!(rewritten, 1, "{what}");
        assert_eq!(run(&engine, &[sse], &ctx).0, len, "{what}");
        assert_eq!(
            run(&engine, &random_chunks(sse, 3, 1, 7), &ctx).0,
            len,
            "{what}"
        );

        g.throughput(Throughput::Bytes(sse.len() as u64));
        g.bench_function(BenchmarkId::new("sse::Filter, random chunks", what), |b| {
            b.iter(|| run(&engine, black_box(&chunks), &ctx))
        });
        g.throughput(Throughput::Bytes(json.len() as u64));
        g.bench_function(
            BenchmarkId::new("filter_response, same list as JSON", what),
            |b| {
                b.iter(|| {
                    engine
                        .filter_response(&req, black_box(json), &ctx)
                        .map(|f| f.apply(json).map_or(0, <[u8]>::len))
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
