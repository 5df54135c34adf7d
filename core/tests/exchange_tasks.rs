//! Task bindings across the requests of a stateless client (MCP 2026-07-28 has no sessions, so
//! each request comes with a fresh one): the guard keeps them for every such request, while a
//! request of an earlier revision sees only its own session's. The per-session rules
//! themselves are shared cases (`cases/exchange/tasks.json`).

use std::sync::Arc;

use mcp_policy::exchange::{ClientVerdict, Guard, Head, RequestFacts};
use mcp_policy::policy::Engine;
use mcp_policy::{Context, Limits};

const POLICY: &[u8] = br#"{"authorizations":[{"authorizedFeatures":[
    {"type":"TOOLS","methods":["TOOLS_LIST","TOOLS_CALL"],"patternType":"LITERAL","patternValue":"echo"}]}]}"#;

fn facts<'a>(method: &'a [u8], name: &'a [u8]) -> RequestFacts<'a> {
    facts_of(b"2026-07-28", method, name)
}

fn facts_of<'a>(version: &'a [u8], method: &'a [u8], name: &'a [u8]) -> RequestFacts<'a> {
    RequestFacts {
        content_type: Some(b"application/json"),
        protocol_version: Some(version),
        mcp_method: Some(method),
        mcp_name: Some(name),
        ..RequestFacts::default()
    }
}

#[test]
fn stateless_requests_of_one_guard_follow_the_tasks_they_create() {
    let guard = Guard::new(Arc::new(
        Engine::from_json(POLICY, &Limits::default()).unwrap(),
    ));
    let ctx = Context::default();
    let call = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{}}}"#;
    let ClientVerdict::Forward(fwd) =
        guard.client(call, &facts(b"tools/call", b"echo"), &ctx, &guard.session())
    else {
        panic!("the call is allowed")
    };
    let mut ex = fwd.exchange;
    assert_eq!(
        ex.server_head(200, Some(b"application/json"), None),
        Head::Whole
    );
    let task = br#"{"jsonrpc":"2.0","id":1,"result":{"resultType":"task","taskId":"t-1","status":"working"}}"#;
    assert_eq!(ex.server_body(task, &ctx).status, 200);

    let get = br#"{"jsonrpc":"2.0","id":2,"method":"tasks/get","params":{"taskId":"t-1"}}"#;
    let next = guard.client(get, &facts(b"tasks/get", b"t-1"), &ctx, &guard.session());
    assert!(
        matches!(next, ClientVerdict::Forward(_)),
        "a later stateless request follows the task"
    );

    // A request of an earlier revision, in a session that has not seen the task, is refused.
    let ClientVerdict::Reply(r) = guard.client(
        get,
        &facts_of(b"2025-11-25", b"tasks/get", b"t-1"),
        &ctx,
        &guard.session(),
    ) else {
        panic!("an unknown task is refused")
    };
    assert!(String::from_utf8_lossy(&r.body).contains("Unknown task: t-1"));

    // Another guard (another API, or a reload) has bindings of its own.
    let other = Guard::new(guard.engine().clone());
    assert!(matches!(
        other.client(get, &facts(b"tasks/get", b"t-1"), &ctx, &other.session()),
        ClientVerdict::Reply(_)
    ));
}
