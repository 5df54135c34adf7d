//! Building the `Context` of one exchange, as a gateway does for every request, allocates a
//! fixed, small number of times however many single-valued headers it adds (borrowed names
//! and values are not copied). Counting is per thread (see alloc_check_call.rs).

use std::borrow::Cow;

use mcp_policy::Context;

/// Headers a client typically sends with a `tools/call`, borrowed from the host's request.
const HEADERS: [(&str, &str); 8] = [
    ("host", "gw.example.com"),
    ("content-type", "application/json"),
    ("accept", "application/json, text/event-stream"),
    ("content-length", "312"),
    ("mcp-protocol-version", "2025-11-25"),
    ("mcp-session-id", "6f1c2a9e-4b1d-4c0a-9d8e-1f2a3b4c5d6e"),
    ("user-agent", "node"),
    ("x-tenant", "acme"),
];

fn build<'a>(headers: &[(&'a str, &'a str)]) -> Context<'a> {
    let mut b = Context::builder()
        .method("POST")
        .path("/mcp")
        .remote_address("10.0.0.7")
        .attribute("api", "weather")
        .attribute("user", "alice")
        .attribute("user.roles", ["mcp:tools", "mcp:read"]);
    for (name, value) in headers {
        b = b.header(*name, *value);
    }
    b.build()
}

fn allocations(headers: &[(&str, &str)]) -> u64 {
    allocation_counter::measure(|| {
        std::hint::black_box(build(std::hint::black_box(headers)));
    })
    .count_total
}

#[test]
fn single_valued_headers_allocate_nothing_each() {
    // The header table, the attribute table and the list of roles; nothing per header.
    assert_eq!(allocations(&HEADERS), 3);
    assert_eq!(allocations(&HEADERS[..1]), 3);
    assert_eq!(allocations(&[]), 2);
}

#[test]
fn repeated_headers_keep_every_value_in_order() {
    let ctx = Context::builder()
        .header("Accept", "application/json")
        .header("x-one", "1")
        .header("accept", "text/event-stream")
        .header("ACCEPT", "*/*")
        .build();
    let h = &ctx.request.headers;
    assert_eq!(
        h.get_all("accept").unwrap(),
        ["application/json", "text/event-stream", "*/*"]
    );
    assert_eq!(h.get_first("Accept"), Some("application/json"));
    assert_eq!(h.get_all("X-One").unwrap(), ["1"]);
    assert_eq!(h.len(), 2);
    let names: Vec<(&str, usize)> = h.iter().map(|(n, v)| (n, v.len())).collect();
    assert_eq!(names, [("Accept", 3), ("x-one", 1)]);
    // Values stay borrowed.
    assert!(matches!(h.get_all("x-one").unwrap()[0], Cow::Borrowed(_)));
}
