//! What a validated access token says about the caller ([`Principal`]), the context
//! attributes it fills (as Gravitee's OAuth2 and JWT plans do), scope checks, and the errors
//! of token validation with the challenge each one maps to.

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::challenge::{BearerChallenge, BearerErrorCode};

/// Attribute key of the authenticated user (Gravitee `user`).
pub const ATTR_USER: &str = "user";
/// Attribute key of the token's scopes, a list of strings (Gravitee `user.roles`).
pub const ATTR_USER_ROLES: &str = "user.roles";
/// Attribute key of all claims as a map (Gravitee JWT plan `jwt.claims`).
pub const ATTR_JWT_CLAIMS: &str = "jwt.claims";
/// Attribute key of the raw JSON text of the introspection response or JWT payload
/// (Gravitee OAuth2 plan `oauth.payload`).
pub const ATTR_OAUTH_PAYLOAD: &str = "oauth.payload";
/// Attribute key of the OAuth client id (Gravitee JWT plan `client_id`).
pub const ATTR_CLIENT_ID: &str = "client_id";
/// Attribute key of the OAuth client id (Gravitee OAuth2 plan `oauth.client_id`).
pub const ATTR_OAUTH_CLIENT_ID: &str = "oauth.client_id";

/// How a list of required scopes is judged (Gravitee's `modeStrict`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum ScopeMode {
    /// The token must hold every required scope (`modeStrict: true`, Gravitee's default).
    #[default]
    All,
    /// One of the required scopes is enough (`modeStrict: false`).
    Any,
}

/// Where a [`Principal`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenSource {
    /// A JWT whose signature was checked locally against a JWKS.
    Jwt,
    /// An RFC 7662 introspection response from the authorization server.
    Introspection,
}

/// Which claims name the user and hold the scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimMapping {
    /// Claim that names the user (Gravitee's `userClaim`, default `sub`).
    pub user_claim: String,
    /// Separator of the `scope` / `scp` string (Gravitee's scope separator, default space).
    pub scope_separator: char,
}

impl Default for ClaimMapping {
    fn default() -> Self {
        Self {
            user_claim: "sub".to_owned(),
            scope_separator: ' ',
        }
    }
}

/// The caller, as established from a valid access token.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    /// The user: the configured user claim (default `sub`; `username` when an introspection
    /// response has no `sub`).
    pub user: Option<String>,
    /// Scopes granted to the token, from `scope` (space-separated) or else `scp` (string or
    /// array), in token order, without duplicates.
    pub scopes: Vec<String>,
    /// The client: `client_id`, else `azp`, else the first `aud`.
    pub client_id: Option<String>,
    /// `iss`.
    pub issuer: Option<String>,
    /// `aud`, always as a list.
    pub audience: Vec<String>,
    /// `exp` in seconds since the epoch.
    pub expires_at: Option<u64>,
    /// Every claim (or introspection member), as received.
    pub claims: Map<String, Value>,
    /// The raw JSON text the claims were read from: the JWT payload or the introspection
    /// response body.
    pub payload: String,
    /// JWT or introspection.
    pub source: TokenSource,
}

/// The registered members read by both validators. Deserializing into a struct (rather than
/// only into a map, where the last duplicate silently wins) turns a repeated `iss`, `aud`,
/// `exp`... into an error, so two readers of the same token cannot see different values.
#[derive(Deserialize)]
pub(crate) struct RegisteredClaims {
    pub(crate) iss: Option<Value>,
    pub(crate) sub: Option<Value>,
    pub(crate) aud: Option<Value>,
    pub(crate) exp: Option<Value>,
    pub(crate) nbf: Option<Value>,
    pub(crate) iat: Option<Value>,
    pub(crate) scope: Option<Value>,
    pub(crate) scp: Option<Value>,
    pub(crate) client_id: Option<Value>,
    pub(crate) azp: Option<Value>,
    pub(crate) active: Option<Value>,
    pub(crate) username: Option<Value>,
}

/// Time claims checked against the caller's clock, with leeway.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TimeCheck {
    pub(crate) now: u64,
    pub(crate) leeway: u64,
    pub(crate) require_exp: bool,
}

