//! The OAuth 2 protected-resource helpers (`mcp_policy::oauth`): challenges, metadata
//! documents and their well-known URLs, access token validation. The host does the I/O
//! (fetching documents, reading the clock); these decide.

use std::str::FromStr;

use mcp_policy::ErrorCode;
use mcp_policy::answer;
use mcp_policy::oauth::{
    self, Algorithm, BearerChallenge, IntrospectionValidator as CoreIntrospection, Jwks,
    JwtValidator as CoreJwt, Principal, ProtectedResourceMetadata, ResourceMatch, ScopeMode,
    ServerRequirements, TokenError,
};
use napi::Env;
use napi::bindgen_prelude::Buffer;
use napi_derive::napi;
use serde_json::{Map, Value, json};

use crate::convert::{self, Input};
use crate::error::{self, Result};

/// The well-known URL of the protected resource metadata of `resource` (RFC 9728, path
/// inserted: `https://gw/mcp` → `https://gw/.well-known/oauth-protected-resource/mcp`).
/// Throws `INVALID_URL`.
#[napi(catch_unwind)]
pub fn protected_resource_metadata_url(resource: String) -> Result<String> {
    oauth::protected_resource_metadata_url(&resource).map_err(|e| error::other(e.code(), &e))
}

/// Every URL a client may try for the metadata of `resource`, in the order MCP clients try
/// them. Throws `INVALID_URL`.
#[napi(catch_unwind)]
pub fn protected_resource_metadata_urls(resource: String) -> Result<Vec<String>> {
    oauth::protected_resource_metadata_urls(&resource).map_err(|e| error::other(e.code(), &e))
}

/// The canonical form of a resource URI (RFC 8707 / RFC 9728 §3.3: lowercase scheme and
/// host, no default port, no fragment). Throws `INVALID_URL`.
#[napi(catch_unwind)]
pub fn canonical_resource_uri(url: String) -> Result<String> {
    oauth::canonical_resource_uri(&url).map_err(|e| error::other(e.code(), &e))
}

/// The URLs of an authorization server's metadata (RFC 8414, then OpenID discovery).
/// Throws `INVALID_URL`.
#[napi(catch_unwind)]
pub fn authorization_server_metadata_urls(issuer: String) -> Result<Vec<String>> {
    oauth::authorization_server_metadata_urls(&issuer).map_err(|e| error::other(e.code(), &e))
}

/// A `WWW-Authenticate: Bearer` challenge to send.
#[napi(object)]
#[derive(Debug, Default)]
pub struct ChallengeOptions {
    /// `resource_metadata`: the protected resource metadata URL.
    pub resource_metadata: Option<String>,
    /// `scope`: every scope the operation needs.
    pub scope: Option<Vec<String>>,
    /// `error`: `invalid_request`, `invalid_token` or `insufficient_scope`.
    pub error: Option<String>,
    /// `error_description`.
    pub error_description: Option<String>,
    /// `realm`.
    pub realm: Option<String>,
}

/// A challenge with the HTTP status to send it with.
#[napi(object)]
#[derive(Debug)]
pub struct ChallengeHeader {
    /// The `WWW-Authenticate` value.
    pub header: String,
    /// 401, or 403 for `insufficient_scope`, 400 for `invalid_request`.
    pub status: u16,
}

/// Builds a `WWW-Authenticate: Bearer` challenge (401 with `resource_metadata`, or the 403
/// `insufficient_scope` step-up with every scope needed).
#[napi(catch_unwind)]
pub fn bearer_challenge(options: ChallengeOptions) -> ChallengeHeader {
    let mut c = BearerChallenge {
        resource_metadata: options.resource_metadata,
        realm: options.realm,
        scope: options.scope.unwrap_or_default(),
        ..BearerChallenge::default()
    };
    if let Some(e) = options.error {
        c = c.with_error(
            oauth::BearerErrorCode::from_wire(&e),
            options.error_description,
        );
    }
    ChallengeHeader {
        header: c.header_value(),
        status: c.http_status(),
    }
}

