//! A server's event stream answering `tools/list`, judged through the exchange API as a host
//! feeds it (`server_head`, `server_chunk` per piece, `finish`): never panic; what goes to the
//! client is a well-formed stream whose every message is one JSON-RPC message or batch the
//! engine's own parser accepts; no list answer the client reads names the hidden tool; and
//! where the stream was split makes no difference.
//!
//! Input: byte 0 says how to split the stream (largest piece `1 << (b & 15)` capped at 4 KiB,
//! sizes drawn from `b >> 4`), byte 1 picks the engine's `max_body_bytes` (which bounds one
//! event), the rest is the stream.

use std::sync::{Arc, OnceLock};

use mcp_policy::exchange::{ClientVerdict, Guard, Head, RequestFacts};
use mcp_policy::jsonrpc::Body;
use mcp_policy::policy::Engine;
use mcp_policy::{Context, Limits, sse};

/// Every tool listed except `get-env`; sampling refused.
const POLICY: &[u8] = br#"{"authorizations":[
  {"authorizedFeatures":[{"type":"TOOLS","methods":["TOOLS_LIST","TOOLS_CALL"],"patternType":"ANY"}]},
  {"effect":"DENY","authorizedFeatures":[{"type":"TOOLS","methods":["TOOLS_LIST","TOOLS_CALL"],"patternType":"LITERAL","patternValue":"get-env"}]},
  {"effect":"DENY","authorizedFeatures":[{"type":"SAMPLING","methods":["SAMPLING_CREATE_MESSAGE"],"patternType":"ANY"}]}]}"#;
const HIDDEN: &str = "get-env";
const REQUEST: &[u8] = br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
/// Event size bounds: the default, one that fits the seeds, and two that small inputs exceed
/// (so the "event too large" path is reached).
const MAX_BODY: [usize; 4] = [16 << 20, 64 << 10, 1024, 160];

fn guards() -> &'static [Guard; 4] {
    static GUARDS: OnceLock<[Guard; 4]> = OnceLock::new();
    GUARDS.get_or_init(|| {
        MAX_BODY.map(|max_body_bytes| {
            let limits = Limits {
                max_body_bytes,
                ..Limits::default()
            };
            let engine = Engine::from_json(POLICY, &limits).unwrap_or_else(|e| panic!("{e}"));
            Guard::new(Arc::new(engine))
        })
    })
}

/// Pieces of `stream`: sizes in `1..=max`, from a xorshift generator seeded by `seed`.
fn split(stream: &[u8], seed: u8, max: usize) -> Vec<&[u8]> {
    let mut state = u64::from(seed).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut out = Vec::new();
    let mut rest = stream;
    while !rest.is_empty() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let n = (state % max as u64) as usize + 1;
        let (a, b) = rest.split_at(n.min(rest.len()));
        out.push(a);
        rest = b;
    }
    out
}

/// What the client and the server receive.
#[derive(Debug, PartialEq)]
struct Sent {
    to_client: Vec<u8>,
    to_server: Vec<Vec<u8>>,
}

/// One host run: the request, then the stream in `pieces`, stopping where the exchange says
/// the stream ends.
fn run(guard: &Guard, pieces: &[&[u8]]) -> Sent {
    let ctx = Context::default();
    let session = guard.session();
    let facts = RequestFacts {
        content_type: Some(b"application/json"),
        ..RequestFacts::default()
    };
    let ClientVerdict::Forward(fwd) = guard.client(REQUEST, &facts, &ctx, &session) else {
        panic!("tools/list is allowed");
    };
    let mut ex = fwd.exchange;
    assert_eq!(
        ex.server_head(200, Some(b"text/event-stream"), None),
        Head::Stream
    );
    let mut sent = Sent {
        to_client: Vec::new(),
        to_server: Vec::new(),
    };
    let mut ended = false;
    for piece in pieces {
        let step = ex.server_chunk(piece, &ctx);
        sent.to_client.extend_from_slice(&step.to_client);
        sent.to_server.extend(step.to_server);
        if step.end {
            ended = true;
            break;
        }
    }
    if !ended {
        let step = ex.finish();
        assert!(step.to_server.is_empty());
        sent.to_client.extend_from_slice(&step.to_client);
    }
    // Whatever happened, the request got its answer or an error: nothing is left waiting.
    assert_eq!(session.pending_count(), 0, "a request still waits");
    sent
}

/// Names of the tools a client reads from one delivered message (as JavaScript's and
/// Python's JSON parsers read it: escapes decoded, the last of duplicate keys).
fn listed_names(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Array(batch) => batch.iter().for_each(|m| listed_names(m, out)),
        serde_json::Value::Object(m) => {
            if let Some(tools) = m
                .get("result")
                .and_then(|r| r.get("tools"))
                .and_then(|t| t.as_array())
            {
                for t in tools {
                    if let Some(name) = t.get("name").and_then(|n| n.as_str()) {
                        out.push(name.to_owned());
                    }
                }
            }
        }
        _ => {}
    }
}

/// The client's view of what it was sent: a stream that parses to whole events, each
/// message a JSON-RPC body, no list naming the hidden tool.
fn check_client_view(sent: &[u8]) {
    let mut parser = sse::Parser::new(usize::MAX);
    let mut events = Vec::new();
    parser
        .push(sent, |ev| {
            events.push(ev);
            true
        })
        .expect("the output stream parses");
    parser
        .finish()
        .expect("the output stream ends after a whole event");
    for ev in events {
        let Some(data) = ev.data.filter(|d| !d.is_empty()) else {
            continue;
        };
        assert!(
            ev.event.is_none_or(|e| e == b"message"),
            "data on a non-message event"
        );
        if let Err(e) = Body::parse(&data, &Limits::default()) {
            panic!(
                "delivered data is no JSON-RPC body ({e}): {:?}",
                String::from_utf8_lossy(&data)
            );
        }
        // The engine's parser never accepts what serde_json rejects (the jsonrpc_parse target).
        let v: serde_json::Value = serde_json::from_slice(&data).expect("delivered data is JSON");
        let mut names = Vec::new();
        listed_names(&v, &mut names);
        assert!(
            !names.iter().any(|n| n == HIDDEN),
            "the hidden tool is listed: {:?}",
            String::from_utf8_lossy(&data)
        );
    }
}

/// One input: panics if a property above does not hold.
pub fn fuzz_one(input: &[u8]) {
    let [how, limit, stream @ ..] = input else {
        return;
    };
    let guard = &guards()[usize::from(limit & 3)];
    let whole = run(guard, &[stream]);
    check_client_view(&whole.to_client);
    let max = (1usize << (how & 15)).min(4096);
    let pieces = split(stream, how >> 4, max);
    let split = run(guard, &pieces);
    assert_eq!(
        whole, split,
        "the output depends on where the stream was split"
    );
}
