//! Protected resource metadata (RFC 9728), well-known URLs, canonical resource URIs,
//! authorization server metadata (RFC 8414 / OIDC discovery) and the upstream relay helpers.

use mcp_policy::oauth::{
    AuthorizationServerMetadata, MetadataError, ProtectedResourceMetadata, RelayError,
    ResourceMatch, ServerRequirements, UrlError, WellKnownForm, WellKnownRequest,
    authorization_server_metadata_urls, canonical_resource_uri, parse_well_known_request,
    protected_resource_metadata_root_url, protected_resource_metadata_suffix_url,
    protected_resource_metadata_url, protected_resource_metadata_urls, resource_matches,
    rewrite_upstream_challenge, rewrite_upstream_metadata, validate_authorization_server_metadata,
    validate_protected_resource_metadata,
};
use serde_json::{Value, json};

fn s(v: &str) -> String {
    v.to_owned()
}

#[test]
fn canonical_resource_uris() {
    let cases = [
        ("https://gw.example.com/mcp", "https://gw.example.com/mcp"),
        ("HTTPS://GW.Example.COM/MCP", "https://gw.example.com/MCP"),
        (
            "https://gw.example.com:443/mcp",
            "https://gw.example.com/mcp",
        ),
        ("http://gw.example.com:80/", "http://gw.example.com"),
        (
            "http://localhost:3000/mcp#frag",
            "http://localhost:3000/mcp",
        ),
        ("https://gw.example.com/", "https://gw.example.com"),
        ("https://gw.example.com", "https://gw.example.com"),
        ("https://gw.example.com/mcp/", "https://gw.example.com/mcp/"),
        (
            "https://gw.example.com:8443/a?b=c",
            "https://gw.example.com:8443/a?b=c",
        ),
        ("https://[::1]:443/mcp", "https://[::1]/mcp"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
    ];
    for (input, want) in cases {
        assert_eq!(canonical_resource_uri(input).unwrap(), want, "{input}");
    }
    assert_eq!(canonical_resource_uri(""), Err(UrlError::Empty));
    assert_eq!(
        canonical_resource_uri("ftp://x/y"),
        Err(UrlError::UnsupportedScheme { scheme: s("ftp") })
    );
    assert_eq!(
        canonical_resource_uri("gw.example.com/mcp"),
        Err(UrlError::UnsupportedScheme {
            scheme: s("gw.example.com/mcp")
        })
    );
    assert_eq!(
        canonical_resource_uri("https://u:p@h/x"),
        Err(UrlError::UserInfo)
    );
    assert_eq!(
        canonical_resource_uri("https:///x"),
        Err(UrlError::EmptyHost)
    );
    assert_eq!(
        canonical_resource_uri("https://h:99999/"),
        Err(UrlError::InvalidPort { port: s("99999") })
    );
    assert_eq!(
        canonical_resource_uri("https://h/a b"),
        Err(UrlError::InvalidCharacter {
            found: ' ',
            offset: 11
        })
    );
    assert_eq!(
        canonical_resource_uri("http://.well-known/x"),
        Err(UrlError::InvalidHost {
            host: s(".well-known")
        })
    );
    assert_eq!(
        canonical_resource_uri("http://a..b/x"),
        Err(UrlError::InvalidHost { host: s("a..b") })
    );
    assert_eq!(
        canonical_resource_uri("https://h_!x/"),
        Err(UrlError::InvalidHost { host: s("h_!x") })
    );
}

#[test]
fn well_known_urls_in_every_form() {
    assert_eq!(
        protected_resource_metadata_url("https://example.com/public/mcp").unwrap(),
        "https://example.com/.well-known/oauth-protected-resource/public/mcp"
    );
    assert_eq!(
        protected_resource_metadata_url("https://GW.example.com:443/mcp").unwrap(),
        "https://gw.example.com/.well-known/oauth-protected-resource/mcp"
    );
    assert_eq!(
        protected_resource_metadata_url("https://gw.example.com/").unwrap(),
        "https://gw.example.com/.well-known/oauth-protected-resource"
    );
    assert_eq!(
        protected_resource_metadata_url("https://gw.example.com/mcp?tenant=a").unwrap(),
        "https://gw.example.com/.well-known/oauth-protected-resource/mcp?tenant=a"
    );
    assert_eq!(
        protected_resource_metadata_root_url("https://example.com/public/mcp").unwrap(),
        "https://example.com/.well-known/oauth-protected-resource"
    );
    assert_eq!(
        protected_resource_metadata_suffix_url("http://localhost:8082/v4-mcp-proxy-api").unwrap(),
        "http://localhost:8082/v4-mcp-proxy-api/.well-known/oauth-protected-resource"
    );
    assert_eq!(
        protected_resource_metadata_urls("https://gw.example.com/mcp").unwrap(),
        vec![
            s("https://gw.example.com/.well-known/oauth-protected-resource/mcp"),
            s("https://gw.example.com/.well-known/oauth-protected-resource"),
        ]
    );
    assert_eq!(
        protected_resource_metadata_urls("https://gw.example.com").unwrap(),
        vec![s(
            "https://gw.example.com/.well-known/oauth-protected-resource"
        )]
    );
}

#[test]
fn well_known_requests_are_mapped_back_to_resource_paths() {
    let r = |form, resource_path| {
        Some(WellKnownRequest {
            form,
            resource_path,
        })
    };
    assert_eq!(
        parse_well_known_request("/.well-known/oauth-protected-resource"),
        r(WellKnownForm::Root, "")
    );
    assert_eq!(
        parse_well_known_request("/.well-known/oauth-protected-resource/"),
        r(WellKnownForm::Root, "")
    );
    assert_eq!(
        parse_well_known_request("/.well-known/oauth-protected-resource/public/mcp?x=1"),
        r(WellKnownForm::PathInserted, "/public/mcp")
    );
    assert_eq!(
        parse_well_known_request("/v4-mcp-proxy-api/.well-known/oauth-protected-resource"),
        r(WellKnownForm::PathSuffix, "/v4-mcp-proxy-api")
    );
    assert_eq!(
        parse_well_known_request("/a/b/.well-known/oauth-protected-resource/"),
        r(WellKnownForm::PathSuffix, "/a/b")
    );
    assert_eq!(
        parse_well_known_request("/.well-known/oauth-protected-resourcex"),
        None
    );
    assert_eq!(parse_well_known_request("/mcp"), None);
    assert_eq!(
        parse_well_known_request("/.well-known/openid-configuration"),
        None
    );
    // Round trip: the URL built for a resource maps back to that resource's path.
    for resource in [
        "https://gw.example.com/mcp",
        "https://gw.example.com/a/b/mcp",
    ] {
        let url = protected_resource_metadata_url(resource).unwrap();
        let path = url.strip_prefix("https://gw.example.com").unwrap();
        let back = parse_well_known_request(path).unwrap();
        assert_eq!(back.form, WellKnownForm::PathInserted);
        assert_eq!(
            format!("https://gw.example.com{}", back.resource_path),
            resource
        );
        let url = protected_resource_metadata_suffix_url(resource).unwrap();
        let path = url.strip_prefix("https://gw.example.com").unwrap();
        let back = parse_well_known_request(path).unwrap();
        assert_eq!(back.form, WellKnownForm::PathSuffix);
        assert_eq!(
            format!("https://gw.example.com{}", back.resource_path),
            resource
        );
    }
}

#[test]
fn resource_matching_exact_and_prefix() {
    let m = |a, r, mode| resource_matches(a, r, mode).unwrap();
    assert!(m(
        "https://GW.example.com:443/mcp",
        "https://gw.example.com/mcp",
        ResourceMatch::Exact
    ));
    assert!(!m(
        "https://gw.example.com",
        "https://gw.example.com/mcp",
        ResourceMatch::Exact
    ));
    assert!(m(
        "https://gw.example.com",
        "https://gw.example.com/mcp",
        ResourceMatch::PathPrefix
    ));
    assert!(m(
        "https://gw.example.com/",
        "https://gw.example.com/mcp",
        ResourceMatch::PathPrefix
    ));
    assert!(m(
        "https://gw.example.com/mcp",
        "https://gw.example.com/mcp/x",
        ResourceMatch::PathPrefix
    ));
    assert!(m(
        "https://gw.example.com/mcp/",
        "https://gw.example.com/mcp",
        ResourceMatch::PathPrefix
    ));
    assert!(!m(
        "https://gw.example.com/mcp",
        "https://gw.example.com/mcpx",
        ResourceMatch::PathPrefix
    ));
    assert!(!m(
        "https://gw.example.com/mcp",
        "http://gw.example.com/mcp",
        ResourceMatch::PathPrefix
    ));
    assert!(!m(
        "https://gw.example.com:8443/mcp",
        "https://gw.example.com/mcp",
        ResourceMatch::PathPrefix
    ));
    assert!(!m(
        "https://upstream:3001/mcp",
        "https://gw.example.com/mcp",
        ResourceMatch::PathPrefix
    ));
}

#[test]
fn gateway_document_is_built_and_served() {
    let doc = ProtectedResourceMetadata::for_gateway(
        "https://GW.example.com:443/mcp",
        ["https://am.example.com/test/oidc"],
    )
    .unwrap()
    .with_scopes_supported(["mcp:tools", "mcp:resources"])
    .with_resource_name("Weather MCP")
    .with_resource_documentation("https://docs.example.com/weather");
    let json: Value = serde_json::from_str(&doc.to_json()).unwrap();
    assert_eq!(
        json,
        json!({
            "resource": "https://gw.example.com/mcp",
            "authorization_servers": ["https://am.example.com/test/oidc"],
            "scopes_supported": ["mcp:tools", "mcp:resources"],
            "bearer_methods_supported": ["header"],
            "resource_name": "Weather MCP",
            "resource_documentation": "https://docs.example.com/weather"
        })
    );
    // What we serve, a client accepts.
    let back = validate_protected_resource_metadata(
        doc.to_json().as_bytes(),
        "https://gw.example.com/mcp",
        ResourceMatch::Exact,
    )
    .unwrap();
    assert_eq!(back, doc);
    assert_eq!(
        ProtectedResourceMetadata::for_gateway("https://gw.example.com/mcp", Vec::<String>::new()),
        Err(MetadataError::MissingField {
            field: "authorization_servers"
        })
    );
}

#[test]
fn fetched_documents_keep_unknown_members_and_all_rfc_fields() {
    let body = br#"{
        "resource": "https://gw.example.com/mcp",
        "authorization_servers": ["https://as.example.com", "http://localhost:9000/realm"],
        "jwks_uri": "https://gw.example.com/jwks.json",
        "scopes_supported": ["a"],
        "bearer_methods_supported": ["header", "body"],
        "resource_signing_alg_values_supported": ["RS256"],
        "resource_name": "n",
        "resource_documentation": "https://d",
        "resource_policy_uri": "https://p",
        "resource_tos_uri": "https://t",
        "tls_client_certificate_bound_access_tokens": false,
        "authorization_details_types_supported": ["x"],
        "dpop_signing_alg_values_supported": ["ES256"],
        "dpop_bound_access_tokens_required": false,
        "signed_metadata": "e.y.z",
        "x-vendor": {"k": 1}
    }"#;
    let doc = validate_protected_resource_metadata(
        body,
        "https://gw.example.com/mcp",
        ResourceMatch::Exact,
    )
    .unwrap();
    assert_eq!(
        doc.jwks_uri.as_deref(),
        Some("https://gw.example.com/jwks.json")
    );
    assert_eq!(
        doc.resource_signing_alg_values_supported,
        Some(vec![s("RS256")])
    );
    assert_eq!(doc.resource_tos_uri.as_deref(), Some("https://t"));
    assert_eq!(doc.tls_client_certificate_bound_access_tokens, Some(false));
    assert_eq!(
        doc.dpop_signing_alg_values_supported,
        Some(vec![s("ES256")])
    );
    assert_eq!(doc.signed_metadata.as_deref(), Some("e.y.z"));
    assert_eq!(doc.extra.get("x-vendor"), Some(&json!({"k": 1})));
    let reread: Value = serde_json::from_str(&doc.to_json()).unwrap();
    let original: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(reread, original, "re-serialization keeps every member");
    // The conformance mock's minimal document.
    let minimal = br#"{"resource":"http://localhost:3000/mcp","authorization_servers":["http://localhost:3001"]}"#;
    let doc = validate_protected_resource_metadata(
        minimal,
        "http://localhost:3000/mcp",
        ResourceMatch::Exact,
    )
    .unwrap();
    assert_eq!(doc.authorization_servers, vec![s("http://localhost:3001")]);
}