/// Reads the `Bearer` challenge of a `WWW-Authenticate` value (which may hold several
/// challenges): `{realm, resourceMetadata, scope, error, errorDescription, errorUri,
/// status}`. Throws `INVALID_CHALLENGE`.
#[napi(catch_unwind, ts_return_type = "Record<string, any>")]
pub fn parse_bearer_challenge(header_value: String) -> Result<Value> {
    let c = BearerChallenge::parse(&header_value).map_err(|e| error::other(e.code(), &e))?;
    Ok(json!({
        "realm": c.realm,
        "resourceMetadata": c.resource_metadata,
        "scope": c.scope,
        "error": c.error.as_ref().map(|e| e.as_str()),
        "errorDescription": c.error_description,
        "errorUri": c.error_uri,
        "status": c.http_status(),
    }))
}

/// What the protected resource metadata document holds beyond `resource` and the
/// authorization servers.
#[napi(object)]
#[derive(Debug, Default)]
pub struct MetadataOptions {
    /// `scopes_supported`.
    pub scopes_supported: Option<Vec<String>>,
    /// `resource_name`.
    pub resource_name: Option<String>,
    /// `resource_documentation`.
    pub resource_documentation: Option<String>,
    /// `jwks_uri`.
    pub jwks_uri: Option<String>,
}

/// The protected resource metadata document (RFC 9728) a proxy serves for its public MCP URL:
/// `resource` = its canonical form, `bearer_methods_supported: ["header"]`. Throws
/// `INVALID_METADATA`.
#[napi(catch_unwind, ts_return_type = "Record<string, any>")]
pub fn protected_resource_metadata(
    public_url: String,
    authorization_servers: Vec<String>,
    options: Option<MetadataOptions>,
) -> Result<Value> {
    let o = options.unwrap_or_default();
    let mut doc = ProtectedResourceMetadata::for_gateway(&public_url, authorization_servers)
        .map_err(|e| error::other(e.code(), &e))?;
    if let Some(s) = o.scopes_supported {
        doc = doc.with_scopes_supported(s);
    }
    if let Some(n) = o.resource_name {
        doc = doc.with_resource_name(n);
    }
    if let Some(d) = o.resource_documentation {
        doc = doc.with_resource_documentation(d);
    }
    if let Some(j) = o.jwks_uri {
        doc = doc.with_jwks_uri(j);
    }
    Ok(answer::of(&doc))
}

/// Validates a protected resource metadata document fetched for `requested` (`mode`:
/// `exact`, default, or `pathPrefix` as the MCP SDKs accept). Returns the document; throws
/// `INVALID_METADATA`.
#[napi(catch_unwind, ts_return_type = "Record<string, any>")]
pub fn validate_protected_resource_metadata(
    env: Env,
    #[napi(ts_arg_type = "Uint8Array | string | object")] document: Input<'_>,
    requested: String,
    #[napi(ts_arg_type = "'exact' | 'pathPrefix'")] mode: Option<String>,
) -> Result<Value> {
    let bytes = convert::bytes(&env, &document, "document")?;
    let mode = match mode.as_deref() {
        None | Some("exact") => ResourceMatch::Exact,
        Some("pathPrefix") => ResourceMatch::PathPrefix,
        Some(m) => {
            return Err(error::bad_arg(format!(
                "mode: `{m}` is not one of exact, pathPrefix"
            )));
        }
    };
    oauth::validate_protected_resource_metadata(&bytes, &requested, mode)
        .map(|d| answer::of(&d))
        .map_err(|e| error::other(e.code(), &e))
}

/// What a resource server needs from an authorization server beyond the MCP baseline.
#[napi(object)]
#[derive(Debug, Default)]
pub struct ServerNeeds {
    /// `jwks_uri` must be present (tokens are validated locally).
    pub jwks_uri: Option<bool>,
    /// `introspection_endpoint` must be present.
    pub introspection_endpoint: Option<bool>,
}

