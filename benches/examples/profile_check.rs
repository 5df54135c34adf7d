//! Drives one hot path in a loop for `valgrind --tool=callgrind` (instruction counts are
//! repeatable where timings are not). See benches/README.md, "Profiling".
//!
//! `cargo build --profile bench -p mcp-policy-benches --example profile_check`, then
//! `valgrind --tool=callgrind target/bench/examples/profile_check check 100000`
//! (paths: `check` = parse + check of the `check_call` allow message; `parse` = parse only;
//! `decide` = check only, of the message parsed once;
//! `filter` = `filter_response` of the synthetic 500-tool list; `validate` = its validation
//! alone (`RawValue::parse_with`); `floor` = `serde_json::from_slice::<IgnoredAny>` of it; `floor-call` = the same for the
//! `check` message; `filter-everything`, `floor-everything`: the same on server-everything's
//! 17-tool list; `exchange` = what a host asks for the `check` message through the exchange
//! API: `Guard::client` verdict, then the server's JSON answer judged by `server_head` +
//! `server_body`, in one session; `client` = the verdict alone, a fresh session each time;
//! `sse` / `sse-everything` = the `sse` bench's iteration: `Guard::client` on the `tools/list`
//! request, then the synthetic 500-tool stream (server-everything's) through `server_chunk` in
//! the bench's random chunks, and `finish`).

use std::hint::black_box;
use std::sync::Arc;

use mcp_policy::context::Data;
use mcp_policy::exchange::{ClientVerdict, Guard, Head, RequestFacts};
use mcp_policy::policy::Engine;
use mcp_policy::{Context, Limits, Message};
use mcp_policy_benches::{
    EVERYTHING_LIST_REQUEST, LIST_REQUEST, call_message, check_policy_json, list_policy_json,
    random_chunks, synthetic_list_stream, synthetic_tools_list,
};

/// server-everything's real `tools/list` answer (the `filter_list` bench's small input).
const EVERYTHING: &str = include_str!("../../core/tests/fixtures/traffic/tools-list.json");
/// The same answer as server-everything streamed it (the `sse` bench's small input).
const EVERYTHING_SSE: &[u8] = include_bytes!("../../core/tests/fixtures/traffic/tools-list.sse");
/// A server's answer to the `check` message (id 4711), as small as real ones.
const CALL_ANSWER: &[u8] = br#"{"jsonrpc":"2.0","id":4711,"result":{"content":[{"type":"text","text":"50 rows"}],"isError":false}}"#;