impl RegisteredClaims {
    pub(crate) fn parse(payload: &str) -> Result<(Self, Map<String, Value>), TokenError> {
        let registered: Self =
            serde_json::from_str(payload).map_err(|e| TokenError::Malformed {
                part: TokenPart::Payload,
                reason: e.to_string(),
            })?;
        let claims: Map<String, Value> =
            serde_json::from_str(payload).map_err(|e| TokenError::Malformed {
                part: TokenPart::Payload,
                reason: e.to_string(),
            })?;
        Ok((registered, claims))
    }

    pub(crate) fn check_time(&self, t: TimeCheck) -> Result<Option<u64>, TokenError> {
        let exp = numeric_date("exp", self.exp.as_ref())?;
        match exp {
            None if t.require_exp => return Err(TokenError::MissingClaim { claim: "exp" }),
            Some(exp) if t.now >= exp.saturating_add(t.leeway) => {
                return Err(TokenError::Expired {
                    exp,
                    now: t.now,
                    leeway: t.leeway,
                });
            }
            _ => {}
        }
        if let Some(nbf) = numeric_date("nbf", self.nbf.as_ref())?
            && t.now.saturating_add(t.leeway) < nbf
        {
            return Err(TokenError::NotYetValid {
                nbf,
                now: t.now,
                leeway: t.leeway,
            });
        }
        if let Some(iat) = numeric_date("iat", self.iat.as_ref())?
            && iat > t.now.saturating_add(t.leeway)
        {
            return Err(TokenError::IssuedInFuture {
                iat,
                now: t.now,
                leeway: t.leeway,
            });
        }
        Ok(exp)
    }

    pub(crate) fn issuer(&self) -> Result<Option<&str>, TokenError> {
        opt_string("iss", self.iss.as_ref())
    }

    pub(crate) fn check_issuer(&self, allowed: &[String]) -> Result<(), TokenError> {
        match self.issuer()? {
            None => Err(TokenError::MissingClaim { claim: "iss" }),
            Some(iss) if allowed.iter().any(|a| a == iss) => Ok(()),
            Some(iss) => Err(TokenError::WrongIssuer {
                found: iss.to_owned(),
                expected: allowed.to_vec(),
            }),
        }
    }

    pub(crate) fn audience(&self) -> Result<Vec<String>, TokenError> {
        match &self.aud {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::String(s)) => Ok(alloc::vec![s.clone()]),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    _ => Err(invalid("aud", "array items must be strings")),
                })
                .collect(),
            Some(_) => Err(invalid("aud", "must be a string or an array of strings")),
        }
    }

    /// `aud` must name the resource; `expected` holds canonical forms, and each `aud` value
    /// is compared as written and in canonical form (an AS may echo `https://GW/mcp`).
    pub(crate) fn check_audience(
        &self,
        expected: &[String],
        required: bool,
    ) -> Result<Vec<String>, TokenError> {
        let aud = self.audience()?;
        if aud.is_empty() {
            return if required {
                Err(TokenError::MissingClaim { claim: "aud" })
            } else {
                Ok(aud)
            };
        }
        let matches = aud.iter().any(|a| {
            expected
                .iter()
                .any(|e| e == a || super::url::canonical_resource_uri(a).is_ok_and(|c| &c == e))
        });
        if matches {
            Ok(aud)
        } else {
            Err(TokenError::WrongAudience {
                found: aud,
                expected: expected.to_vec(),
            })
        }
    }
}

fn invalid(claim: &str, reason: &str) -> TokenError {
    TokenError::InvalidClaim {
        claim: claim.to_owned(),
        reason: reason.to_owned(),
    }
}

fn opt_string<'a>(claim: &str, v: Option<&'a Value>) -> Result<Option<&'a str>, TokenError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(invalid(claim, "must be a string")),
    }
}

/// RFC 7519 NumericDate: seconds, possibly fractional; fractions are dropped.
fn numeric_date(claim: &'static str, v: Option<&Value>) -> Result<Option<u64>, TokenError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(u) = n.as_u64() {
                return Ok(Some(u));
            }
            match n.as_f64() {
                Some(f) if f.is_finite() && f >= 0.0 => {
                    // Saturating float-to-int conversion: absurdly far dates become u64::MAX.
                    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                    Ok(Some(f as u64))
                }
                _ => Err(invalid(claim, "must be a non-negative number of seconds")),
            }
        }
        Some(_) => Err(invalid(
            claim,
            "must be a number of seconds since the epoch",
        )),
    }
}

