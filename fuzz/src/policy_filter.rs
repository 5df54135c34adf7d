//! List filtering and the exchange's SSE judging over arbitrary server output: never panic,
//! and whatever is forwarded is valid JSON-RPC with no item the policy hides (the SSE side's
//! invariants are checked in depth by `sse_exchange`).

use std::sync::{Arc, OnceLock};

use mcp_policy::exchange::{ClientVerdict, Guard, Head, RequestFacts};
use mcp_policy::policy::{Engine, Rewrite};
use mcp_policy::{Context, Limits, Message};

const POLICY: &[u8] = br#"{"authorizations":[
  {"authorizedFeatures":[{"type":"TOOLS","methods":["TOOLS_LIST","TOOLS_CALL"],"patternType":"EXPRESSION","patternValue":"get-*"}]},
  {"effect":"DENY","authorizedFeatures":[{"type":"TOOLS","methods":["TOOLS_LIST"],"patternType":"LITERAL","patternValue":"get-env"}]},
  {"authorizedFeatures":[{"type":"RESOURCES","methods":["RESOURCES_READ"],"patternType":"PREFIX","patternValue":"demo://ok/"}]}]}"#;

/// One input: panics if a property above does not hold.
pub fn fuzz_one(data: &[u8]) {
    // The policy is fixed: compiled once, not per input (compiling it, with its DFA, under
    // the sanitizer was most of every run: 100 inputs a second).
    static GUARD: OnceLock<Option<Guard>> = OnceLock::new();
    let Some(guard) = GUARD
        .get_or_init(|| {
            Engine::from_json(POLICY, &Limits::default())
                .ok()
                .map(|e| Guard::new(Arc::new(e)))
        })
        .as_ref()
    else {
        return;
    };
    let engine = guard.engine();
    let ctx = Context::default();
    let facts = RequestFacts {
        content_type: Some(b"application/json"),
        ..RequestFacts::default()
    };
    // A list, a call (links, input_required answers, -32042 errors, sampling inside them) and
    // a read (contents).
    for req in [
        &br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#[..],
        br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get-x"}}"#,
        br#"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"demo://ok/a"}}"#,
    ] {
        let Ok(req) = Message::parse(req, engine.limits()) else {
            return;
        };
        if let Ok(f) = engine.filter_response(&req, data, &ctx)
            && let Rewrite::Replaced(text) = &f.rewrite
        {
            let v: serde_json::Value = serde_json::from_str(text).expect("rewrite is JSON");
            if let Some(tools) = v.pointer("/result/tools").and_then(|t| t.as_array()) {
                for t in tools {
                    let name = t["name"].as_str().expect("kept items have a string name");
                    assert!(
                        name.starts_with("get-") && name != "get-env",
                        "{name} leaked"
                    );
                    // serde_json keeps the last of repeated members, as clients do.
                    if let Some(ui) = t.pointer("/_meta/ui/resourceUri") {
                        let uri = ui.as_str().expect("a kept app link is a string");
                        assert!(uri.starts_with("demo://ok/"), "{uri} leaked");
                    }
                }
            }
            if let Some(contents) = v.pointer("/result/contents").and_then(|c| c.as_array()) {
                for c in contents {
                    let uri = c["uri"].as_str().unwrap_or("demo://ok/");
                    assert!(uri.starts_with("demo://ok/"), "{uri} leaked");
                }
            }
        }
        let session = guard.session();
        let ClientVerdict::Forward(fwd) =
            guard.client(req.text().as_bytes(), &facts, &ctx, &session)
        else {
            return;
        };
        let mut ex = fwd.exchange;
        if ex.server_head(200, Some(b"text/event-stream"), None) != Head::Stream {
            return;
        }
        let mut ended = false;
        for chunk in data.chunks(7) {
            if ex.server_chunk(chunk, &ctx).end {
                ended = true;
                break;
            }
        }
        if !ended {
            let _ = ex.finish();
        }
    }
}
