//! `WWW-Authenticate` building and parsing (RFC 9110 §11.6.1, RFC 6750 §3, RFC 9728 §5.1).

use mcp_policy::oauth::{
    BearerChallenge, BearerErrorCode, Challenge, ChallengeError, ChallengeErrorKind,
    format_www_authenticate, parse_www_authenticate,
};
use proptest::prelude::*;

const PRM: &str = "https://gw.example.com/.well-known/oauth-protected-resource/mcp";

fn s(v: &str) -> String {
    v.to_owned()
}

fn kind(header: &str) -> ChallengeErrorKind {
    BearerChallenge::parse(header).unwrap_err().kind
}

#[test]
fn builds_the_401_of_the_mcp_spec() {
    let c = BearerChallenge::unauthorized(PRM).with_scope(["files:read"]);
    assert_eq!(
        c.to_string(),
        "Bearer resource_metadata=\"https://gw.example.com/.well-known/oauth-protected-resource/mcp\", scope=\"files:read\""
    );
    assert_eq!(c.http_status(), 401);
    assert_eq!(c.header_value(), c.to_string());
}

#[test]
fn builds_invalid_token_and_insufficient_scope() {
    let c = BearerChallenge::invalid_token(PRM, "The access token expired");
    assert_eq!(
        c.to_string(),
        format!(
            "Bearer resource_metadata=\"{PRM}\", error=\"invalid_token\", error_description=\"The access token expired\""
        )
    );
    assert_eq!(c.http_status(), 401);

    let c = BearerChallenge::insufficient_scope(
        PRM,
        ["mcp:basic", "mcp:write"],
        Some(s("Additional scope required")),
    );
    assert_eq!(
        c.to_string(),
        format!(
            "Bearer resource_metadata=\"{PRM}\", scope=\"mcp:basic mcp:write\", error=\"insufficient_scope\", error_description=\"Additional scope required\""
        )
    );
    assert_eq!(c.http_status(), 403);

    let c = BearerChallenge::default()
        .with_realm("gravitee.io")
        .with_error(BearerErrorCode::InvalidRequest, None);
    assert_eq!(
        c.to_string(),
        "Bearer realm=\"gravitee.io\", error=\"invalid_request\""
    );
    assert_eq!(c.http_status(), 400);
}

#[test]
fn parses_the_spec_401_header() {
    // mcp-spec.md §3.2
    let c = BearerChallenge::parse(
        "Bearer resource_metadata=\"https://gw.example.com/.well-known/oauth-protected-resource/mcp\", scope=\"files:read\"",
    )
    .unwrap();
    assert_eq!(
        c,
        BearerChallenge {
            resource_metadata: Some(s(PRM)),
            scope: vec![s("files:read")],
            ..BearerChallenge::default()
        }
    );
}

#[test]
fn parses_the_typescript_sdk_header() {
    // mcp-spec.md §3.2, observed from the TS SDK's requireBearerAuth.
    let c = BearerChallenge::parse(
        "Bearer error=\"invalid_token\", error_description=\"Missing Authorization header\", scope=\"mcp:basic\", resource_metadata=\"http://host/.well-known/oauth-protected-resource/mcp\"",
    )
    .unwrap();
    assert_eq!(c.error, Some(BearerErrorCode::InvalidToken));
    assert_eq!(
        c.error_description.as_deref(),
        Some("Missing Authorization header")
    );
    assert_eq!(c.scope, vec![s("mcp:basic")]);
    assert_eq!(
        c.resource_metadata.as_deref(),
        Some("http://host/.well-known/oauth-protected-resource/mcp")
    );
    assert_eq!(c.realm, None);
    assert!(c.extra.is_empty());
    assert_eq!(c.http_status(), 401);
}

#[test]
fn parses_the_step_up_headers() {
    // mcp-spec.md §3.6, conformance mock form (error last).
    let c = BearerChallenge::parse(
        "Bearer scope=\"mcp:basic mcp:write\", resource_metadata=\"http://localhost:3000/.well-known/oauth-protected-resource/mcp\", error=\"insufficient_scope\"",
    )
    .unwrap();
    assert_eq!(c.error, Some(BearerErrorCode::InsufficientScope));
    assert_eq!(c.scope, vec![s("mcp:basic"), s("mcp:write")]);
    assert_eq!(
        c.resource_metadata.as_deref(),
        Some("http://localhost:3000/.well-known/oauth-protected-resource/mcp")
    );
    assert_eq!(c.http_status(), 403);

    // mcp-spec.md §3.6, spec form (error first, description last).
    let c = BearerChallenge::parse(&format!(
        "Bearer error=\"insufficient_scope\", scope=\"files:read files:write\", resource_metadata=\"{PRM}\", error_description=\"Additional file write permission required\""
    ))
    .unwrap();
    assert_eq!(
        c,
        BearerChallenge {
            resource_metadata: Some(s(PRM)),
            scope: vec![s("files:read"), s("files:write")],
            error: Some(BearerErrorCode::InsufficientScope),
            error_description: Some(s("Additional file write permission required")),
            ..BearerChallenge::default()
        }
    );
}

