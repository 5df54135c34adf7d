//! RFC 7662 introspection responses → principal → context attributes, and the principal
//! helpers that do not need the `jwt` feature.

use mcp_policy::oauth::{
    ClaimMapping, IntrospectionValidator, Principal, ScopeMode, TokenError, TokenPart, TokenSource,
    UrlError,
};
use serde_json::{Value, json};

const RESOURCE: &str = "https://gw.example.com/mcp";
const PRM: &str = "https://gw.example.com/.well-known/oauth-protected-resource/mcp";
const NOW: u64 = 1_700_000_000;

fn validator() -> IntrospectionValidator {
    IntrospectionValidator::new(RESOURCE).unwrap()
}

fn response() -> Value {
    // The shape Gravitee AM returns from /oauth/introspect.
    json!({
        "active": true,
        "client_id": "mcp-client-42",
        "username": "alice",
        "sub": "6f1c-user-id",
        "scope": "openid mcp:tools mcp:resources",
        "aud": [RESOURCE],
        "iss": "https://am.example.com/test/oidc",
        "exp": NOW + 600,
        "iat": NOW - 5,
        "token_type": "bearer",
        "domain": "test"
    })
}

fn assert_401(err: &TokenError, description: &str) {
    assert_eq!(err.http_status(), 401);
    assert_eq!(
        err.challenge(PRM).to_string(),
        format!(
            "Bearer resource_metadata=\"{PRM}\", error=\"invalid_token\", error_description=\"{description}\""
        )
    );
}

#[test]
fn active_response_becomes_a_principal_with_gravitee_attributes() {
    let body = response().to_string();
    let p = validator().validate(&body, NOW).unwrap();
    assert_eq!(p.user.as_deref(), Some("6f1c-user-id"));
    assert_eq!(p.scopes, vec!["openid", "mcp:tools", "mcp:resources"]);
    assert_eq!(p.client_id.as_deref(), Some("mcp-client-42"));
    assert_eq!(
        p.issuer.as_deref(),
        Some("https://am.example.com/test/oidc")
    );
    assert_eq!(p.audience, vec![RESOURCE]);
    assert_eq!(p.expires_at, Some(NOW + 600));
    assert_eq!(p.source, TokenSource::Introspection);
    assert_eq!(
        p.payload, body,
        "oauth.payload is the response exactly as received"
    );
    assert_eq!(
        p.attributes(),
        vec![
            ("user".to_owned(), json!("6f1c-user-id")),
            (
                "user.roles".to_owned(),
                json!(["openid", "mcp:tools", "mcp:resources"])
            ),
            ("jwt.claims".to_owned(), response()),
            ("oauth.payload".to_owned(), json!(body)),
            ("client_id".to_owned(), json!("mcp-client-42")),
            ("oauth.client_id".to_owned(), json!("mcp-client-42")),
        ]
    );
    // Whitespace and member order of the body are preserved in oauth.payload.
    let pretty = serde_json::to_string_pretty(&response()).unwrap();
    assert_eq!(validator().validate(&pretty, NOW).unwrap().payload, pretty);
}

