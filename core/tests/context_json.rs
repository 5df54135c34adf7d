//! The ARCHITECTURE.md §3 context read from JSON: borrowed, case-insensitive headers, typed errors.

use mcp_policy::context::Data;
use mcp_policy::expr::{Env, ResultType, Template};
use mcp_policy::{Context, Limits};

const DOC: &str = r#"{
  "request":  { "method": "POST", "scheme": "http", "host": "gw.example.com", "path": "/mcp",
                "pathInfo": "/", "contextPath": "/mcp", "remoteAddress": "10.0.0.7",
                "headers": { "X-User-Role": ["admin"], "Accept": "application/json", "X-Two": ["a", "b"] },
                "params": { "q": ["1"] },
                "content": "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}" },
  "response": { "status": 200, "headers": {}, "content": "" },
  "attributes": { "user": "alice", "user.roles": ["mcp:tools"], "oauth.payload": "{\"scope\":\"a b\"}",
                  "jwt.claims": { "sub": "alice" }, "client_id": "vscode", "n": 3 },
  "api":      { "id": "weather", "name": "Weather MCP", "properties": { "tier": "gold" } },
  "subscription": { "id": "s1", "metadata": { "clientType": "PARTNER" } },
  "variables": { "any": "extra #variable" },
  "unknown": { "ignored": true }
}"#;

fn eval(ctx: &Context<'_>, src: &str) -> String {
    let t = Template::compile(src, &Limits::default()).unwrap();
    t.eval(&Env::new(ctx), ResultType::Auto).unwrap().to_json()
}

#[test]
fn reads_every_part() {
    let ctx = Context::from_json(DOC).unwrap();
    assert_eq!(ctx.request.method.as_deref(), Some("POST"));
    assert_eq!(ctx.request.remote_address.as_deref(), Some("10.0.0.7"));
    assert_eq!(
        ctx.request.headers.get_all("x-user-role").unwrap(),
        ["admin"]
    );
    assert_eq!(
        ctx.request.headers.get_all("ACCEPT").unwrap(),
        ["application/json"]
    );
    assert_eq!(ctx.request.params.get_first("q"), Some("1"));
    assert!(ctx.request.params.get_first("Q").is_none());
    assert_eq!(ctx.response.status, Some(200));
    assert_eq!(ctx.api.id.as_deref(), Some("weather"));
    assert_eq!(ctx.subscription.id.as_deref(), Some("s1"));
    assert!(matches!(ctx.attributes.get("user"), Some(Data::Json(_))));
    assert_eq!(eval(&ctx, "{#request.headers['x-two']}"), r#"["a","b"]"#);
    assert_eq!(
        eval(&ctx, "{#context.attributes['user.roles'][0]}"),
        r#""mcp:tools""#
    );
    assert_eq!(
        eval(&ctx, "{#context.attributes['jwt.claims'].sub}"),
        r#""alice""#
    );
    assert_eq!(eval(&ctx, "{#context.attributes['n'] + 1}"), "4");
    assert_eq!(
        eval(
            &ctx,
            "{#jsonPath(#context.attributes['oauth.payload'], '$.scope')}"
        ),
        r#""a b""#
    );
    assert_eq!(eval(&ctx, "{#api.properties.tier}"), r#""gold""#);
    assert_eq!(eval(&ctx, "{#properties['tier']}"), r#""gold""#);
    assert_eq!(
        eval(&ctx, "{#subscription.metadata['clientType']}"),
        r#""PARTNER""#
    );
    assert_eq!(eval(&ctx, "{#any}"), r#""extra #variable""#);
    assert_eq!(
        eval(&ctx, "{#request.jsonContent.method}"),
        r#""tools/list""#
    );
    assert_eq!(eval(&ctx, "{#response.status == 200}"), "true");
}

#[test]
fn strings_without_escapes_are_borrowed() {
    let ctx = Context::from_json(DOC).unwrap();
    assert!(matches!(
        ctx.request.method,
        Some(std::borrow::Cow::Borrowed(_))
    ));
    // Escaped content is decoded once.
    assert!(matches!(
        ctx.request.content,
        Some(std::borrow::Cow::Owned(_))
    ));
}

#[test]
fn errors_name_the_member() {
    let e = Context::from_json(r#"{"request":{"headers":{"X":[1]}}}"#).unwrap_err();
    assert_eq!(e.path(), Some("request.headers.X[]"));
    let e = Context::from_json(r#"{"request":{"method":5}}"#).unwrap_err();
    assert_eq!(e.path(), Some("request.method"));
    let e = Context::from_json(r#"{"response":{"status":"ok"}}"#).unwrap_err();
    assert_eq!(e.path(), Some("response.status"));
    let e = Context::from_json(r#"[1]"#).unwrap_err();
    assert_eq!(e.path(), Some("(context)"));
    let e = Context::from_json(r#"{"attributes": 3}"#).unwrap_err();
    assert_eq!(e.path(), Some("attributes"));
    let e = Context::from_json(r#"{"request": {"#).unwrap_err();
    assert_eq!(e.kind(), mcp_policy::ErrorKind::Syntax);
    assert!(Context::from_json("{}").is_ok());
}

#[test]
fn oauth_pairs_and_prefix_fallback() {
    let mut ctx = Context::from_json(r#"{"attributes":{"gravitee.attribute.plan":"p1"}}"#).unwrap();
    ctx.attributes.extend_json([
        ("user".to_string(), serde_json::json!("bob")),
        ("user.roles".to_string(), serde_json::json!(["a", "b"])),
        (
            "jwt.claims".to_string(),
            serde_json::json!({"sub": "bob", "n": 1.5}),
        ),
    ]);
    assert_eq!(eval(&ctx, "{#context.attributes['plan']}"), r#""p1""#);
    assert_eq!(
        eval(&ctx, "{#context.attributes['user.roles'].contains('b')}"),
        "true"
    );
    assert_eq!(
        eval(&ctx, "{#context.attributes['jwt.claims']['n']}"),
        "1.5"
    );
    assert_eq!(ctx.attributes.len(), 4);
}

/// However a host builds the context, conditions never read credentials or cookies.
#[test]
fn credentials_and_cookies_are_never_visible() {
    let from_json = Context::from_json(
        r#"{"request":{"headers":{"Authorization":["Bearer secret"],"Cookie":["s=1"],
            "X-Api-Key":["k"],"X-Role":["admin"]}}}"#,
    )
    .unwrap();
    let built = Context::builder()
        .header("authorization", "Bearer secret")
        .header("Proxy-Authorization", "Basic x")
        .header("x-role", "admin")
        .build();
    let headers: &[(&[u8], &[u8])] = &[(b"Cookie", b"s=1"), (b"X-Role", b"admin")];
    let from_parts = Context::from_parts(headers, None).unwrap();
    for ctx in [&from_json, &built, &from_parts] {
        assert_eq!(ctx.request.headers.get_first("x-role"), Some("admin"));
        for hidden in mcp_policy::context::HIDDEN_HEADERS {
            assert!(ctx.request.headers.get_all(hidden).is_none(), "{hidden}");
        }
        assert_eq!(eval(ctx, "{#request.headers['Authorization']}"), "null");
    }
}
