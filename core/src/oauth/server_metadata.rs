//! Authorization server metadata (RFC 8414, OpenID Connect Discovery 1.0): where to fetch it
//! for an issuer, and the checks an MCP client or resource server applies to it.

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::metadata::{MetadataError, check_url, json_error};
use super::url::{HttpUrl, UrlError};

/// RFC 8414 well-known segment.
pub const OAUTH_AUTHORIZATION_SERVER_WELL_KNOWN: &str = "/.well-known/oauth-authorization-server";
/// OpenID Connect Discovery well-known segment.
pub const OPENID_CONFIGURATION_WELL_KNOWN: &str = "/.well-known/openid-configuration";

/// The metadata URLs to try for an issuer, in the order MCP clients use:
/// for `https://auth.example.com/tenant1`,
/// `https://auth.example.com/.well-known/oauth-authorization-server/tenant1`,
/// `https://auth.example.com/.well-known/openid-configuration/tenant1`,
/// `https://auth.example.com/tenant1/.well-known/openid-configuration`;
/// for a path-less issuer, the RFC 8414 URL then the OpenID one.
pub fn authorization_server_metadata_urls(issuer: &str) -> Result<Vec<String>, UrlError> {
    let u = HttpUrl::parse(issuer)?;
    let origin = u.origin();
    let path = u.trimmed_path().trim_end_matches('/');
    let join = |a: &str, b: &str| {
        let mut s = origin.clone();
        s.push_str(a);
        s.push_str(b);
        s
    };
    Ok(if path.is_empty() {
        alloc::vec![
            join(OAUTH_AUTHORIZATION_SERVER_WELL_KNOWN, ""),
            join(OPENID_CONFIGURATION_WELL_KNOWN, ""),
        ]
    } else {
        alloc::vec![
            join(OAUTH_AUTHORIZATION_SERVER_WELL_KNOWN, path),
            join(OPENID_CONFIGURATION_WELL_KNOWN, path),
            join(path, OPENID_CONFIGURATION_WELL_KNOWN),
        ]
    })
}

/// What a consumer needs from an authorization server beyond the MCP baseline.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ServerRequirements {
    /// `jwks_uri` must be present (the resource server validates JWTs locally).
    pub jwks_uri: bool,
    /// `introspection_endpoint` must be present (the resource server introspects).
    pub introspection_endpoint: bool,
}

/// An RFC 8414 / OpenID Connect discovery document. The members MCP uses are typed; all
/// others are kept in `extra`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuthorizationServerMetadata {
    /// The issuer identifier; must equal the issuer the document was fetched for.
    pub issuer: String,
    /// Authorization endpoint URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    /// Token endpoint URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    /// URL of the issuer's signing keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// Dynamic client registration endpoint (RFC 7591).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_endpoint: Option<String>,
    /// Token introspection endpoint (RFC 7662).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introspection_endpoint: Option<String>,
    /// Token revocation endpoint (RFC 7009).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    /// Scopes the server knows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes_supported: Option<Vec<String>>,
    /// `response_type` values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_types_supported: Option<Vec<String>>,
    /// Grant types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_types_supported: Option<Vec<String>>,
    /// Client authentication methods at the token endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// PKCE methods; MCP requires `S256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_challenge_methods_supported: Option<Vec<String>>,
    /// Client ID metadata documents (CIMD) are supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id_metadata_document_supported: Option<bool>,
    /// RFC 9207 `iss` in authorization responses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_response_iss_parameter_supported: Option<bool>,
    /// Members this type does not name, kept as received.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl AuthorizationServerMetadata {
    /// Reads a document. A member given twice, or of the wrong type, is an error.
    pub fn from_json(bytes: &[u8]) -> Result<Self, MetadataError> {
        serde_json::from_slice(bytes).map_err(|e| json_error(&e))
    }

    /// Validates the document for use with MCP: `issuer` equals `expected_issuer` exactly
    /// (RFC 8414 §3.3, no normalization: the comparison is what defeats mix-up attacks), it
    /// is an https (or loopback) URL without query or fragment, `authorization_endpoint` and
    /// `token_endpoint` are present and https, `code_challenge_methods_supported` contains
    /// `S256`, plus what `needs` asks for.
    pub fn validate(
        &self,
        expected_issuer: &str,
        needs: ServerRequirements,
    ) -> Result<(), MetadataError> {
        if self.issuer != expected_issuer {
            return Err(MetadataError::IssuerMismatch {
                found: self.issuer.clone(),
                expected: expected_issuer.to_owned(),
            });
        }
        check_url("issuer", &self.issuer, true)?;
        let endpoints = [
            ("authorization_endpoint", &self.authorization_endpoint, true),
            ("token_endpoint", &self.token_endpoint, true),
            ("jwks_uri", &self.jwks_uri, needs.jwks_uri),
            (
                "introspection_endpoint",
                &self.introspection_endpoint,
                needs.introspection_endpoint,
            ),
            ("registration_endpoint", &self.registration_endpoint, false),
            ("revocation_endpoint", &self.revocation_endpoint, false),
        ];
        for (field, value, required) in endpoints {
            match value {
                Some(url) if !url.is_empty() => check_url(field, url, false)?,
                _ if required => return Err(MetadataError::MissingField { field }),
                _ => {}
            }
        }
        let methods = self
            .code_challenge_methods_supported
            .as_deref()
            .unwrap_or_default();
        if !methods.iter().any(|m| m == "S256") {
            return Err(MetadataError::PkceS256Missing {
                advertised: methods.to_vec(),
            });
        }
        Ok(())
    }
}

/// Reads and validates a fetched authorization server metadata document in one step.
pub fn validate_authorization_server_metadata(
    bytes: &[u8],
    expected_issuer: &str,
    needs: ServerRequirements,
) -> Result<AuthorizationServerMetadata, MetadataError> {
    let doc = AuthorizationServerMetadata::from_json(bytes)?;
    doc.validate(expected_issuer, needs)?;
    Ok(doc)
}