#[test]
fn inactive_token_is_invalid_token() {
    let err = validator()
        .validate(r#"{"active":false}"#, NOW)
        .unwrap_err();
    assert_eq!(err, TokenError::Inactive);
    assert_401(&err, "The access token is not active");
    // `active: false` wins even when the other members look fine.
    let mut r = response();
    r["active"] = json!(false);
    assert_eq!(
        validator().validate(&r.to_string(), NOW),
        Err(TokenError::Inactive)
    );
    // `active` is required and must be a boolean.
    assert_eq!(
        validator().validate(r#"{"sub":"a"}"#, NOW),
        Err(TokenError::Malformed {
            part: TokenPart::Payload,
            reason: "introspection response has no `active` member".into()
        })
    );
    assert_eq!(
        validator().validate(r#"{"active":"true"}"#, NOW),
        Err(TokenError::InvalidClaim {
            claim: "active".into(),
            reason: "must be true or false".into()
        })
    );
    assert!(matches!(
        validator().validate(r#"{"active":true,"active":false}"#, NOW),
        Err(TokenError::Malformed { part: TokenPart::Payload, reason }) if reason.contains("duplicate field `active`")
    ));
    assert!(matches!(
        validator().validate("<html>502</html>", NOW),
        Err(TokenError::Malformed {
            part: TokenPart::Payload,
            ..
        })
    ));
}

#[test]
fn audience_is_checked() {
    let mut r = response();
    r["aud"] = json!("https://upstream.internal/mcp");
    let err = validator().validate(&r.to_string(), NOW).unwrap_err();
    assert_eq!(
        err,
        TokenError::WrongAudience {
            found: vec!["https://upstream.internal/mcp".into()],
            expected: vec![RESOURCE.into()]
        }
    );
    assert_401(&err, "The access token was not issued for this resource");
    r.as_object_mut().unwrap().remove("aud");
    assert_eq!(
        validator().validate(&r.to_string(), NOW),
        Err(TokenError::MissingClaim { claim: "aud" })
    );
    let relaxed = validator().allow_missing_audience();
    assert_eq!(
        relaxed.validate(&r.to_string(), NOW).unwrap().audience,
        Vec::<String>::new()
    );
    // Gravitee AM-style: aud holds the resource server's client id as well.
    r["aud"] = json!(["mcp-server-client"]);
    let v = validator().with_additional_audience("mcp-server-client");
    assert_eq!(
        v.validate(&r.to_string(), NOW).unwrap().audience,
        vec!["mcp-server-client"]
    );
}

#[test]
fn expiry_and_not_before_use_the_passed_time() {
    let mut r = response();
    r["exp"] = json!(NOW - 61);
    let err = validator().validate(&r.to_string(), NOW).unwrap_err();
    assert_eq!(
        err,
        TokenError::Expired {
            exp: NOW - 61,
            now: NOW,
            leeway: 60
        }
    );
    assert_401(&err, "The access token expired");
    assert!(validator().validate(&r.to_string(), NOW - 50).is_ok());
    assert!(matches!(
        validator()
            .with_leeway(0)
            .validate(&r.to_string(), NOW - 61),
        Err(TokenError::Expired { leeway: 0, .. })
    ));
    let mut r = response();
    r["nbf"] = json!(NOW + 120);
    assert_eq!(
        validator().validate(&r.to_string(), NOW),
        Err(TokenError::NotYetValid {
            nbf: NOW + 120,
            now: NOW,
            leeway: 60
        })
    );
    // exp is optional in introspection responses.
    let mut r = response();
    r.as_object_mut().unwrap().remove("exp");
    assert_eq!(
        validator()
            .validate(&r.to_string(), NOW)
            .unwrap()
            .expires_at,
        None
    );
}

#[test]
fn issuer_is_checked_when_configured() {
    let v = validator().with_issuers(["https://am.example.com/test/oidc"]);
    assert!(v.validate(&response().to_string(), NOW).is_ok());
    let v = validator().with_issuers(["https://other"]);
    assert_eq!(
        v.validate(&response().to_string(), NOW),
        Err(TokenError::WrongIssuer {
            found: "https://am.example.com/test/oidc".into(),
            expected: vec!["https://other".into()]
        })
    );
}

#[test]
fn required_scopes_give_a_403_step_up_challenge() {
    let v = validator().with_required_scopes(["mcp:tools", "mcp:write"], ScopeMode::All);
    let err = v.validate(&response().to_string(), NOW).unwrap_err();
    assert_eq!(
        err,
        TokenError::InsufficientScope {
            required: vec!["mcp:tools".into(), "mcp:write".into()],
            missing: vec!["mcp:write".into()],
            mode: ScopeMode::All
        }
    );
    assert_eq!(err.http_status(), 403);
    assert_eq!(
        err.challenge(PRM).to_string(),
        format!(
            "Bearer resource_metadata=\"{PRM}\", scope=\"mcp:tools mcp:write\", error=\"insufficient_scope\", error_description=\"The access token lacks required scopes\""
        )
    );
    assert_eq!(
        err.to_string(),
        "access token lacks scopes: needs all of [\"mcp:tools\", \"mcp:write\"], missing [\"mcp:write\"]; the client must re-authorize with scope=\"mcp:tools mcp:write\""
    );
    let v = validator().with_required_scopes(["mcp:write", "mcp:tools"], ScopeMode::Any);
    assert!(v.validate(&response().to_string(), NOW).is_ok());
}

#[test]
fn user_and_client_fallbacks() {
    // No sub: the introspection `username` names the user.
    let r = json!({"active": true, "username": "bob", "aud": RESOURCE, "azp": "cli"});
    let p = validator().validate(&r.to_string(), NOW).unwrap();
    assert_eq!(p.user.as_deref(), Some("bob"));
    assert_eq!(p.client_id.as_deref(), Some("cli"));
    assert_eq!(p.scopes, Vec::<String>::new());
    // No client_id nor azp: first aud (Entra-like servers).
    let r = json!({"active": true, "sub": "u", "aud": [RESOURCE, "x"]});
    assert_eq!(
        validator()
            .validate(&r.to_string(), NOW)
            .unwrap()
            .client_id
            .as_deref(),
        Some(RESOURCE)
    );
    // Custom user claim and scope separator.
    let r = json!({"active": true, "sub": "u", "preferred_username": "carol", "aud": RESOURCE, "scope": "a,b,,a"});
    let v = validator().with_claim_mapping(ClaimMapping {
        user_claim: "preferred_username".into(),
        scope_separator: ',',
    });
    let p = v.validate(&r.to_string(), NOW).unwrap();
    assert_eq!(p.user.as_deref(), Some("carol"));
    assert_eq!(p.scopes, vec!["a", "b"]);
    // Wrongly typed members are named.
    let r = json!({"active": true, "sub": "u", "aud": RESOURCE, "client_id": 7});
    assert_eq!(
        validator().validate(&r.to_string(), NOW),
        Err(TokenError::InvalidClaim {
            claim: "client_id".into(),
            reason: "must be a string".into()
        })
    );
    let r = json!({"active": true, "sub": "u", "aud": RESOURCE, "scope": {"a": 1}});
    assert_eq!(
        validator().validate(&r.to_string(), NOW),
        Err(TokenError::InvalidClaim {
            claim: "scope".into(),
            reason: "must be a string or an array of strings".into()
        })
    );
}

#[test]
fn principal_from_claims_without_a_validator() {
    let claims = json!({"sub": "dave", "scp": ["x", "y"], "client_id": "c"});
    let p = Principal::from_claims(
        claims.as_object().unwrap().clone(),
        TokenSource::Jwt,
        &ClaimMapping::default(),
    )
    .unwrap();
    assert_eq!(p.user.as_deref(), Some("dave"));
    assert_eq!(p.scopes, vec!["x", "y"]);
    assert_eq!(serde_json::from_str::<Value>(&p.payload).unwrap(), claims);
    let p = Principal::from_payload(
        r#"{"sub":"e","scope":"s"}"#,
        TokenSource::Jwt,
        &ClaimMapping::default(),
    )
    .unwrap();
    assert_eq!(p.payload, r#"{"sub":"e","scope":"s"}"#);
    assert_eq!(p.scopes, vec!["s"]);
}

#[test]
fn configuration_errors() {
    assert_eq!(
        IntrospectionValidator::new("gw/mcp").unwrap_err(),
        UrlError::UnsupportedScheme {
            scheme: "gw/mcp".into()
        }
    );
}
