//! What an event stream costs through the exchange API beyond the events themselves: the
//! request a list answer is judged against is parsed when that answer arrives, not once per
//! event, so the progress notifications that precede a list answer cost the same few
//! allocations each however the request was written.

use std::sync::Arc;

use mcp_policy::exchange::{ClientVerdict, Guard, Head, RequestFacts};
use mcp_policy::policy::Engine;
use mcp_policy::{Context, Limits};

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

/// Allocations made while judging `stream` (the exchange set up beforehand), and the output.
fn run(guard: &Guard, request: &[u8], stream: &[u8]) -> (u64, Vec<u8>) {
    let ctx = Context::default();
    let facts = RequestFacts {
        content_type: Some(b"application/json"),
        ..RequestFacts::default()
    };
    let ClientVerdict::Forward(f) = guard.client(request, &facts, &ctx, &guard.session()) else {
        panic!("forwarded")
    };
    let mut ex = f.exchange;
    assert_eq!(
        ex.server_head(200, Some(b"text/event-stream"), None),
        Head::Stream
    );
    let mut out = Vec::new();
    let info = allocation_counter::measure(|| {
        let step = ex.server_chunk(stream, &ctx);
        out = step.to_client;
    });
    assert!(ex.finish().to_client.is_empty());
    (info.count_total, out)
}

#[test]
fn progress_events_cost_a_few_allocations_each_and_never_the_request() {
    let guard = Guard::new(Arc::new(
        Engine::from_json(POLICY.as_bytes(), &Limits::default()).unwrap(),
    ));
    let (plain0, _) = run(&guard, PLAIN, &stream(0));
    let (plain, out) = run(&guard, PLAIN, &stream(20));
    let (escaped0, _) = run(&guard, ESCAPED, &stream(0));
    let (escaped, out_escaped) = run(&guard, ESCAPED, &stream(20));
    // Both requests are read as the same `tools/list`: the list is filtered either way.
    assert_eq!(out, out_escaped);
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains(r#""echo""#) && !text.contains("get-env"),
        "{text}"
    );
    assert_eq!(text.matches("notifications/progress").count(), 20);
    // Twenty events cost the same whatever the request looked like: it is not parsed (nor its
    // escapes decoded) for each of them.
    assert_eq!(plain - plain0, escaped - escaped0);
    let per_event = (plain - plain0) / 20;
    assert!(per_event <= 4, "{per_event} allocations per progress event");
}