/// Splits a `scope` string into scope tokens, dropping empty ones and duplicates.
pub fn parse_scope(scope: &str, separator: char) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in scope
        .split(separator)
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        if !out.iter().any(|o| o == s) {
            out.push(s.to_owned());
        }
    }
    out
}

fn scopes_from(claim: &str, v: &Value, separator: char) -> Result<Vec<String>, TokenError> {
    match v {
        Value::String(s) => Ok(parse_scope(s, separator)),
        Value::Array(items) => {
            let mut out: Vec<String> = Vec::new();
            for item in items {
                let Value::String(s) = item else {
                    return Err(invalid(claim, "array items must be strings"));
                };
                for s in parse_scope(s, separator) {
                    if !out.contains(&s) {
                        out.push(s);
                    }
                }
            }
            Ok(out)
        }
        _ => Err(invalid(claim, "must be a string or an array of strings")),
    }
}

impl Principal {
    /// Builds a principal from the JSON text of claims that were already validated (a JWT
    /// payload or an introspection response); `payload` is kept as `oauth.payload`.
    pub fn from_payload(
        payload: &str,
        source: TokenSource,
        mapping: &ClaimMapping,
    ) -> Result<Self, TokenError> {
        let (registered, claims) = RegisteredClaims::parse(payload)?;
        Self::build(&registered, claims, payload.to_owned(), source, mapping)
    }

    /// Builds a principal from claims that were already validated elsewhere (another JWT
    /// library, a host-side cache); `oauth.payload` becomes their JSON serialization.
    pub fn from_claims(
        claims: Map<String, Value>,
        source: TokenSource,
        mapping: &ClaimMapping,
    ) -> Result<Self, TokenError> {
        let value = Value::Object(claims);
        let registered: RegisteredClaims =
            serde_json::from_value(value.clone()).map_err(|e| TokenError::Malformed {
                part: TokenPart::Payload,
                reason: e.to_string(),
            })?;
        let payload = value.to_string();
        let Value::Object(claims) = value else {
            return Err(TokenError::Malformed {
                part: TokenPart::Payload,
                reason: "claims are not an object".to_owned(),
            });
        };
        Self::build(&registered, claims, payload, source, mapping)
    }