#[test]
fn fetched_documents_are_rejected_with_the_reason() {
    let v = |body: &str, requested: &str, mode| {
        validate_protected_resource_metadata(body.as_bytes(), requested, mode).unwrap_err()
    };
    let gw = "https://gw.example.com/mcp";
    assert_eq!(
        v(
            r#"{"resource":"http://upstream:3001/mcp","authorization_servers":["https://as"]}"#,
            gw,
            ResourceMatch::PathPrefix
        ),
        MetadataError::InsecureUrl {
            field: s("resource"),
            url: s("http://upstream:3001/mcp")
        }
    );
    assert_eq!(
        v(
            r#"{"resource":"https://upstream/mcp","authorization_servers":["https://as"]}"#,
            gw,
            ResourceMatch::PathPrefix
        ),
        MetadataError::ResourceMismatch {
            advertised: s("https://upstream/mcp"),
            requested: s(gw)
        }
    );
    assert_eq!(
        v(
            r#"{"resource":"https://gw.example.com","authorization_servers":["https://as"]}"#,
            gw,
            ResourceMatch::Exact
        ),
        MetadataError::ResourceMismatch {
            advertised: s("https://gw.example.com"),
            requested: s(gw)
        }
    );
    assert!(
        validate_protected_resource_metadata(
            br#"{"resource":"https://gw.example.com","authorization_servers":["https://as"]}"#,
            gw,
            ResourceMatch::PathPrefix
        )
        .is_ok_and(|d| d.resource == "https://gw.example.com")
    );
    assert_eq!(
        v(
            r#"{"resource":"https://gw.example.com/mcp","authorization_servers":[]}"#,
            gw,
            ResourceMatch::Exact
        ),
        MetadataError::MissingField {
            field: "authorization_servers"
        }
    );
    assert_eq!(
        v(
            r#"{"resource":"https://gw.example.com/mcp"}"#,
            gw,
            ResourceMatch::Exact
        ),
        MetadataError::MissingField {
            field: "authorization_servers"
        }
    );
    assert_eq!(
        v(
            r#"{"resource":"https://gw.example.com/mcp","authorization_servers":["https://as","http://as.example.com"]}"#,
            gw,
            ResourceMatch::Exact
        ),
        MetadataError::InsecureUrl {
            field: s("authorization_servers[1]"),
            url: s("http://as.example.com")
        }
    );
    assert_eq!(
        v(
            r#"{"resource":"https://gw.example.com/mcp","authorization_servers":["https://as?x=1"]}"#,
            gw,
            ResourceMatch::Exact
        ),
        MetadataError::UnexpectedUrlPart {
            field: s("authorization_servers[0]"),
            part: "query"
        }
    );
    assert_eq!(
        v(
            r#"{"resource":"https://gw.example.com/mcp#f","authorization_servers":["https://as"]}"#,
            gw,
            ResourceMatch::Exact
        ),
        MetadataError::UnexpectedUrlPart {
            field: s("resource"),
            part: "fragment"
        }
    );
    assert_eq!(
        v(
            r#"{"resource":"https://gw.example.com/mcp","authorization_servers":["https://as"],"bearer_methods_supported":["body"]}"#,
            gw,
            ResourceMatch::Exact
        ),
        MetadataError::HeaderBearerMethodMissing
    );
    assert_eq!(
        v(
            r#"{"resource":"https://gw.example.com/mcp","authorization_servers":["not a url"]}"#,
            gw,
            ResourceMatch::Exact
        ),
        MetadataError::InvalidUrl {
            field: s("authorization_servers[0]"),
            error: UrlError::InvalidCharacter {
                found: ' ',
                offset: 3
            }
        }
    );
    let MetadataError::Json { reason } = v(
        r#"{"resource":"https://gw.example.com/mcp","resource":"https://evil/mcp","authorization_servers":["https://as"]}"#,
        gw,
        ResourceMatch::Exact,
    ) else {
        panic!("duplicate resource must be a JSON error");
    };
    assert!(reason.contains("duplicate field `resource`"), "{reason}");
    let MetadataError::Json { reason } = v(
        r#"{"authorization_servers":["https://as"]}"#,
        gw,
        ResourceMatch::Exact,
    ) else {
        panic!("missing resource must be a JSON error");
    };
    assert!(reason.contains("missing field `resource`"), "{reason}");
    assert!(matches!(
        v("[]", gw, ResourceMatch::Exact),
        MetadataError::Json { .. }
    ));
    assert!(matches!(
        v(
            r#"{"resource":1,"authorization_servers":["https://as"]}"#,
            gw,
            ResourceMatch::Exact
        ),
        MetadataError::Json { .. }
    ));
    let msg = v(
        r#"{"resource":"https://upstream/mcp","authorization_servers":["https://as"]}"#,
        gw,
        ResourceMatch::Exact,
    )
    .to_string();
    assert!(msg.contains("its own public URL"), "{msg}");
}

