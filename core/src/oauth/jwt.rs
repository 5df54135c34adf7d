//! Local validation of JWT access tokens against the issuer's JWKS (feature `jwt`).
//!
//! `jsonwebtoken` (RustCrypto backend) is used only to check signatures. Header parsing,
//! key selection, algorithm policy and every claim check are done here, so that each refusal
//! has its own [`TokenError`] and the time always comes from the caller: the engine never
//! reads the clock.

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use core::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;
use serde::Deserialize;
use serde_json::Value;

pub use jsonwebtoken::Algorithm;

use super::token::{
    ClaimMapping, Principal, RegisteredClaims, ScopeMode, TimeCheck, TokenError, TokenPart,
    TokenSource,
};
use super::url::{UrlError, canonical_resource_uri};

/// Algorithms accepted unless configured otherwise: what MCP authorization servers issue.
pub const DEFAULT_ALGORITHMS: [Algorithm; 5] = [
    Algorithm::RS256,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Tokens longer than this are refused unread (configurable with
/// [`JwtValidator::with_max_token_len`]).
pub const DEFAULT_MAX_TOKEN_LEN: usize = 16 * 1024;

/// RSA keys shorter than this are refused (RFC 7518 §3.3).
const MIN_RSA_BITS: usize = 2048;
/// The RustCrypto RSA backend refuses larger moduli when verifying.
const MAX_RSA_BITS: usize = 4096;

/// The kind of a usable JWKS key, which fixes the algorithms it can verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// `kty: RSA`: RS256/384/512, PS256/384/512.
    Rsa,
    /// `kty: EC`, `crv: P-256`: ES256.
    P256,
    /// `kty: EC`, `crv: P-384`: ES384.
    P384,
    /// `kty: OKP`, `crv: Ed25519`: EdDSA.
    Ed25519,
}

impl KeyKind {
    /// Whether a key of this kind can verify `alg`.
    pub fn verifies(self, alg: Algorithm) -> bool {
        matches!(
            (self, alg),
            (
                Self::Rsa,
                Algorithm::RS256
                    | Algorithm::RS384
                    | Algorithm::RS512
                    | Algorithm::PS256
                    | Algorithm::PS384
                    | Algorithm::PS512
            ) | (Self::P256, Algorithm::ES256)
                | (Self::P384, Algorithm::ES384)
                | (Self::Ed25519, Algorithm::EdDSA)
        )
    }
}

/// One verification key from a JWKS.
#[derive(Debug, Clone)]
pub struct Jwk {
    kid: Option<String>,
    kind: KeyKind,
    alg: Option<Algorithm>,
    key: jsonwebtoken::DecodingKey,
}

impl Jwk {
    /// The key id.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The key type.
    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// The algorithm the JWK pins with its `alg` member, if any.
    pub fn alg(&self) -> Option<Algorithm> {
        self.alg
    }

    /// Whether this key may verify a token signed with `alg`: the key type must fit, and a
    /// JWK that names an `alg` verifies only that one (so an RSA key meant for RS256 cannot
    /// be used to check a PS256 token).
    pub fn accepts(&self, alg: Algorithm) -> bool {
        self.kind.verifies(alg) && self.alg.is_none_or(|a| a == alg)
    }
}

/// A JWKS key that was not loaded, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedKey {
    /// Position in the `keys` array.
    pub index: usize,
    /// Its `kid`, if it had a string one.
    pub kid: Option<String>,
    /// Why it was skipped.
    pub reason: String,
}

/// Why a JWKS document gave no usable key.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JwksError {
    /// Not JSON, not `{"keys": [...]}`, or a key member given twice.
    Json {
        /// What serde_json said.
        reason: String,
    },
    /// The document holds no key this validator can use.
    NoUsableKeys {
        /// Every key and why it was skipped.
        skipped: Vec<SkippedKey>,
    },
}

impl fmt::Display for JwksError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Json { reason } => write!(
                f,
                "JWKS is not a valid {{\"keys\": [...]}} document: {reason}; check the jwks_uri"
            ),
            Self::NoUsableKeys { skipped } => {
                f.write_str("JWKS holds no usable signing key (RSA >= 2048 bits, EC P-256/P-384, OKP Ed25519)")?;
                for s in skipped {
                    write!(f, "; keys[{}]", s.index)?;
                    if let Some(kid) = &s.kid {
                        write!(f, " (kid {kid:?})")?;
                    }
                    write!(f, ": {}", s.reason)?;
                }
                Ok(())
            }
        }
    }
}

impl JwksError {
    /// The code in the crate-wide set.
    pub fn code(&self) -> crate::error::ErrorCode {
        crate::error::ErrorCode::InvalidJwks
    }
}