#[test]
fn parses_gravitee_and_upstream_headers() {
    let c = BearerChallenge::parse(
        "Bearer resource_metadata=\"http://localhost:8082/.well-known/oauth-protected-resource/v4-mcp-proxy-api\"",
    )
    .unwrap();
    assert_eq!(
        c.resource_metadata.as_deref(),
        Some("http://localhost:8082/.well-known/oauth-protected-resource/v4-mcp-proxy-api")
    );
    let c = BearerChallenge::parse("Bearer realm=\"gravitee.io\"").unwrap();
    assert_eq!(c.realm.as_deref(), Some("gravitee.io"));
    let c = BearerChallenge::parse(
        "Bearer realm=\"example\", resource_metadata=\"http://mcpserver.com/.well-known/oauth-protected-resource\"",
    )
    .unwrap();
    assert_eq!(c.realm.as_deref(), Some("example"));
    assert_eq!(
        c.resource_metadata.as_deref(),
        Some("http://mcpserver.com/.well-known/oauth-protected-resource")
    );
}

#[test]
fn several_challenges_in_one_header() {
    let all = parse_www_authenticate(
        "Basic realm=\"a, b=c\", Bearer resource_metadata=\"https://h/x\", scope=\"s1\", Negotiate abc==, NTLM",
    )
    .unwrap();
    assert_eq!(
        all,
        vec![
            Challenge {
                scheme: s("Basic"),
                token68: None,
                params: vec![(s("realm"), s("a, b=c"))]
            },
            Challenge {
                scheme: s("Bearer"),
                token68: None,
                params: vec![
                    (s("resource_metadata"), s("https://h/x")),
                    (s("scope"), s("s1"))
                ]
            },
            Challenge {
                scheme: s("Negotiate"),
                token68: Some(s("abc==")),
                params: vec![]
            },
            Challenge {
                scheme: s("NTLM"),
                token68: None,
                params: vec![]
            },
        ]
    );
    let b = BearerChallenge::parse("Basic realm=\"x\", Bearer resource_metadata=\"https://h/x\"")
        .unwrap();
    assert_eq!(b.resource_metadata.as_deref(), Some("https://h/x"));
    assert_eq!(
        b.realm, None,
        "the Basic realm must not leak into the Bearer challenge"
    );
}

#[test]
fn case_whitespace_tokens_and_escapes() {
    let c = BearerChallenge::parse(
        "  bEaReR   Scope = \"a  b\" ,ERROR= invalid_token ,\t, Error_Description=\"say \\\"hi\\\" \\\\ ok\"  ",
    )
    .unwrap();
    assert_eq!(c.scope, vec![s("a"), s("b")]);
    assert_eq!(c.error, Some(BearerErrorCode::InvalidToken));
    assert_eq!(c.error_description.as_deref(), Some("say \"hi\" \\ ok"));

    let c = BearerChallenge::parse("Bearer error=\"temporarily_unavailable\", foo=bar").unwrap();
    assert_eq!(
        c.error,
        Some(BearerErrorCode::Other(s("temporarily_unavailable")))
    );
    assert_eq!(c.extra, vec![(s("foo"), s("bar"))]);
    assert_eq!(c.http_status(), 401);

    // A scheme alone is a valid (empty) challenge.
    assert_eq!(
        BearerChallenge::parse("Bearer").unwrap(),
        BearerChallenge::default()
    );
    // Non-ASCII (obs-text) in quoted strings survives.
    let c = BearerChallenge::parse("Bearer realm=\"Zürich ✓\"").unwrap();
    assert_eq!(c.realm.as_deref(), Some("Zürich ✓"));
}