#[test]
fn authorization_server_discovery_urls() {
    assert_eq!(
        authorization_server_metadata_urls("https://auth.example.com/tenant1").unwrap(),
        vec![
            s("https://auth.example.com/.well-known/oauth-authorization-server/tenant1"),
            s("https://auth.example.com/.well-known/openid-configuration/tenant1"),
            s("https://auth.example.com/tenant1/.well-known/openid-configuration"),
        ]
    );
    assert_eq!(
        authorization_server_metadata_urls("https://auth.example.com").unwrap(),
        vec![
            s("https://auth.example.com/.well-known/oauth-authorization-server"),
            s("https://auth.example.com/.well-known/openid-configuration"),
        ]
    );
    assert_eq!(
        authorization_server_metadata_urls("https://auth.example.com/").unwrap(),
        authorization_server_metadata_urls("https://auth.example.com").unwrap()
    );
    assert_eq!(
        authorization_server_metadata_urls("https://am.gateway.dev/test/oidc/").unwrap()[0],
        "https://am.gateway.dev/.well-known/oauth-authorization-server/test/oidc"
    );
}

fn as_doc() -> Value {
    json!({
        "issuer": "https://auth.example.com/tenant1",
        "authorization_endpoint": "https://auth.example.com/tenant1/authorize",
        "token_endpoint": "https://auth.example.com/tenant1/token",
        "jwks_uri": "https://auth.example.com/tenant1/jwks",
        "registration_endpoint": "https://auth.example.com/tenant1/register",
        "introspection_endpoint": "https://auth.example.com/tenant1/introspect",
        "code_challenge_methods_supported": ["plain", "S256"],
        "response_types_supported": ["code"],
        "client_id_metadata_document_supported": true,
        "subject_types_supported": ["public"]
    })
}