impl core::error::Error for JwksError {}

/// The flattened rest makes serde read these as JSON objects only: a plain derive would also
/// accept an array and assign its items to the fields by position.
#[derive(Deserialize)]
struct RawJwks {
    keys: Vec<RawJwk>,
    #[serde(flatten)]
    _rest: serde_json::Map<String, Value>,
}

/// Every member is an untyped `Value`, so one odd key does not fail the whole set, while a
/// member given twice inside a key still does (the derive rejects duplicate fields).
#[derive(Deserialize)]
struct RawJwk {
    kty: Option<Value>,
    kid: Option<Value>,
    alg: Option<Value>,
    #[serde(rename = "use")]
    use_: Option<Value>,
    key_ops: Option<Value>,
    crv: Option<Value>,
    n: Option<Value>,
    e: Option<Value>,
    x: Option<Value>,
    y: Option<Value>,
    d: Option<Value>,
    #[serde(flatten)]
    _rest: serde_json::Map<String, Value>,
}

fn b64url(v: &str) -> Option<Vec<u8>> {
    // Some issuers pad their base64url; the padding carries no information.
    URL_SAFE_NO_PAD.decode(v.trim_end_matches('=')).ok()
}

fn str_member<'a>(v: Option<&'a Value>, name: &str) -> Result<Option<&'a str>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("`{name}` is not a string")),
    }
}

fn bytes_member(v: Option<&Value>, name: &str) -> Result<Vec<u8>, String> {
    let s = str_member(v, name)?.ok_or_else(|| format!("`{name}` is missing"))?;
    b64url(s).ok_or_else(|| format!("`{name}` is not base64url"))
}

fn significant_bits(bytes: &[u8]) -> usize {
    let trimmed: &[u8] = match bytes.iter().position(|&b| b != 0) {
        Some(i) => bytes.get(i..).unwrap_or_default(),
        None => &[],
    };
    match trimmed.first() {
        Some(first) => (trimmed.len() - 1) * 8 + (8 - first.leading_zeros() as usize),
        None => 0,
    }
}

fn load_key(raw: &RawJwk) -> Result<Jwk, String> {
    let kid = str_member(raw.kid.as_ref(), "kid")?.map(ToOwned::to_owned);
    if raw.d.is_some() {
        return Err("it contains private key material (`d`); the issuer leaked its key".into());
    }
    if let Some(u) = str_member(raw.use_.as_ref(), "use")?
        && u != "sig"
    {
        return Err(format!("`use` is {u:?}, not \"sig\""));
    }
    if let Some(ops) = &raw.key_ops {
        let verify = ops
            .as_array()
            .is_some_and(|a| a.iter().any(|o| o == "verify"));
        if !verify {
            return Err("`key_ops` does not allow \"verify\"".into());
        }
    }
    let alg = match str_member(raw.alg.as_ref(), "alg")? {
        None => None,
        Some(a) => Some(
            Algorithm::from_str(a)
                .map_err(|_| format!("`alg` {a:?} is not a supported JWS alg"))?,
        ),
    };
    let kty = str_member(raw.kty.as_ref(), "kty")?.ok_or("`kty` is missing")?;
    let crv = str_member(raw.crv.as_ref(), "crv")?;
    let (kind, key) = match (kty, crv) {
        ("RSA", _) => {
            let n = bytes_member(raw.n.as_ref(), "n")?;
            let e = bytes_member(raw.e.as_ref(), "e")?;
            let bits = significant_bits(&n);
            if bits < MIN_RSA_BITS {
                return Err(format!(
                    "RSA modulus has {bits} bits, fewer than {MIN_RSA_BITS}"
                ));
            }
            if bits > MAX_RSA_BITS {
                return Err(format!(
                    "RSA modulus has {bits} bits, more than {MAX_RSA_BITS}"
                ));
            }
            if significant_bits(&e) < 2 || e.len() > 8 {
                return Err("RSA exponent `e` is out of range".into());
            }
            (
                KeyKind::Rsa,
                jsonwebtoken::DecodingKey::from_rsa_raw_components(&n, &e),
            )
        }
        ("EC", Some(c @ ("P-256" | "P-384"))) => {
            let (kind, len, alg) = if c == "P-256" {
                (KeyKind::P256, 32, Algorithm::ES256)
            } else {
                (KeyKind::P384, 48, Algorithm::ES384)
            };
            let x = bytes_member(raw.x.as_ref(), "x")?;
            let y = bytes_member(raw.y.as_ref(), "y")?;
            if x.len() != len || y.len() != len {
                return Err(format!("{c} coordinates must be {len} bytes each"));
            }
            let mut sec1 = Vec::with_capacity(1 + 2 * len);
            sec1.push(0x04);
            sec1.extend_from_slice(&x);
            sec1.extend_from_slice(&y);
            let key = jsonwebtoken::DecodingKey::from_ec_der(&sec1);
            (DEFAULT_PROVIDER.verifier_factory)(&alg, &key)
                .map_err(|_| format!("({c}) point is not on the curve"))?;
            (kind, key)
        }
        ("OKP", Some("Ed25519")) => {
            let x = bytes_member(raw.x.as_ref(), "x")?;
            if x.len() != 32 {
                return Err("Ed25519 `x` must be 32 bytes".into());
            }
            let key = jsonwebtoken::DecodingKey::from_ed_der(&x);
            (DEFAULT_PROVIDER.verifier_factory)(&Algorithm::EdDSA, &key)
                .map_err(|_| "Ed25519 `x` is not a valid point".to_owned())?;
            (KeyKind::Ed25519, key)
        }
        ("oct", _) => return Err("symmetric (`oct`) keys are never taken from a JWKS".into()),
        (kty, crv) => {
            return Err(format!(
                "unsupported key type {kty:?} / curve {:?}",
                crv.unwrap_or("-")
            ));
        }
    };
    if let Some(a) = alg
        && !kind.verifies(a)
    {
        return Err(format!("`alg` {a:?} does not fit key type {kty:?}"));
    }
    Ok(Jwk {
        kid,
        kind,
        alg,
        key,
    })
}

