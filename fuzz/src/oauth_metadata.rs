//! Metadata validators, URL helpers, the metadata relay and introspection responses. Input: a
//! first line used as a URL (resource, issuer or request path), the rest as a fetched JSON
//! document.

use mcp_policy::oauth::{
    AuthorizationServerMetadata, IntrospectionValidator, ResourceMatch, ServerRequirements,
    authorization_server_metadata_urls, canonical_resource_uri, parse_well_known_request,
    protected_resource_metadata_url, resource_matches, rewrite_upstream_metadata,
    validate_authorization_server_metadata, validate_protected_resource_metadata,
};

const GATEWAY: &str = "https://gw.example.com/mcp";

/// One input: panics if a property above does not hold.
pub fn fuzz_one(data: &[u8]) {
    let split = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let (line, doc) = data.split_at(split);
    let doc = doc.get(1..).unwrap_or_default();
    let url = std::str::from_utf8(line).unwrap_or_default();

    if let Ok(canonical) = canonical_resource_uri(url) {
        // Canonicalization is idempotent, and a resource always matches itself.
        assert_eq!(
            canonical_resource_uri(&canonical).as_deref(),
            Ok(canonical.as_str())
        );
        assert_eq!(
            resource_matches(url, &canonical, ResourceMatch::Exact),
            Ok(true)
        );
        assert_eq!(
            resource_matches(&canonical, url, ResourceMatch::PathPrefix),
            Ok(true)
        );
        // The well-known URL built for it maps back to its path (when it has no query).
        let wk = protected_resource_metadata_url(url).expect("canonical URL has a well-known URL");
        if !canonical.contains('?') {
            let authority = wk.find("://").expect("absolute URL") + 3;
            let path_start = authority + wk[authority..].find('/').expect("a path");
            let req = parse_well_known_request(wk.get(path_start..).unwrap_or_default())
                .expect("maps back");
            assert!(
                canonical.ends_with(req.resource_path),
                "{canonical} vs {}",
                req.resource_path
            );
        }
        let _ = authorization_server_metadata_urls(url);
    }
    let _ = parse_well_known_request(url);

    for mode in [ResourceMatch::Exact, ResourceMatch::PathPrefix] {
        if let Ok(prm) = validate_protected_resource_metadata(doc, GATEWAY, mode) {
            assert!(!prm.authorization_servers.is_empty());
            assert_eq!(resource_matches(&prm.resource, GATEWAY, mode), Ok(true));
            // What validated once validates again after re-serialization.
            let again = prm.to_json();
            assert!(validate_protected_resource_metadata(again.as_bytes(), GATEWAY, mode).is_ok());
        }
    }
    let needs = ServerRequirements {
        jwks_uri: true,
        introspection_endpoint: false,
    };
    if let Ok(asm) = AuthorizationServerMetadata::from_json(doc) {
        let issuer = asm.issuer.clone();
        if asm.validate(&issuer, needs).is_ok() {
            assert!(asm.jwks_uri.is_some());
            assert!(
                asm.code_challenge_methods_supported
                    .as_ref()
                    .is_some_and(|m| m.iter().any(|x| x == "S256"))
            );
        }
    }
    let _ = validate_authorization_server_metadata(doc, url, needs);
    if let Ok(out) = rewrite_upstream_metadata(doc, GATEWAY) {
        let v: serde_json::Value =
            serde_json::from_slice(&out).expect("rewritten document is JSON");
        assert_eq!(v.get("resource").and_then(|r| r.as_str()), Some(GATEWAY));
    }
    if let Ok(text) = std::str::from_utf8(doc) {
        let v = IntrospectionValidator::new(GATEWAY).expect("valid resource URL");
        if let Ok(p) = v.validate(text, 1_700_000_000) {
            assert_eq!(p.payload, text);
        }
    }
}