fn facts() -> RequestFacts<'static> {
    RequestFacts {
        content_type: Some(b"application/json"),
        ..RequestFacts::default()
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let what = args.next().unwrap_or_else(|| "check".into());
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let limits = Limits {
        max_body_bytes: 16 << 20,
        ..Limits::default()
    };
    let ctx = Context::builder()
        .attribute("user", "alice")
        .attribute("user.roles", ["mcp:tools", "mcp:read"])
        .attribute(
            "jwt.claims",
            Data::Map(vec![("org".into(), Data::from("acme"))]),
        )
        .build();
    let mut hits = 0usize;
    match what.as_str() {
        "decide" => {
            let engine = Engine::from_json(check_policy_json().as_bytes(), &limits)
                .unwrap_or_else(|e| panic!("{e}"));
            let name = args.next().unwrap_or_else(|| "query_orders".into());
            let body = call_message(&name);
            let msg = Message::parse(body.as_bytes(), &limits).expect("message");
            for _ in 0..n {
                hits += usize::from(engine.check(black_box(&msg), &ctx).is_allowed());
            }
        }
        "check" | "parse" => {
            let engine = Engine::from_json(check_policy_json().as_bytes(), &limits)
                .unwrap_or_else(|e| panic!("{e}"));
            let name = args.next().unwrap_or_else(|| "query_orders".into());
            let body = call_message(&name);
            for _ in 0..n {
                let msg = Message::parse(black_box(body.as_bytes()), &limits).expect("message");
                if what == "check" {
                    hits += usize::from(engine.check(&msg, &ctx).is_allowed());
                } else {
                    hits += usize::from(msg.name().is_some());
                }
            }
        }
        "filter" | "filter-everything" => {
            let engine = Engine::from_json(list_policy_json().as_bytes(), &limits)
                .unwrap_or_else(|e| panic!("{e}"));
            let list = if what == "filter" {
                synthetic_tools_list(500)
            } else {
                String::from(EVERYTHING)
            };
            let req = Message::parse(
                br#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#,
                &limits,
            )
            .expect("request");
            for _ in 0..n {
                let f = engine
                    .filter_response(&req, black_box(list.as_bytes()), &ctx)
                    .expect("filtered");
                hits += f.apply(list.as_bytes()).map_or(0, <[u8]>::len);
            }
        }
        "floor" | "floor-everything" => {
            let list = if what == "floor" {
                synthetic_tools_list(500)
            } else {
                String::from(EVERYTHING)
            };
            for _ in 0..n {
                hits += usize::from(
                    serde_json::from_slice::<serde::de::IgnoredAny>(black_box(list.as_bytes()))
                        .is_ok(),
                );
            }
        }
        "validate" => {
            let list = synthetic_tools_list(500);
            for _ in 0..n {
                hits += usize::from(
                    mcp_policy::RawValue::parse_with(black_box(&list), &limits).is_ok(),
                );
            }
        }
        "floor-call" => {
            let body = call_message("query_orders");
            for _ in 0..n {
                hits += usize::from(
                    serde_json::from_slice::<serde::de::IgnoredAny>(black_box(body.as_bytes()))
                        .is_ok(),
                );
            }
        }
        "exchange" | "client" => {
            let engine = Engine::from_json(check_policy_json().as_bytes(), &limits)
                .unwrap_or_else(|e| panic!("{e}"));
            let guard = Guard::new(Arc::new(engine));
            let name = args.next().unwrap_or_else(|| "query_orders".into());
            let body = call_message(&name);
            let facts = facts();
            // One MCP session for the whole run: each answer takes its request out of it again.
            let shared = guard.session();
            for _ in 0..n {
                let fresh;
                let session = if what == "client" {
                    fresh = guard.session();
                    &fresh
                } else {
                    &shared
                };
                match guard.client(black_box(body.as_bytes()), &facts, &ctx, session) {
                    ClientVerdict::Forward(fwd) if what == "exchange" => {
                        let mut ex = fwd.exchange;
                        let head = ex.server_head(200, Some(b"application/json"), None);
                        assert_eq!(head, Head::Whole);
                        let answer = ex.server_body(black_box(CALL_ANSWER), &ctx);
                        assert_eq!(answer.notes.answered, 1);
                        hits += usize::from(answer.body.is_none());
                    }
                    ClientVerdict::Forward(_) => hits += 1,
                    ClientVerdict::Reply(r) => hits += r.body.len(),
                }
            }
            assert_eq!(shared.pending_count(), 0);
        }
        "sse" | "sse-everything" => {
            let engine = Engine::from_json(list_policy_json().as_bytes(), &limits)
                .unwrap_or_else(|e| panic!("{e}"));
            let guard = Guard::new(Arc::new(engine));
            let list = synthetic_tools_list(500);
            let (request, stream, max_chunk) = if what == "sse" {
                (LIST_REQUEST, synthetic_list_stream(&list), 16 << 10)
            } else {
                (EVERYTHING_LIST_REQUEST, EVERYTHING_SSE.to_vec(), 1_500)
            };
            let chunks = random_chunks(&stream, 0x5eed, 1, max_chunk);
            let facts = facts();
            for _ in 0..n {
                let session = guard.session();
                let ClientVerdict::Forward(fwd) = guard.client(request, &facts, &ctx, &session)
                else {
                    panic!("the tools/list request is forwarded");
                };
                let mut ex = fwd.exchange;
                assert_eq!(
                    ex.server_head(200, Some(b"text/event-stream"), None),
                    Head::Stream
                );
                for chunk in &chunks {
                    hits += ex.server_chunk(black_box(chunk), &ctx).to_client.len();
                }
                hits += ex.finish().to_client.len();
            }
        }
        other => panic!("unknown path `{other}`"),
    }
    println!("{what}: {n} iterations, {hits}");
}