/// The verification keys of a JWKS (RFC 7517): RSA (`n`, `e`), EC P-256/P-384 (`x`, `y`),
/// OKP Ed25519 (`x`). Keys that cannot be used (encryption keys, other types, malformed,
/// RSA under 2048 bits, published private keys, symmetric keys) are skipped and listed in
/// [`Jwks::skipped`].
#[derive(Debug, Clone, Default)]
pub struct Jwks {
    keys: Vec<Jwk>,
    skipped: Vec<SkippedKey>,
}

impl Jwks {
    /// Reads a JWKS document; an error when it is malformed or holds no usable key.
    pub fn from_json(document: &[u8]) -> Result<Self, JwksError> {
        let raw: RawJwks = serde_json::from_slice(document).map_err(|e| JwksError::Json {
            reason: e.to_string(),
        })?;
        let mut out = Self::default();
        for (index, k) in raw.keys.iter().enumerate() {
            match load_key(k) {
                Ok(key) => out.keys.push(key),
                Err(reason) => out.skipped.push(SkippedKey {
                    index,
                    kid: k
                        .kid
                        .as_ref()
                        .and_then(Value::as_str)
                        .map(ToOwned::to_owned),
                    reason,
                }),
            }
        }
        if out.keys.is_empty() {
            return Err(JwksError::NoUsableKeys {
                skipped: out.skipped,
            });
        }
        Ok(out)
    }

    /// A key set with no keys, for a validator that only checks HMAC tokens with a shared
    /// secret.
    pub fn empty() -> Self {
        Self::default()
    }

    /// The usable keys.
    pub fn keys(&self) -> &[Jwk] {
        &self.keys
    }

    /// The keys that were skipped, and why.
    pub fn skipped(&self) -> &[SkippedKey] {
        &self.skipped
    }
}

/// Why a [`JwtValidator`] cannot be built.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JwtConfigError {
    /// No trusted issuer was given.
    NoIssuer,
    /// The resource URL (the expected audience) is not a usable URL.
    ResourceUrl(UrlError),
}

impl fmt::Display for JwtConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoIssuer => f.write_str(
                "JWT validator has no trusted issuer; give the authorization server's issuer URL",
            ),
            Self::ResourceUrl(e) => write!(f, "JWT validator resource URL is unusable: {e}"),
        }
    }
}

impl JwtConfigError {
    /// The code in the crate-wide set.
    pub fn code(&self) -> crate::error::ErrorCode {
        crate::error::ErrorCode::InvalidValidatorConfig
    }
}

impl core::error::Error for JwtConfigError {}

/// Checks JWT access tokens for one protected resource.
#[derive(Debug, Clone)]
pub struct JwtValidator {
    jwks: Jwks,
    issuers: Vec<String>,
    audiences: Vec<String>,
    algorithms: Vec<Algorithm>,
    leeway: u64,
    required_scopes: Vec<String>,
    scope_mode: ScopeMode,
    mapping: ClaimMapping,
    hmac_secret: Option<jsonwebtoken::DecodingKey>,
    max_token_len: usize,
}