#[test]
fn duplicates_are_rejected() {
    let e = BearerChallenge::parse("Bearer scope=\"a\", Scope=\"b\"").unwrap_err();
    assert_eq!(
        e,
        ChallengeError {
            kind: ChallengeErrorKind::DuplicateParameter { name: s("scope") },
            offset: 18
        }
    );
    assert!(e.to_string().contains("`scope` appears twice"), "{e}");
    assert_eq!(
        kind("Bearer resource_metadata=\"a\", resource_metadata=\"b\""),
        ChallengeErrorKind::DuplicateParameter {
            name: s("resource_metadata")
        }
    );
    // The same name in two different challenges is fine.
    assert_eq!(
        parse_www_authenticate("Basic realm=\"a\", Digest realm=\"b\"")
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn malformed_headers_are_rejected_with_position() {
    assert_eq!(
        BearerChallenge::parse("Bearer scope=\"abc").unwrap_err(),
        ChallengeError {
            kind: ChallengeErrorKind::UnterminatedQuotedString,
            offset: 13
        }
    );
    assert_eq!(
        BearerChallenge::parse("Bearer a=\"x\" b=\"y\"").unwrap_err(),
        ChallengeError {
            kind: ChallengeErrorKind::ExpectedComma,
            offset: 13
        }
    );
    assert_eq!(
        BearerChallenge::parse("Bearer realm=\"x\", scope=").unwrap_err(),
        ChallengeError {
            kind: ChallengeErrorKind::ExpectedValue { param: s("scope") },
            offset: 24
        }
    );
    // By the grammar, a lone `scope=` is a token68, which Bearer does not allow.
    assert_eq!(
        BearerChallenge::parse("Bearer scope=").unwrap_err(),
        ChallengeError {
            kind: ChallengeErrorKind::Token68NotAllowed,
            offset: 0
        }
    );
    assert_eq!(
        BearerChallenge::parse("Bearer realm=\"a\r\nX-Injected: 1\"").unwrap_err(),
        ChallengeError {
            kind: ChallengeErrorKind::InvalidCharacter { found: '\r' },
            offset: 15
        }
    );
    assert_eq!(
        BearerChallenge::parse("=x").unwrap_err(),
        ChallengeError {
            kind: ChallengeErrorKind::ExpectedScheme,
            offset: 0
        }
    );
    assert_eq!(
        BearerChallenge::parse("Bearer\"x\"").unwrap_err(),
        ChallengeError {
            kind: ChallengeErrorKind::ExpectedSpace,
            offset: 6
        }
    );
    assert_eq!(kind(""), ChallengeErrorKind::Empty);
    assert_eq!(kind(" , ,"), ChallengeErrorKind::Empty);
    assert_eq!(
        kind("Basic realm=\"x\""),
        ChallengeErrorKind::NoBearerChallenge
    );
    assert_eq!(
        BearerChallenge::parse("Bearer realm=\"a\", bearer realm=\"b\"").unwrap_err(),
        ChallengeError {
            kind: ChallengeErrorKind::MultipleBearerChallenges,
            offset: 18
        }
    );
    assert_eq!(
        BearerChallenge::parse("Basic x=\"y\", Bearer abc==").unwrap_err(),
        ChallengeError {
            kind: ChallengeErrorKind::Token68NotAllowed,
            offset: 13
        }
    );
    assert_eq!(kind("Bearer a!b"), ChallengeErrorKind::InvalidToken68);
    assert_eq!(kind(&"x".repeat(20_000)), ChallengeErrorKind::TooLong);
    let e = BearerChallenge::parse("Bearer scope=\"abc").unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid WWW-Authenticate value: quoted-string starting at byte 13 is not closed; add the closing `\"`"
    );
}

#[test]
fn building_cannot_inject_header_lines() {
    let c = BearerChallenge::invalid_token(PRM, "bad\r\nSet-Cookie: x=1").with_realm("a\"b\\c");
    let v = c.to_string();
    assert!(!v.contains('\r') && !v.contains('\n'), "{v}");
    assert_eq!(
        v,
        format!(
            "Bearer realm=\"a\\\"b\\\\c\", resource_metadata=\"{PRM}\", error=\"invalid_token\", error_description=\"bad  Set-Cookie: x=1\""
        )
    );
    let back = BearerChallenge::parse(&v).unwrap();
    assert_eq!(back.realm.as_deref(), Some("a\"b\\c"));
    // Extra parameters that collide with known ones or are not tokens are not emitted twice.
    let mut c = BearerChallenge::unauthorized(PRM);
    c.extra = vec![
        (s("Resource_Metadata"), s("https://evil")),
        (s("x y\r\n"), s("1")),
    ];
    assert_eq!(
        c.to_string(),
        format!("Bearer resource_metadata=\"{PRM}\", xy=\"1\"")
    );
}

#[test]
fn generic_format_joins_challenges() {
    let list = vec![
        Challenge {
            scheme: s("Basic"),
            token68: None,
            params: vec![(s("realm"), s("x"))],
        },
        BearerChallenge::unauthorized(PRM).to_challenge(),
    ];
    let v = format_www_authenticate(&list);
    assert_eq!(
        v,
        format!("Basic realm=\"x\", Bearer resource_metadata=\"{PRM}\"")
    );
    assert_eq!(parse_www_authenticate(&v).unwrap(), list);
}

fn scope_token() -> impl Strategy<Value = String> {
    // RFC 6749 §3.3 scope-token: %x21 / %x23-5B / %x5D-7E.
    "[!#-\\[\\]-~]{1,12}"
}

fn value() -> impl Strategy<Value = String> {
    // Printable text, quotes, backslashes, tabs and non-ASCII; no control characters.
    "[ -~\t\u{e9}\u{4e2d}\u{1f600}]{0,24}"
}

fn tchar_name() -> impl Strategy<Value = String> {
    "[a-z0-9!#$%&'*+.^_`|~-]{1,10}".prop_filter("not a known Bearer parameter", |n| {
        ![
            "realm",
            "resource_metadata",
            "scope",
            "error",
            "error_description",
            "error_uri",
        ]
        .contains(&n.as_str())
    })
}

fn error_code() -> impl Strategy<Value = BearerErrorCode> {
    prop_oneof![
        Just(BearerErrorCode::InvalidRequest),
        Just(BearerErrorCode::InvalidToken),
        Just(BearerErrorCode::InsufficientScope),
        "[a-z_]{1,10}".prop_filter_map("unknown code", |c| match BearerErrorCode::from_wire(&c) {
            BearerErrorCode::Other(o) => Some(BearerErrorCode::Other(o)),
            _ => None,
        }),
    ]
}

fn bearer() -> impl Strategy<Value = BearerChallenge> {
    (
        proptest::option::of(value()),
        proptest::option::of(value()),
        proptest::collection::vec(scope_token(), 0..4),
        proptest::option::of(error_code()),
        proptest::option::of(value()),
        proptest::option::of(value()),
        proptest::collection::btree_map(tchar_name(), value(), 0..3),
    )
        .prop_map(
            |(realm, resource_metadata, scope, error, desc, uri, extra)| BearerChallenge {
                realm,
                resource_metadata,
                scope,
                error,
                error_description: desc,
                error_uri: uri,
                extra: extra.into_iter().collect(),
            },
        )
}

fn generic() -> impl Strategy<Value = Challenge> {
    let scheme = "[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]{0,8}";
    prop_oneof![
        (scheme, "[A-Za-z0-9._~+/-]{1,12}={0,2}").prop_map(|(sc, t)| Challenge {
            scheme: sc,
            token68: Some(t),
            params: vec![]
        }),
        (
            scheme,
            proptest::collection::btree_map("[a-z0-9!#$%&'*+.^_`|~-]{1,8}", value(), 0..4)
        )
            .prop_map(|(sc, p)| Challenge {
                scheme: sc,
                token68: None,
                params: p.into_iter().collect()
            }),
    ]
}

proptest! {
    #[test]
    fn bearer_round_trips(c in bearer()) {
        let header = c.to_string();
        prop_assert_eq!(BearerChallenge::parse(&header).unwrap(), c);
    }

    #[test]
    fn bearer_round_trips_among_other_challenges(c in bearer(), before in generic(), after in generic()) {
        prop_assume!(!before.is_scheme("Bearer") && !after.is_scheme("Bearer"));
        let header = format_www_authenticate(&[before.clone(), c.to_challenge(), after.clone()]);
        let all = parse_www_authenticate(&header).unwrap();
        prop_assert_eq!(all, vec![before, c.to_challenge(), after]);
        prop_assert_eq!(BearerChallenge::parse(&header).unwrap(), c);
    }

    #[test]
    fn generic_lists_round_trip(list in proptest::collection::vec(generic(), 1..5)) {
        let header = format_www_authenticate(&list);
        prop_assert_eq!(parse_www_authenticate(&header).unwrap(), list);
    }

    #[test]
    fn parser_never_panics_and_reports_in_bounds(input in "[ -~\t\r\n\u{e9}]{0,64}") {
        if let Err(e) = parse_www_authenticate(&input) {
            prop_assert!(e.offset <= input.len());
            prop_assert!(!e.to_string().is_empty());
        }
    }
}