fn check(
    doc: &Value,
    issuer: &str,
    needs: ServerRequirements,
) -> Result<AuthorizationServerMetadata, MetadataError> {
    validate_authorization_server_metadata(doc.to_string().as_bytes(), issuer, needs)
}

#[test]
fn authorization_server_metadata_is_validated() {
    let all = ServerRequirements {
        jwks_uri: true,
        introspection_endpoint: true,
    };
    let doc = check(&as_doc(), "https://auth.example.com/tenant1", all).unwrap();
    assert_eq!(
        doc.token_endpoint.as_deref(),
        Some("https://auth.example.com/tenant1/token")
    );
    assert_eq!(doc.client_id_metadata_document_supported, Some(true));
    assert_eq!(
        doc.extra.get("subject_types_supported"),
        Some(&json!(["public"]))
    );

    // Exact issuer comparison: no trailing-slash or case folding.
    assert_eq!(
        check(&as_doc(), "https://auth.example.com/tenant1/", all).unwrap_err(),
        MetadataError::IssuerMismatch {
            found: s("https://auth.example.com/tenant1"),
            expected: s("https://auth.example.com/tenant1/")
        }
    );
    assert_eq!(
        check(&as_doc(), "https://AUTH.example.com/tenant1", all).unwrap_err(),
        MetadataError::IssuerMismatch {
            found: s("https://auth.example.com/tenant1"),
            expected: s("https://AUTH.example.com/tenant1")
        }
    );
    let mut d = as_doc();
    d["code_challenge_methods_supported"] = json!(["plain"]);
    assert_eq!(
        check(&d, "https://auth.example.com/tenant1", all).unwrap_err(),
        MetadataError::PkceS256Missing {
            advertised: vec![s("plain")]
        }
    );
    d.as_object_mut()
        .unwrap()
        .remove("code_challenge_methods_supported");
    assert_eq!(
        check(&d, "https://auth.example.com/tenant1", all).unwrap_err(),
        MetadataError::PkceS256Missing { advertised: vec![] }
    );
    for field in ["authorization_endpoint", "token_endpoint"] {
        let mut d = as_doc();
        d.as_object_mut().unwrap().remove(field);
        assert_eq!(
            check(
                &d,
                "https://auth.example.com/tenant1",
                ServerRequirements::default()
            )
            .unwrap_err(),
            MetadataError::MissingField {
                field: if field == "token_endpoint" {
                    "token_endpoint"
                } else {
                    "authorization_endpoint"
                }
            }
        );
    }
    let mut d = as_doc();
    d.as_object_mut().unwrap().remove("jwks_uri");
    assert!(
        check(
            &d,
            "https://auth.example.com/tenant1",
            ServerRequirements::default()
        )
        .is_ok_and(|m| m.jwks_uri.is_none())
    );
    assert_eq!(
        check(
            &d,
            "https://auth.example.com/tenant1",
            ServerRequirements {
                jwks_uri: true,
                introspection_endpoint: false
            }
        )
        .unwrap_err(),
        MetadataError::MissingField { field: "jwks_uri" }
    );
    let mut d = as_doc();
    d["token_endpoint"] = json!("http://auth.example.com/token");
    assert_eq!(
        check(&d, "https://auth.example.com/tenant1", all).unwrap_err(),
        MetadataError::InsecureUrl {
            field: s("token_endpoint"),
            url: s("http://auth.example.com/token")
        }
    );
    // Loopback http is fine (conformance mocks, local oidc-provider).
    let local = json!({
        "issuer": "http://localhost:3001",
        "authorization_endpoint": "http://localhost:3001/authorize",
        "token_endpoint": "http://localhost:3001/token",
        "code_challenge_methods_supported": ["S256"]
    });
    assert!(
        check(
            &local,
            "http://localhost:3001",
            ServerRequirements::default()
        )
        .is_ok()
    );
    let dup = br#"{"issuer":"https://a","issuer":"https://b","authorization_endpoint":"https://a/x","token_endpoint":"https://a/t","code_challenge_methods_supported":["S256"]}"#;
    assert!(matches!(
        validate_authorization_server_metadata(dup, "https://b", ServerRequirements::default()),
        Err(MetadataError::Json { reason }) if reason.contains("duplicate field `issuer`")
    ));
    let e = AuthorizationServerMetadata::from_json(b"{}").unwrap_err();
    assert!(e.to_string().contains("missing field `issuer`"), "{e}");
}

