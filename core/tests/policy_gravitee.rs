//! Gravitee `mcp-acl` behaviour that the shared cases (`cases/policy/`, run by
//! `cases_policy.rs`) cannot state: exact response bytes, event streams split anywhere, and
//! limits other than the defaults.

use std::sync::Arc;

use mcp_policy::exchange::{ClientVerdict, Guard, Head, RequestFacts};
use mcp_policy::policy::{Decision, Engine};
use mcp_policy::{Context, Limits, Message};

fn engine(policy: &str) -> Engine {
    Engine::from_json(policy.as_bytes(), &Limits::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// The answer format carries the response as a parsed value, so only here can we see that the
/// id is echoed with its escapes as the client wrote it (clients match ids by their text).
#[test]
fn string_ids_are_echoed_exactly() {
    let e = engine(r#"{"authorizations":[]}"#);
    let body = r#"{"jsonrpc":"2.0","id":"req-\u00e9","method":"tools/call","params":{"name":"x"}}"#;
    let msg = Message::parse(body.as_bytes(), e.limits()).unwrap();
    let Decision::Deny(d) = e.check(&msg, &Context::default()) else {
        panic!("allowed")
    };
    let out = d.jsonrpc_response();
    assert!(
        out.starts_with(r#"{"jsonrpc":"2.0","id":"req-\u00e9","error""#),
        "{out}"
    );
}

/// The real `tools/list` SSE body, cut into chunks of every size: the priming event (an id and
/// empty data) and the rewritten list come out the same whatever the cut.
#[test]
fn sse_framed_lists_are_filtered_event_by_event() {
    let guard = Guard::new(Arc::new(engine(include_str!(
        "fixtures/policies/everything-echo-sum.json"
    ))));
    let sse = include_bytes!("fixtures/traffic/tools-list.sse");
    let req = br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
    let facts = RequestFacts {
        content_type: Some(b"application/json"),
        ..RequestFacts::default()
    };
    let ctx = Context::default();
    let mut first: Option<Vec<u8>> = None;
    for split in [1usize, 7, 64, 1000, sse.len()] {
        let session = guard.session();
        let ClientVerdict::Forward(fwd) = guard.client(req, &facts, &ctx, &session) else {
            panic!("the list request was refused")
        };
        let mut ex = fwd.exchange;
        assert_eq!(
            ex.server_head(200, Some(b"text/event-stream"), None),
            Head::Stream
        );
        let mut out = Vec::new();
        for chunk in sse.chunks(split) {
            let step = ex.server_chunk(chunk, &ctx);
            assert!(!step.end, "split {split}");
            out.extend(step.to_client);
        }
        out.extend(ex.finish().to_client);
        let text = String::from_utf8(out.clone()).unwrap();
        let events: Vec<&str> = text.split("\n\n").filter(|s| !s.is_empty()).collect();
        assert_eq!(events.len(), 2, "split {split}: {text}");
        // The priming event keeps its id (so Last-Event-ID advances) and its empty data.
        assert_eq!(events[0], "id: 7bae07f9-0abe-4321-bdd1-7392794e0804\ndata:");
        assert!(
            events[1].starts_with("event: message\nid: 8d9f55a4-396e-42a3-a232-4f0082a7ae97\n"),
            "{}",
            events[1]
        );
        let data = events[1]
            .lines()
            .find_map(|l| l.strip_prefix("data: "))
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(data).unwrap();
        let names: Vec<&str> = v["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["echo", "get-sum"], "split {split}");
        match &first {
            None => first = Some(out),
            Some(f) => assert_eq!(f, &out, "split {split} changed the output"),
        }
    }
}

#[test]
fn oversized_regex_sets_are_refused() {
    let limits = Limits {
        max_regex_bytes: 10_000,
        ..Limits::default()
    };
    let p = r#"{"authorizations":[{"authorizedFeatures":[{"type":"TOOLS","patternType":"REGEX","patternValue":"(\\w{50}){50}"}]}]}"#;
    let err = Engine::from_json(p.as_bytes(), &limits).unwrap_err();
    assert_eq!(
        err.issues[0].path,
        "$.authorizations[0].authorizedFeatures[0].patternValue"
    );
}