/// Validates an authorization server metadata document (RFC 8414 / OpenID discovery) fetched
/// for `issuer`: issuer equality, PKCE `S256`. Returns the document; throws
/// `INVALID_METADATA`.
#[napi(catch_unwind, ts_return_type = "Record<string, any>")]
pub fn validate_authorization_server_metadata(
    env: Env,
    #[napi(ts_arg_type = "Uint8Array | string | object")] document: Input<'_>,
    issuer: String,
    needs: Option<ServerNeeds>,
) -> Result<Value> {
    let bytes = convert::bytes(&env, &document, "document")?;
    let n = needs.unwrap_or_default();
    let needs = ServerRequirements {
        jwks_uri: n.jwks_uri.unwrap_or(false),
        introspection_endpoint: n.introspection_endpoint.unwrap_or(false),
    };
    oauth::validate_authorization_server_metadata(&bytes, &issuer, needs)
        .map(|d| answer::of(&d))
        .map_err(|e| error::other(e.code(), &e))
}

/// Rewrites a secured upstream's `WWW-Authenticate` so that `resource_metadata` points at the
/// proxy's own metadata URL. Throws `RELAY_FAILED`.
#[napi(catch_unwind)]
pub fn rewrite_upstream_challenge(header_value: String, public_url: String) -> Result<String> {
    oauth::rewrite_upstream_challenge(&header_value, &public_url)
        .map_err(|e| error::other(e.code(), &e))
}

/// Rewrites a secured upstream's protected resource metadata document so that `resource` is
/// the proxy's public URL. Throws `RELAY_FAILED`.
#[napi(catch_unwind)]
pub fn rewrite_upstream_metadata(
    env: Env,
    #[napi(ts_arg_type = "Uint8Array | string | object")] document: Input<'_>,
    public_url: String,
) -> Result<Buffer> {
    let bytes = convert::bytes(&env, &document, "document")?;
    oauth::rewrite_upstream_metadata(&bytes, &public_url)
        .map(Buffer::from)
        .map_err(|e| error::other(e.code(), &e))
}

/// Options shared by the token validators.
#[napi(object)]
#[derive(Debug, Default)]
pub struct TokenOptions {
    /// Clock skew tolerated on `exp`, `nbf`, `iat`, in seconds (default 60).
    pub leeway: Option<u32>,
    /// Scopes every token must hold.
    pub required_scopes: Option<Vec<String>>,
    /// `true`: one of `requiredScopes` is enough (default: all of them).
    pub any_scope: Option<bool>,
    /// JWT only: the algorithms accepted (default RS256, PS256, ES256, ES384, EdDSA).
    pub algorithms: Option<Vec<String>>,
    /// Introspection only: the issuers accepted (default: any).
    pub issuers: Option<Vec<String>>,
    /// The protected resource metadata URL to name in the challenge of a refused token
    /// (`error.wwwAuthenticate`).
    pub resource_metadata_url: Option<String>,
}

fn scope_mode(o: &TokenOptions) -> ScopeMode {
    if o.any_scope == Some(true) {
        ScopeMode::Any
    } else {
        ScopeMode::All
    }
}

/// A refused token: `INVALID_TOKEN` (401) or `INSUFFICIENT_SCOPE` (403), with the status and
/// the challenge to send.
fn token_error(e: &TokenError, resource_metadata: &Option<String>) -> error::JsErr {
    let mut extra = Map::new();
    extra.insert("status".into(), e.http_status().into());
    if let Some(url) = resource_metadata {
        extra.insert(
            "wwwAuthenticate".into(),
            e.challenge(url).header_value().into(),
        );
    }
    error::throw(answer::error(e.code(), &e.to_string(), extra))
}

/// What a valid token says: `{user, scopes, clientId, issuer, audience, expiresAt, claims,
/// attributes}`; `attributes` are the context attributes it fills (`user`, `user.roles`,
/// `jwt.claims`, `oauth.payload`, `client_id`), ready for `new Context({attributes})`.
fn principal(p: &Principal) -> Value {
    let attributes: Map<String, Value> = p.attributes().into_iter().collect();
    json!({
        "user": p.user,
        "scopes": p.scopes,
        "clientId": p.client_id,
        "issuer": p.issuer,
        "audience": p.audience,
        "expiresAt": p.expires_at,
        "claims": p.claims,
        "attributes": attributes,
    })
}

fn now(now: Option<f64>) -> u64 {
    now.map_or_else(
        || {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        },
        |n| n.max(0.0) as u64,
    )
}

