//! RFC 7662 token introspection responses: the host POSTs the token to the authorization
//! server and hands the response body here, with the current time.

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;

use serde_json::Value;

use super::token::{
    ClaimMapping, Principal, RegisteredClaims, ScopeMode, TimeCheck, TokenError, TokenPart,
    TokenSource,
};
use super::url::{UrlError, canonical_resource_uri};

/// Checks introspection responses for one protected resource.
///
/// ```
/// use mcp_policy::oauth::{IntrospectionValidator, TokenError};
/// let v = IntrospectionValidator::new("https://gw.example.com/mcp").unwrap();
/// let body = r#"{"active":true,"sub":"alice","scope":"mcp:tools","client_id":"vscode",
///                "aud":"https://gw.example.com/mcp","exp":2000}"#;
/// let p = v.validate(body, 1000).unwrap();
/// assert_eq!(p.user.as_deref(), Some("alice"));
/// assert_eq!(v.validate(r#"{"active":false}"#, 1000), Err(TokenError::Inactive));
/// ```
#[derive(Debug, Clone)]
pub struct IntrospectionValidator {
    audiences: Vec<String>,
    audience_required: bool,
    issuers: Vec<String>,
    leeway: u64,
    required_scopes: Vec<String>,
    scope_mode: ScopeMode,
    mapping: ClaimMapping,
}

impl IntrospectionValidator {
    /// A validator for the resource at `resource_url` (the gateway's public MCP URL; its
    /// canonical form is the audience tokens must carry). Defaults: `aud` required, any
    /// issuer, leeway 60 s, no required scopes, user claim `sub`.
    pub fn new(resource_url: &str) -> Result<Self, UrlError> {
        Ok(Self {
            audiences: alloc::vec![canonical_resource_uri(resource_url)?],
            audience_required: true,
            issuers: Vec::new(),
            leeway: 60,
            required_scopes: Vec::new(),
            scope_mode: ScopeMode::All,
            mapping: ClaimMapping::default(),
        })
    }

    /// Also accept tokens whose `aud` holds `audience` (for example an authorization server
    /// that puts the resource server's client id there).
    pub fn with_additional_audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Accept responses without `aud`. RFC 7662 makes `aud` optional and Gravitee does not
    /// check it, but the MCP spec requires the resource server to check the audience, so only
    /// do this when the authorization server scopes tokens to this resource some other way.
    pub fn allow_missing_audience(mut self) -> Self {
        self.audience_required = false;
        self
    }

    /// Require `iss` to be one of `issuers` (by default `iss` is not checked, because the
    /// response comes straight from the server the host chose to ask).
    pub fn with_issuers<S: Into<String>>(mut self, issuers: impl IntoIterator<Item = S>) -> Self {
        self.issuers = issuers.into_iter().map(Into::into).collect();
        self
    }

    /// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
    pub fn with_leeway(mut self, seconds: u64) -> Self {
        self.leeway = seconds;
        self
    }

    /// Scopes every token must hold (all or any of them).
    pub fn with_required_scopes<S: Into<String>>(
        mut self,
        scopes: impl IntoIterator<Item = S>,
        mode: ScopeMode,
    ) -> Self {
        self.required_scopes = scopes.into_iter().map(Into::into).collect();
        self.scope_mode = mode;
        self
    }

    /// Which claims name the user and hold the scopes.
    pub fn with_claim_mapping(mut self, mapping: ClaimMapping) -> Self {
        self.mapping = mapping;
        self
    }

    /// Judges an introspection response body at time `now` (seconds since the epoch):
    /// `active` must be `true`; `aud` must name this resource; `exp`, `nbf`, `iat` are checked
    /// when present; then the required scopes. On success the principal's `payload` is the
    /// body as received (Gravitee's `oauth.payload`).
    pub fn validate(&self, response: &str, now: u64) -> Result<Principal, TokenError> {
        let (registered, claims) = RegisteredClaims::parse(response)?;
        match &registered.active {
            Some(Value::Bool(true)) => {}
            Some(Value::Bool(false)) => return Err(TokenError::Inactive),
            None | Some(Value::Null) => {
                return Err(TokenError::Malformed {
                    part: TokenPart::Payload,
                    reason: "introspection response has no `active` member".to_owned(),
                });
            }
            Some(_) => {
                return Err(TokenError::InvalidClaim {
                    claim: "active".to_owned(),
                    reason: "must be true or false".to_owned(),
                });
            }
        }
        registered.check_time(TimeCheck {
            now,
            leeway: self.leeway,
            require_exp: false,
        })?;
        if !self.issuers.is_empty() {
            registered.check_issuer(&self.issuers)?;
        }
        registered.check_audience(&self.audiences, self.audience_required)?;
        let principal = Principal::build(
            &registered,
            claims,
            response.to_owned(),
            TokenSource::Introspection,
            &self.mapping,
        )?;
        let required: Vec<&str> = self.required_scopes.iter().map(String::as_str).collect();
        principal.require_scopes(&required, self.scope_mode)?;
        Ok(principal)
    }
}
