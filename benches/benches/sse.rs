//! `sse`: judging a `text/event-stream` answer through the exchange API
//! (`mcp_policy::exchange`), the stream arriving in chunks of random sizes (deterministic
//! seed), as from a socket.
//!
//! `cargo bench -p mcp-policy-benches --bench sse -- --warm-up-time 1 --measurement-time 3`
//!
//! Streams: server-everything's real `tools/list` SSE response (chunks of 1–1,500 bytes), and
//! a synthetic stream (a priming event, 20 progress notifications, then the 500-tool result;
//! chunks of 1–16 KiB). The same list filtered as a plain JSON body is measured alongside, so
//! the SSE overhead reads directly.
//!
//! One iteration is what a host does per POST: a fresh session, `Guard::client` on the
//! `tools/list` request (parse, check, register it as waiting), `server_head`, `server_chunk`
//! per chunk, `finish`; each step's bytes are counted as a host writes them out, not gathered.
//! The function is still named `sse::Filter, random chunks`, the name of the API it replaced,
//! so that its figures line up with the earlier ones in README.md.
//!
//! A third function runs the same host protocol with the list as a JSON answer
//! (`server_head`, `server_body`): what the stream costs beyond it is the event framing, what
//! it costs beyond `filter_response` also includes the session and the request's verdict.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mcp_policy::exchange::{ClientVerdict, Guard, Head, Notes, RequestFacts};
use mcp_policy::policy::Engine;
use mcp_policy::{Context, Limits, Message};
use mcp_policy_benches::{
    EVERYTHING_LIST_REQUEST, LIST_REQUEST, list_policy_json, random_chunks, synthetic_list_stream,
    synthetic_tools_list,
};

const EVERYTHING_SSE: &[u8] = include_bytes!("../../core/tests/fixtures/traffic/tools-list.sse");
const FACTS: RequestFacts<'static> = RequestFacts {
    protocol_version: None,
    mcp_method: None,
    mcp_name: None,
    content_type: Some(b"application/json"),
    content_encoding: None,
    repeated: None,
};

/// One stream of the bench: the request it answers, the stream, the same answer as a JSON
/// body, and the largest chunk it is cut into.
struct Input<'a> {
    what: &'static str,
    request: &'static [u8],
    sse: &'a [u8],
    json: &'a [u8],
    max_chunk: usize,
}

/// Sends `request` and judges the whole answer stream; returns the bytes sent to the client
/// and what the exchange noted.
fn run(guard: &Guard, request: &[u8], chunks: &[&[u8]], ctx: &Context<'_>) -> (Vec<u8>, Notes) {
    let session = guard.session();
    let ClientVerdict::Forward(fwd) = guard.client(request, &FACTS, ctx, &session) else {
        panic!("the tools/list request is forwarded");
    };
    let mut exchange = fwd.exchange;
    let head = exchange.server_head(200, Some(b"text/event-stream"), None);
    assert_eq!(head, Head::Stream);
    let mut out = Vec::new();
    let mut notes = Notes::default();
    for chunk in chunks {
        let step = exchange.server_chunk(chunk, ctx);
        assert!(!step.end && step.to_server.is_empty(), "{:?}", step.notes);
        out.extend_from_slice(&step.to_client);
        notes.answered += step.notes.answered;
        notes.hidden += step.notes.hidden;
        notes.dropped += step.notes.dropped;
        notes.failed += step.notes.failed;
    }
    let last = exchange.finish();
    assert!(last.to_client.is_empty() && last.notes.failed == 0);
    (out, notes)
}

/// [`run`] as timed: the bytes of each step are counted, as a host writes them out, instead of
/// being copied into one buffer.
fn run_counted(guard: &Guard, request: &[u8], chunks: &[&[u8]], ctx: &Context<'_>) -> usize {
    let session = guard.session();
    let ClientVerdict::Forward(fwd) = guard.client(request, &FACTS, ctx, &session) else {
        panic!("the tools/list request is forwarded");
    };
    let mut exchange = fwd.exchange;
    exchange.server_head(200, Some(b"text/event-stream"), None);
    let mut sent = 0;
    for chunk in chunks {
        sent += exchange.server_chunk(chunk, ctx).to_client.len();
    }
    sent + exchange.finish().to_client.len()
}