    pub(crate) fn build(
        r: &RegisteredClaims,
        claims: Map<String, Value>,
        payload: String,
        source: TokenSource,
        mapping: &ClaimMapping,
    ) -> Result<Self, TokenError> {
        let scopes = match (&r.scope, &r.scp) {
            (Some(v), _) if !v.is_null() => scopes_from("scope", v, mapping.scope_separator)?,
            (_, Some(v)) if !v.is_null() => scopes_from("scp", v, mapping.scope_separator)?,
            _ => Vec::new(),
        };
        let audience = r.audience()?;
        let client_id = match opt_string("client_id", r.client_id.as_ref())? {
            Some(c) => Some(c.to_owned()),
            None => match opt_string("azp", r.azp.as_ref())? {
                Some(a) => Some(a.to_owned()),
                None => audience.first().cloned(),
            },
        };
        let user = match claims.get(&mapping.user_claim) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(Value::Null) | None => match (source, &r.username) {
                (TokenSource::Introspection, Some(Value::String(u))) => Some(u.clone()),
                _ => None,
            },
            Some(_) => {
                return Err(invalid(
                    &mapping.user_claim,
                    "the user claim must be a string",
                ));
            }
        };
        opt_string("sub", r.sub.as_ref())?;
        let issuer = r.issuer()?.map(ToOwned::to_owned);
        let expires_at = numeric_date("exp", r.exp.as_ref())?;
        Ok(Self {
            user,
            scopes,
            client_id,
            issuer,
            audience,
            expires_at,
            claims,
            payload,
            source,
        })
    }

    /// The context attributes this principal sets, as Gravitee's plans name them:
    /// `user` (when known), `user.roles` (list of scopes), `jwt.claims` (map of all claims),
    /// `oauth.payload` (raw JSON text), and `client_id` / `oauth.client_id` (when known).
    pub fn attributes(&self) -> Vec<(String, Value)> {
        let mut out = Vec::with_capacity(6);
        if let Some(u) = &self.user {
            out.push((ATTR_USER.to_owned(), Value::String(u.clone())));
        }
        out.push((
            ATTR_USER_ROLES.to_owned(),
            Value::Array(self.scopes.iter().cloned().map(Value::String).collect()),
        ));
        out.push((
            ATTR_JWT_CLAIMS.to_owned(),
            Value::Object(self.claims.clone()),
        ));
        out.push((
            ATTR_OAUTH_PAYLOAD.to_owned(),
            Value::String(self.payload.clone()),
        ));
        if let Some(c) = &self.client_id {
            out.push((ATTR_CLIENT_ID.to_owned(), Value::String(c.clone())));
            out.push((ATTR_OAUTH_CLIENT_ID.to_owned(), Value::String(c.clone())));
        }
        out
    }

    /// Whether the token holds `required` scopes: all of them, or any one ([`ScopeMode`]).
    /// No required scope is always satisfied.
    pub fn has_scopes(&self, required: &[&str], mode: ScopeMode) -> bool {
        if required.is_empty() {
            return true;
        }
        let held = |r: &&str| self.scopes.iter().any(|s| s == r);
        match mode {
            ScopeMode::All => required.iter().all(held),
            ScopeMode::Any => required.iter().any(held),
        }
    }

    /// The required scopes the token does not hold, in the order given.
    pub fn missing_scopes(&self, required: &[&str]) -> Vec<String> {
        required
            .iter()
            .filter(|r| !self.scopes.iter().any(|s| s == *r))
            .map(|r| (*r).to_owned())
            .collect()
    }

    /// [`Principal::has_scopes`] as a result: [`TokenError::InsufficientScope`] names every
    /// required scope (for the 403 challenge) and the missing ones (for logs).
    pub fn require_scopes(&self, required: &[&str], mode: ScopeMode) -> Result<(), TokenError> {
        if self.has_scopes(required, mode) {
            Ok(())
        } else {
            Err(TokenError::InsufficientScope {
                required: required.iter().map(|s| (*s).to_owned()).collect(),
                missing: self.missing_scopes(required),
                mode,
            })
        }
    }
}

/// Which part of a JWT was malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenPart {
    /// The token as a whole (size, number of `.`-separated parts).
    Token,
    /// The JOSE header.
    Header,
    /// The claims (JWT payload or introspection response).
    Payload,
    /// The signature.
    Signature,
}

impl fmt::Display for TokenPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Token => "token",
            Self::Header => "header",
            Self::Payload => "payload",
            Self::Signature => "signature",
        })
    }
}

