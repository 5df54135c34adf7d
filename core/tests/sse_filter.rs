//! `sse::Filter` judges every event of a stream against the request it answers; that request
//! is parsed once per stream, not once per event.

use mcp_policy::policy::Engine;
use mcp_policy::sse::{EventAction, Filter};
use mcp_policy::{Context, Limits, Message};

const POLICY: &str = r#"{"authorizations":[{"authorizedFeatures":[
    {"type":"TOOLS","methods":["TOOLS_LIST"],"patternType":"LITERAL","patternValue":"echo"}]}]}"#;

/// The same `tools/list` request; the second spells its method with an escaped `/`, which
/// parsing has to decode into a new string.
const PLAIN: &[u8] = br#"{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{}}"#;
const ESCAPED: &[u8] = br#"{"jsonrpc":"2.0","id":2,"method":"tools\/list","params":{}}"#;

/// `n` progress notifications, then the list result (two tools, one granted).
fn stream(n: usize) -> Vec<u8> {
    let mut s = String::new();
    for i in 0..n {
        s.push_str(&format!(
            "event: message\nid: ev-{i}\ndata: {{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{{\"progressToken\":\"t\",\"progress\":{i}}}}}\n\n"
        ));
    }
    s.push_str("event: message\nid: ev-last\ndata: {\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"tools\":[{\"name\":\"echo\"},{\"name\":\"get-env\"}]}}\n\n");
    s.into_bytes()
}

/// Allocations made while filtering `stream` (the filter built beforehand), the output, and
/// what happened to each event.
fn filter(engine: &Engine, request: &[u8], stream: &[u8]) -> (u64, Vec<u8>, Vec<EventAction>) {
    let ctx = Context::default();
    let mut f = Filter::new(engine, Some(request));
    let mut out = Vec::with_capacity(stream.len());
    let mut actions = Vec::new();
    let info = allocation_counter::measure(|| {
        actions = f.push(stream, &ctx, &mut out).unwrap();
    });
    assert!(f.finish(&ctx, &mut out).is_empty());
    (info.count_total, out, actions)
}

#[test]
fn the_request_is_parsed_once_per_stream() {
    let engine = Engine::from_json(POLICY.as_bytes(), &Limits::default()).unwrap();
    let events = stream(20);
    let (plain, out, actions) = filter(&engine, PLAIN, &events);
    let (escaped, out_escaped, actions_escaped) = filter(&engine, ESCAPED, &events);
    // Both requests are read as the same `tools/list`: the list is filtered either way.
    assert_eq!(out, out_escaped);
    assert_eq!(actions, actions_escaped);
    assert_eq!(actions.len(), 21);
    assert_eq!(actions.last(), Some(&EventAction::Rewritten));
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains(r#""echo""#) && !text.contains("get-env"),
        "{text}"
    );
    // Decoding the escaped method is the only difference between the two requests, and it is
    // paid when the filter is built, not once more for each of the 21 events.
    assert_eq!(escaped, plain);
}

#[test]
fn a_request_parsed_by_the_host_is_used_as_is() {
    let engine = Engine::from_json(POLICY.as_bytes(), &Limits::default()).unwrap();
    let request = Message::parse(PLAIN, engine.limits()).unwrap();
    let ctx = Context::default();
    let mut f = Filter::for_message(&engine, Some(request));
    let mut out = Vec::new();
    let actions = f.push(&stream(1), &ctx, &mut out).unwrap();
    assert_eq!(actions, [EventAction::Passed, EventAction::Rewritten]);
    assert!(!String::from_utf8(out).unwrap().contains("get-env"));
}
