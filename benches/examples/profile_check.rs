//! Drives one hot path in a loop for `valgrind --tool=callgrind` (instruction counts are
//! repeatable where timings are not). See benches/README.md, "Profiling".
//!
//! `cargo build --profile bench -p mcp-policy-benches --example profile_check`, then
//! `valgrind --tool=callgrind target/bench/examples/profile_check check 100000`
//! (paths: `check` = parse + check of the `check_call` allow message; `parse` = parse only;
//! `filter` = `filter_response` of the synthetic 500-tool list; `validate` = its validation
//! alone (`RawValue::parse_with`); `floor` = `serde_json::from_slice::<IgnoredAny>` of it; `floor-call` = the same for the
//! `check` message; `filter-everything`, `floor-everything`: the same on server-everything's
//! 17-tool list).

use std::hint::black_box;

use mcp_policy::context::Data;
use mcp_policy::policy::Engine;
use mcp_policy::{Context, Limits, Message};
use mcp_policy_benches::{call_message, check_policy_json, list_policy_json, synthetic_tools_list};

/// server-everything's real `tools/list` answer (the `filter_list` bench's small input).
const EVERYTHING: &str = include_str!("../../core/tests/fixtures/traffic/tools-list.json");

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
        other => panic!("unknown path `{other}`"),
    }
    println!("{what}: {n} iterations, {hits}");
}