/// Why an access token was refused. Every variant maps to a challenge:
/// [`TokenError::InsufficientScope`] to a 403 `insufficient_scope`, all others to a 401
/// `invalid_token` (see [`TokenError::challenge`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenError {
    /// Not a well-formed token (or introspection response).
    Malformed {
        /// Where.
        part: TokenPart,
        /// What the parser said.
        reason: String,
    },
    /// `alg: none`: an unsigned token, never accepted.
    AlgorithmNone,
    /// An HMAC (`HS*`) token while the validator only holds public keys: the classic
    /// algorithm-confusion attack (an HMAC keyed with the public key).
    AlgorithmConfusion {
        /// The token's `alg`.
        alg: String,
    },
    /// An `alg` that is unknown or not in the validator's allowed list.
    AlgorithmNotAllowed {
        /// The token's `alg`.
        alg: String,
    },
    /// The key the token names cannot verify its `alg` (wrong key type or curve, or the JWK
    /// pins another `alg`).
    KeyAlgorithmMismatch {
        /// The token's `alg`.
        alg: String,
        /// The token's `kid`.
        kid: String,
    },
    /// The token's `kid` is not in the JWKS.
    UnknownKid {
        /// The token's `kid`.
        kid: String,
    },
    /// The token has no `kid` and the JWKS does not hold exactly one key for its `alg`.
    NoUniqueKey {
        /// The token's `alg`.
        alg: String,
        /// How many keys could verify that `alg` (0 or more than 1).
        candidates: usize,
    },
    /// The signature does not verify.
    InvalidSignature,
    /// A required claim is absent.
    MissingClaim {
        /// The claim.
        claim: &'static str,
    },
    /// A claim has the wrong type or an unusable value.
    InvalidClaim {
        /// The claim.
        claim: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `iss` is not one of the trusted issuers.
    WrongIssuer {
        /// The token's `iss`.
        found: String,
        /// The trusted issuers.
        expected: Vec<String>,
    },
    /// `aud` does not name this resource.
    WrongAudience {
        /// The token's `aud`.
        found: Vec<String>,
        /// The audiences this resource accepts (its canonical URL first).
        expected: Vec<String>,
    },
    /// `exp` (plus leeway) has passed.
    Expired {
        /// The token's `exp`.
        exp: u64,
        /// The time the caller passed.
        now: u64,
        /// The leeway in seconds.
        leeway: u64,
    },
    /// `nbf` (minus leeway) is still in the future.
    NotYetValid {
        /// The token's `nbf`.
        nbf: u64,
        /// The time the caller passed.
        now: u64,
        /// The leeway in seconds.
        leeway: u64,
    },
    /// `iat` (minus leeway) is in the future: a clock problem at the issuer, or a forgery.
    IssuedInFuture {
        /// The token's `iat`.
        iat: u64,
        /// The time the caller passed.
        now: u64,
        /// The leeway in seconds.
        leeway: u64,
    },
    /// The introspection response says `"active": false` (revoked, expired or unknown).
    Inactive,
    /// The token is valid but lacks scopes the operation needs.
    InsufficientScope {
        /// Every scope the operation needs (what the 403 challenge's `scope` lists).
        required: Vec<String>,
        /// The ones the token does not hold.
        missing: Vec<String>,
        /// Whether all or any of `required` were needed.
        mode: ScopeMode,
    },
}

impl TokenError {
    /// The RFC 6750 error code for the challenge.
    pub fn error_code(&self) -> BearerErrorCode {
        match self {
            Self::InsufficientScope { .. } => BearerErrorCode::InsufficientScope,
            _ => BearerErrorCode::InvalidToken,
        }
    }

    /// 403 for [`TokenError::InsufficientScope`], 401 for everything else.
    pub fn http_status(&self) -> u16 {
        self.error_code().http_status()
    }

    /// A short, client-safe `error_description` (no token contents, no quotes).
    pub fn description(&self) -> &'static str {
        match self {
            Self::Malformed { .. } => "The access token is malformed",
            Self::AlgorithmNone => "Unsigned access tokens are not accepted",
            Self::AlgorithmConfusion { .. } | Self::AlgorithmNotAllowed { .. } => {
                "The access token signature algorithm is not accepted"
            }
            Self::KeyAlgorithmMismatch { .. } | Self::NoUniqueKey { .. } => {
                "No matching key for the access token"
            }
            Self::UnknownKid { .. } => "The access token was signed with an unknown key",
            Self::InvalidSignature => "The access token signature is invalid",
            Self::MissingClaim { .. } | Self::InvalidClaim { .. } => {
                "The access token claims are invalid"
            }
            Self::WrongIssuer { .. } => "The access token was issued by an untrusted issuer",
            Self::WrongAudience { .. } => "The access token was not issued for this resource",
            Self::Expired { .. } => "The access token expired",
            Self::NotYetValid { .. } | Self::IssuedInFuture { .. } => {
                "The access token is not valid yet"
            }
            Self::Inactive => "The access token is not active",
            Self::InsufficientScope { .. } => "The access token lacks required scopes",
        }
    }

    /// The `WWW-Authenticate` challenge to answer with: 401 `invalid_token` with
    /// `resource_metadata`, or for a scope problem 403 `insufficient_scope` whose `scope`
    /// lists every scope the operation needs.
    pub fn challenge(&self, resource_metadata: &str) -> BearerChallenge {
        match self {
            Self::InsufficientScope { required, .. } => BearerChallenge::insufficient_scope(
                resource_metadata,
                required.iter().cloned(),
                Some(self.description().to_owned()),
            ),
            _ => BearerChallenge::invalid_token(resource_metadata, self.description()),
        }
    }
}