#[test]
fn upstream_challenge_is_pointed_at_the_gateway() {
    let gw = "https://gw.example.com/mcp";
    assert_eq!(
        rewrite_upstream_challenge(
            "Bearer realm=\"example\", resource_metadata=\"http://mcpserver.com/.well-known/oauth-protected-resource\"",
            gw
        )
        .unwrap(),
        "Bearer realm=\"example\", resource_metadata=\"https://gw.example.com/.well-known/oauth-protected-resource/mcp\""
    );
    // Other challenges and parameters are kept; a missing resource_metadata is added.
    assert_eq!(
        rewrite_upstream_challenge(
            "Basic realm=\"up\", bearer error=invalid_token, scope=\"a b\"",
            gw
        )
        .unwrap(),
        "Basic realm=\"up\", bearer error=\"invalid_token\", scope=\"a b\", resource_metadata=\"https://gw.example.com/.well-known/oauth-protected-resource/mcp\""
    );
    assert!(matches!(
        rewrite_upstream_challenge("Bearer a=\"x", gw),
        Err(RelayError::Challenge(_))
    ));
    // Many bare Bearer challenges, each given the gateway's URL, would outgrow what a client
    // reads: refused rather than relayed unparseable.
    let many = vec!["Bearer"; 400].join(", ");
    assert!(many.len() < 16 * 1024);
    let err = rewrite_upstream_challenge(&many, gw).unwrap_err();
    assert!(
        matches!(err, RelayError::TooLong { bytes } if bytes > 16 * 1024),
        "{err:?}"
    );
    assert!(err.to_string().contains("fewer challenges"), "{err}");
    assert_eq!(
        rewrite_upstream_challenge("Bearer", "not-a-url"),
        Err(RelayError::GatewayUrl(UrlError::UnsupportedScheme {
            scheme: s("not-a-url")
        }))
    );
}