/// Validates JWT access tokens against a JWKS: signature (never `none`, no HMAC with public
/// keys), `iss`, `aud` = the canonical public URL, `exp`/`nbf` with leeway, scopes.
#[napi]
#[derive(Debug)]
pub struct JwtValidator {
    inner: CoreJwt,
    resource_metadata: Option<String>,
}

#[napi]
impl JwtValidator {
    /// A validator trusting `issuers` and expecting `aud` to name `resourceUrl` (the proxy's
    /// public MCP URL), with the keys of `jwks` (the JWKS document). Throws `INVALID_JWKS` or
    /// `INVALID_VALIDATOR_CONFIG`.
    #[napi(constructor, catch_unwind)]
    pub fn new(
        env: Env,
        #[napi(ts_arg_type = "Uint8Array | string | object")] jwks: Input<'_>,
        issuers: Vec<String>,
        resource_url: String,
        options: Option<TokenOptions>,
    ) -> Result<Self> {
        let o = options.unwrap_or_default();
        let bytes = convert::bytes(&env, &jwks, "jwks")?;
        let jwks = Jwks::from_json(&bytes).map_err(|e| error::other(e.code(), &e))?;
        let mut v =
            CoreJwt::new(jwks, issuers, &resource_url).map_err(|e| error::other(e.code(), &e))?;
        if let Some(algs) = &o.algorithms {
            let algs = algs
                .iter()
                .map(|a| {
                    Algorithm::from_str(a).map_err(|_| {
                        error::coded(
                            ErrorCode::InvalidValidatorConfig,
                            format!("algorithms: `{a}` is not a JWS algorithm name (RS256, ES256, EdDSA...)"),
                        )
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            v = v.with_algorithms(&algs);
        }
        if let Some(l) = o.leeway {
            v = v.with_leeway(u64::from(l));
        }
        if let Some(s) = &o.required_scopes {
            v = v.with_required_scopes(s.clone(), scope_mode(&o));
        }
        Ok(Self {
            inner: v,
            resource_metadata: o.resource_metadata_url,
        })
    }

    /// Validates a token (without `Bearer `) at `now` (seconds since the epoch; default the
    /// clock). Returns the principal; throws `INVALID_TOKEN` or `INSUFFICIENT_SCOPE` with
    /// `error.status` and, when configured, `error.wwwAuthenticate`.
    #[napi(catch_unwind, ts_return_type = "Principal")]
    pub fn validate(&self, token: String, now: Option<f64>) -> Result<Value> {
        self.inner
            .validate(&token, self::now(now))
            .map(|p| principal(&p))
            .map_err(|e| token_error(&e, &self.resource_metadata))
    }
}

/// Validates RFC 7662 token introspection responses (the proxy calls the endpoint itself).
#[napi]
#[derive(Debug)]
pub struct IntrospectionValidator {
    inner: CoreIntrospection,
    resource_metadata: Option<String>,
}

#[napi]
impl IntrospectionValidator {
    /// A validator for tokens of the resource `resourceUrl` (the proxy's public MCP URL).
    /// Throws `INVALID_URL`.
    #[napi(constructor, catch_unwind)]
    pub fn new(resource_url: String, options: Option<TokenOptions>) -> Result<Self> {
        let o = options.unwrap_or_default();
        let mut v =
            CoreIntrospection::new(&resource_url).map_err(|e| error::other(e.code(), &e))?;
        if let Some(i) = &o.issuers {
            v = v.with_issuers(i.clone());
        }
        if let Some(l) = o.leeway {
            v = v.with_leeway(u64::from(l));
        }
        if let Some(s) = &o.required_scopes {
            v = v.with_required_scopes(s.clone(), scope_mode(&o));
        }
        Ok(Self {
            inner: v,
            resource_metadata: o.resource_metadata_url,
        })
    }

    /// Judges an introspection response body at `now` (default the clock): `active`, `aud`,
    /// times, scopes. Returns the principal; throws like `JwtValidator.validate`.
    #[napi(catch_unwind, ts_return_type = "Principal")]
    pub fn validate(&self, response: String, now: Option<f64>) -> Result<Value> {
        self.inner
            .validate(&response, self::now(now))
            .map(|p| principal(&p))
            .map_err(|e| token_error(&e, &self.resource_metadata))
    }
}