#[derive(Deserialize)]
struct RawHeader {
    alg: Option<Value>,
    kid: Option<Value>,
    crit: Option<Value>,
    // Object only, as for `RawJwk`.
    #[serde(flatten)]
    _rest: serde_json::Map<String, Value>,
}

fn malformed(part: TokenPart, reason: impl Into<String>) -> TokenError {
    TokenError::Malformed {
        part,
        reason: reason.into(),
    }
}

fn is_hmac(alg: Algorithm) -> bool {
    matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

fn alg_name(alg: Algorithm) -> String {
    format!("{alg:?}")
}

fn verify(alg: Algorithm, key: &jsonwebtoken::DecodingKey, message: &[u8], sig: &[u8]) -> bool {
    match (DEFAULT_PROVIDER.verifier_factory)(&alg, key) {
        Ok(v) => v.verify(message, &sig.to_vec()).is_ok(),
        Err(_) => false,
    }
}

impl JwtValidator {
    /// A validator trusting `issuers` (compared exactly with `iss`) and expecting `aud` to
    /// hold the canonical form of `resource_url`, the gateway's public MCP URL. Defaults:
    /// algorithms [`DEFAULT_ALGORITHMS`], leeway 60 s, no required scopes, user claim `sub`,
    /// no HMAC.
    pub fn new<S: Into<String>>(
        jwks: Jwks,
        issuers: impl IntoIterator<Item = S>,
        resource_url: &str,
    ) -> Result<Self, JwtConfigError> {
        let issuers: Vec<String> = issuers.into_iter().map(Into::into).collect();
        if issuers.iter().all(String::is_empty) {
            return Err(JwtConfigError::NoIssuer);
        }
        let audience = canonical_resource_uri(resource_url).map_err(JwtConfigError::ResourceUrl)?;
        Ok(Self {
            jwks,
            issuers,
            audiences: alloc::vec![audience],
            algorithms: DEFAULT_ALGORITHMS.to_vec(),
            leeway: 60,
            required_scopes: Vec::new(),
            scope_mode: ScopeMode::All,
            mapping: ClaimMapping::default(),
            hmac_secret: None,
            max_token_len: DEFAULT_MAX_TOKEN_LEN,
        })
    }

    /// Replaces the allowed algorithms. `HS*` entries only take effect with
    /// [`JwtValidator::with_hmac_secret`].
    pub fn with_algorithms(mut self, algorithms: &[Algorithm]) -> Self {
        self.algorithms = algorithms.to_vec();
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

    /// Also accept tokens whose `aud` holds `audience`.
    pub fn with_additional_audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Which claims name the user and hold the scopes.
    pub fn with_claim_mapping(mut self, mapping: ClaimMapping) -> Self {
        self.mapping = mapping;
        self
    }

    /// Refuse tokens longer than `bytes`.
    pub fn with_max_token_len(mut self, bytes: usize) -> Self {
        self.max_token_len = bytes;
        self
    }

    /// Explicitly trust HMAC tokens signed with this shared secret (and allow HS256 if no
    /// `HS*` algorithm is allowed yet). HMAC tokens are then verified with this secret only,
    /// never with a JWKS key. Without this call every `HS*` token is refused as
    /// [`TokenError::AlgorithmConfusion`].
    pub fn with_hmac_secret(mut self, secret: &[u8]) -> Self {
        self.hmac_secret = Some(jsonwebtoken::DecodingKey::from_secret(secret));
        if !self.algorithms.iter().any(|a| is_hmac(*a)) {
            self.algorithms.push(Algorithm::HS256);
        }
        self
    }

    /// Replaces the key set (after a rotation: refetch the JWKS on
    /// [`TokenError::UnknownKid`]).
    pub fn set_jwks(&mut self, jwks: Jwks) {
        self.jwks = jwks;
    }

    /// The current key set.
    pub fn jwks(&self) -> &Jwks {
        &self.jwks
    }

    /// Validates a compact JWS access token at time `now` (seconds since the epoch):
    /// header and `alg` policy, key selection by `kid`, signature, `iss`, `aud`, `exp`
    /// (required), `nbf`, `iat`, then the required scopes. On success the principal's
    /// `payload` is the decoded JWT payload text.
    pub fn validate(&self, token: &str, now: u64) -> Result<Principal, TokenError> {
        if token.len() > self.max_token_len {
            return Err(malformed(
                TokenPart::Token,
                format!("longer than {} bytes", self.max_token_len),
            ));
        }
        let mut parts = token.split('.');
        let (Some(h64), Some(p64), Some(s64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            let n = token.split('.').count();
            return Err(malformed(
                TokenPart::Token,
                format!(
                    "a signed JWT has 3 `.`-separated parts, this has {n} (JWE is not supported)"
                ),
            ));
        };
        let header_bytes = URL_SAFE_NO_PAD
            .decode(h64)
            .map_err(|_| malformed(TokenPart::Header, "not base64url"))?;
        let header: RawHeader = serde_json::from_slice(&header_bytes)
            .map_err(|e| malformed(TokenPart::Header, e.to_string()))?;
        if header.crit.is_some() {
            return Err(malformed(
                TokenPart::Header,
                "`crit` extensions are not supported",
            ));
        }
        let alg_text = match &header.alg {
            Some(Value::String(s)) => s.as_str(),
            Some(_) => return Err(malformed(TokenPart::Header, "`alg` is not a string")),
            None => return Err(malformed(TokenPart::Header, "`alg` is missing")),
        };
        if alg_text.eq_ignore_ascii_case("none") {
            return Err(TokenError::AlgorithmNone);
        }
        let alg = Algorithm::from_str(alg_text).map_err(|_| TokenError::AlgorithmNotAllowed {
            alg: alg_text.to_owned(),
        })?;
        let kid = match &header.kid {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.as_str()),
            Some(_) => return Err(malformed(TokenPart::Header, "`kid` is not a string")),
        };
        if is_hmac(alg) && self.hmac_secret.is_none() {
            return Err(TokenError::AlgorithmConfusion { alg: alg_name(alg) });
        }
        if !self.algorithms.contains(&alg) {
            return Err(TokenError::AlgorithmNotAllowed { alg: alg_name(alg) });
        }
        let signature = URL_SAFE_NO_PAD
            .decode(s64)
            .map_err(|_| malformed(TokenPart::Signature, "not base64url"))?;
        // The signed bytes are the first two parts exactly as received.
        let message = token
            .get(..h64.len() + 1 + p64.len())
            .unwrap_or_default()
            .as_bytes();
        let verified = match &self.hmac_secret {
            Some(secret) if is_hmac(alg) => verify(alg, secret, message, &signature),
            _ => {
                let keys = self.candidate_keys(alg, kid)?;
                keys.iter()
                    .any(|k| verify(alg, &k.key, message, &signature))
            }
        };
        if !verified {
            return Err(TokenError::InvalidSignature);
        }
        let payload_bytes = URL_SAFE_NO_PAD
            .decode(p64)
            .map_err(|_| malformed(TokenPart::Payload, "not base64url"))?;
        let payload = String::from_utf8(payload_bytes)
            .map_err(|_| malformed(TokenPart::Payload, "not UTF-8"))?;
        let (registered, claims) = RegisteredClaims::parse(&payload)?;
        registered.check_issuer(&self.issuers)?;
        registered.check_audience(&self.audiences, true)?;
        registered.check_time(TimeCheck {
            now,
            leeway: self.leeway,
            require_exp: true,
        })?;
        let principal = Principal::build(
            &registered,
            claims,
            payload,
            TokenSource::Jwt,
            &self.mapping,
        )?;
        let required: Vec<&str> = self.required_scopes.iter().map(String::as_str).collect();
        principal.require_scopes(&required, self.scope_mode)?;
        Ok(principal)
    }

    /// The keys that may verify a token with this `alg` and `kid`: with a `kid`, the keys of
    /// that id (which must fit the alg); without, the single key that fits the alg.
    fn candidate_keys(&self, alg: Algorithm, kid: Option<&str>) -> Result<Vec<&Jwk>, TokenError> {
        match kid {
            Some(kid) => {
                let named: Vec<&Jwk> = self
                    .jwks
                    .keys
                    .iter()
                    .filter(|k| k.kid.as_deref() == Some(kid))
                    .collect();
                if named.is_empty() {
                    return Err(TokenError::UnknownKid {
                        kid: kid.to_owned(),
                    });
                }
                let fitting: Vec<&Jwk> = named.into_iter().filter(|k| k.accepts(alg)).collect();
                if fitting.is_empty() {
                    return Err(TokenError::KeyAlgorithmMismatch {
                        alg: alg_name(alg),
                        kid: kid.to_owned(),
                    });
                }
                Ok(fitting)
            }
            None => {
                let fitting: Vec<&Jwk> = self.jwks.keys.iter().filter(|k| k.accepts(alg)).collect();
                if fitting.len() == 1 {
                    Ok(fitting)
                } else {
                    Err(TokenError::NoUniqueKey {
                        alg: alg_name(alg),
                        candidates: fitting.len(),
                    })
                }
            }
        }
    }
}
