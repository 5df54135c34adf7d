//! The step-up challenge names the resource's own scopes before the rule's, so the token a
//! client gets after re-authorizing still opens every other request.

use std::sync::Arc;

use mcp_policy::exchange::{ClientVerdict, Guard, Options, RequestFacts};
use mcp_policy::policy::Engine;
use mcp_policy::{Context, Limits};

const POLICY: &str = r#"{"authorizations": [
  {"name": "tools", "authorizedFeatures": [{"type": "TOOLS", "methods": ["TOOLS_LIST", "TOOLS_CALL"], "patternType": "LITERAL", "patternValue": "echo"}]},
  {"name": "admin", "scopes": ["mcp:admin", "mcp:tools"],
   "condition": "{#context.attributes['user.roles'].contains('mcp:admin')}",
   "authorizedFeatures": [{"type": "TOOLS", "methods": ["TOOLS_CALL"], "patternType": "LITERAL", "patternValue": "get-env"}]}
]}"#;

fn challenge(options: Options) -> Option<String> {
    let engine = Engine::from_json(POLICY.as_bytes(), &Limits::default()).unwrap();
    let guard = Guard::with_options(Arc::new(engine), options);
    let body = br#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"get-env"}}"#;
    let ctx = Context::builder().build();
    let facts = RequestFacts::from_lookup(|name| match name {
        "content-type" => (Some(b"application/json".as_slice()), false),
        _ => (None, false),
    });
    match guard.client(body, &facts, &ctx, &guard.session()) {
        ClientVerdict::Reply(r) => {
            assert_eq!(r.status, 403);
            r.www_authenticate
        }
        ClientVerdict::Forward(_) => panic!("get-env without mcp:admin must be refused"),
    }
}

#[test]
fn rule_scopes_alone_without_challenge_scopes() {
    let c = challenge(Options::default()).unwrap();
    assert!(c.contains(r#"scope="mcp:admin mcp:tools""#), "{c}");
    assert!(!c.contains("resource_metadata"), "{c}");
}

#[test]
fn resource_scopes_first_each_once() {
    let c = challenge(Options {
        resource_metadata_url: Some(
            "https://gw.example/.well-known/oauth-protected-resource/mcp".into(),
        ),
        challenge_scopes: vec!["mcp:tools".into(), "openid".into()],
        ..Options::default()
    })
    .unwrap();
    assert!(
        c.starts_with(
            r#"Bearer resource_metadata="https://gw.example/.well-known/oauth-protected-resource/mcp", scope="mcp:tools openid mcp:admin", error="insufficient_scope""#
        ),
        "{c}"
    );
}