fn join(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("{s:?}")).collect();
    format!("[{}]", quoted.join(", "))
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed { part, reason } => write!(
                f,
                "access token {part} is malformed: {reason}; the client must send the token \
                 exactly as issued"
            ),
            Self::AlgorithmNone => f.write_str(
                "access token header has alg \"none\" (unsigned); only signed tokens are accepted",
            ),
            Self::AlgorithmConfusion { alg } => write!(
                f,
                "access token header has alg {alg:?} (HMAC) but the validator holds only public \
                 keys; this is the algorithm-confusion attack. Configure a shared secret only if \
                 the issuer really signs with one"
            ),
            Self::AlgorithmNotAllowed { alg } => write!(
                f,
                "access token header has alg {alg:?}, which is not in the allowed algorithms; \
                 add it to the validator's algorithms if the issuer uses it"
            ),
            Self::KeyAlgorithmMismatch { alg, kid } => write!(
                f,
                "access token header has alg {alg:?} but JWKS key kid {kid:?} cannot verify it \
                 (key type, curve or the key's own alg differ); check the issuer's key setup"
            ),
            Self::UnknownKid { kid } => write!(
                f,
                "access token header names kid {kid:?}, which the JWKS does not contain; \
                 refresh the JWKS (the issuer may have rotated keys)"
            ),
            Self::NoUniqueKey { alg, candidates } => write!(
                f,
                "access token header has no kid and the JWKS holds {candidates} keys for alg \
                 {alg:?}; the issuer must set kid, or the JWKS must hold exactly one such key"
            ),
            Self::InvalidSignature => f.write_str(
                "access token signature does not verify against the JWKS key; the token was \
                 altered or signed by someone else",
            ),
            Self::MissingClaim { claim } => write!(
                f,
                "access token has no `{claim}` claim, which is required; configure the \
                 authorization server to include it"
            ),
            Self::InvalidClaim { claim, reason } => {
                write!(f, "access token claim `{claim}` is invalid: {reason}")
            }
            Self::WrongIssuer { found, expected } => write!(
                f,
                "access token claim `iss` is {found:?}, expected one of {}; trust that issuer \
                 or obtain the token from a trusted one",
                join(expected)
            ),
            Self::WrongAudience { found, expected } => write!(
                f,
                "access token claim `aud` is {}, expected it to contain {}; the client must \
                 request the token with resource={} (RFC 8707)",
                join(found),
                join(expected),
                expected.first().map(String::as_str).unwrap_or_default()
            ),
            Self::Expired { exp, now, leeway } => write!(
                f,
                "access token claim `exp` is {exp}, now is {now} (leeway {leeway}s): the token \
                 expired; the client must refresh it"
            ),
            Self::NotYetValid { nbf, now, leeway } => write!(
                f,
                "access token claim `nbf` is {nbf}, now is {now} (leeway {leeway}s): not valid \
                 yet; check the clocks of issuer and gateway"
            ),
            Self::IssuedInFuture { iat, now, leeway } => write!(
                f,
                "access token claim `iat` is {iat}, now is {now} (leeway {leeway}s): issued in \
                 the future; check the clocks of issuer and gateway"
            ),
            Self::Inactive => f.write_str(
                "introspection says the access token is not active (revoked, expired or \
                 unknown); the client must obtain a new token",
            ),
            Self::InsufficientScope {
                required,
                missing,
                mode,
            } => write!(
                f,
                "access token lacks scopes: needs {} of {}, missing {}; the client must \
                 re-authorize with scope=\"{}\"",
                match mode {
                    ScopeMode::All => "all",
                    ScopeMode::Any => "one",
                },
                join(required),
                join(missing),
                required.join(" ")
            ),
        }
    }
}

impl TokenError {
    /// The code in the crate-wide set: [`crate::error::ErrorCode::InsufficientScope`] for a
    /// token that lacks scopes (403), [`crate::error::ErrorCode::InvalidToken`] for the rest
    /// (401).
    pub fn code(&self) -> crate::error::ErrorCode {
        match self {
            Self::InsufficientScope { .. } => crate::error::ErrorCode::InsufficientScope,
            _ => crate::error::ErrorCode::InvalidToken,
        }
    }
}

impl core::error::Error for TokenError {}