#[test]
fn upstream_metadata_is_rewritten_to_the_gateway() {
    let upstream = br#"{"resource":"http://10.0.0.5:3001/mcp","authorization_servers":["https://as.example.com"],"scopes_supported":["mcp:basic"],"x-extra":[1,{"a":null}]}"#;
    let out = rewrite_upstream_metadata(upstream, "https://GW.example.com/mcp").unwrap();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        v,
        json!({
            "resource": "https://gw.example.com/mcp",
            "authorization_servers": ["https://as.example.com"],
            "scopes_supported": ["mcp:basic"],
            "x-extra": [1, {"a": null}]
        })
    );
    // The rewritten document passes a strict client's check against the gateway URL.
    assert!(
        validate_protected_resource_metadata(
            &out,
            "https://gw.example.com/mcp",
            ResourceMatch::Exact
        )
        .is_ok()
    );
    let out = rewrite_upstream_metadata(
        br#"{"authorization_servers":["https://as"]}"#,
        "https://gw.example.com/mcp",
    )
    .unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&out).unwrap(),
        json!({"resource": "https://gw.example.com/mcp", "authorization_servers": ["https://as"]})
    );
    assert!(matches!(
        rewrite_upstream_metadata(br#"{"resource":"a","resource":"b"}"#, "https://gw.example.com/mcp"),
        Err(RelayError::Metadata(MetadataError::Json { reason })) if reason.contains("duplicate field `resource`")
    ));
    assert!(matches!(
        rewrite_upstream_metadata(b"[1]", "https://gw.example.com/mcp"),
        Err(RelayError::Metadata(MetadataError::Json { .. }))
    ));
}