/// The same exchange with the list as a JSON answer; returns the bytes sent to the client.
fn run_json(guard: &Guard, request: &[u8], json: &[u8], ctx: &Context<'_>) -> usize {
    let session = guard.session();
    let ClientVerdict::Forward(fwd) = guard.client(request, &FACTS, ctx, &session) else {
        panic!("the tools/list request is forwarded");
    };
    let mut exchange = fwd.exchange;
    exchange.server_head(200, Some(b"application/json"), None);
    let answer = exchange.server_body(json, ctx);
    answer.body.map_or(json.len(), |b| b.len())
}

fn bench(c: &mut Criterion) {
    let limits = Limits {
        max_body_bytes: 16 << 20,
        ..Limits::default()
    };
    let engine =
        Engine::from_json(list_policy_json().as_bytes(), &limits).unwrap_or_else(|e| panic!("{e}"));
    let guard = Guard::new(Arc::new(engine));
    let engine = guard.engine();
    let ctx = Context::default();
    let req = Message::parse(LIST_REQUEST, &limits).expect("request");
    let list = synthetic_tools_list(500);
    let stream = synthetic_list_stream(&list);

    let everything_json: &[u8] =
        include_bytes!("../../core/tests/fixtures/traffic/tools-list.json");
    // The recorded stream answers id 1, the synthetic one id 2: answers are matched by id.
    let inputs = [
        Input {
            what: "server-everything",
            request: EVERYTHING_LIST_REQUEST,
            sse: EVERYTHING_SSE,
            json: everything_json,
            max_chunk: 1_500,
        },
        Input {
            what: "synthetic 500 tools",
            request: LIST_REQUEST,
            sse: &stream,
            json: list.as_bytes(),
            max_chunk: 16 << 10,
        },
    ];
    let mut g = c.benchmark_group("sse");
    for Input {
        what,
        request,
        sse,
        json,
        max_chunk,
    } in inputs
    {
        let chunks = random_chunks(sse, 0x5eed, 1, max_chunk);
        // Whatever the split, the list is answered once with tools hidden, nothing else is
        // dropped, and the output is the same.
        let (out, notes) = run(&guard, request, &chunks, &ctx);
        assert_eq!(
            (notes.answered, notes.dropped, notes.failed),
            (1, 0, 0),
            "{what}"
        );
        assert!(notes.hidden > 0, "{what}");
        assert_eq!(run(&guard, request, &[sse], &ctx).0, out, "{what}");
        assert_eq!(
            run(&guard, request, &random_chunks(sse, 3, 1, 7), &ctx).0,
            out,
            "{what}"
        );

        // The timed functions send what the checked ones do.
        let event_bytes: usize = out.len();
        assert_eq!(
            run_counted(&guard, request, &chunks, &ctx),
            event_bytes,
            "{what}"
        );
        let json_answer = engine
            .filter_response(
                &Message::parse(request, &limits).expect("request"),
                json,
                &ctx,
            )
            .ok()
            .and_then(|f| f.apply(json).map(<[u8]>::len));
        assert_eq!(
            Some(run_json(&guard, request, json, &ctx)),
            json_answer,
            "{what}"
        );

        g.throughput(Throughput::Bytes(sse.len() as u64));
        g.bench_function(BenchmarkId::new("sse::Filter, random chunks", what), |b| {
            b.iter(|| run_counted(&guard, request, black_box(&chunks), &ctx))
        });
        g.throughput(Throughput::Bytes(json.len() as u64));
        g.bench_function(
            BenchmarkId::new("exchange, same list as a JSON answer", what),
            |b| b.iter(|| run_json(&guard, request, black_box(json), &ctx)),
        );
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
