//! The OAuth2 plan (the gateway as the MCP protected resource) and the relay of a secured
//! backend's OAuth.
//!
//! Every decision about a token is core's (`mcp_policy::oauth`): this file fetches what core
//! needs (authorization server metadata, signing keys, introspection answers), keeps it in
//! bounded caches, and turns core's errors into HTTP answers.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue, WWW_AUTHENTICATE};
use http::{HeaderMap, Method, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use mcp_policy::oauth::{
    BearerChallenge, BearerErrorCode, ClaimMapping, IntrospectionValidator, Jwks, JwtValidator,
    Principal, ProtectedResourceMetadata, ScopeMode, ServerRequirements, TokenError,
    authorization_server_metadata_urls, canonical_resource_uri, parse_www_authenticate,
    protected_resource_metadata_url, protected_resource_metadata_urls, rewrite_upstream_metadata,
    validate_authorization_server_metadata,
};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;

use super::config::{ApiConfig, OAuth2Config};
use super::log::{self, Record};
use super::replies::{Resp, respond};

/// Largest document (metadata, key set, introspection answer) read from an authorization
/// server or a secured backend.
const MAX_DOCUMENT: usize = 1 << 20;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Caches stay consistent between operations: a panic elsewhere must not stop serving.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A small HTTP(S) client for authorization servers and a secured backend's metadata.
#[derive(Debug, Clone)]
pub(crate) struct Fetcher {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
}

/// rustls over ring: it builds with a plain C compiler, where aws-lc-rs needs a much longer
/// build. ring lacks post-quantum key exchange, which rustls now flags; what travels here is
/// public keys and metadata, and introspection, whose secret a recorded session could reveal
/// only to a future quantum attacker.
#[expect(deprecated, reason = "ring is chosen on purpose; see the doc comment")]
fn ring_provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// The roots `https://` servers are checked against: the system's, plus those in `ca_file`.
fn tls_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for e in &native.errors {
        log::warn(&format!("system CA certificates: {e}"));
    }
    let (added, _) = roots.add_parsable_certificates(native.certs);
    let mut extra = 0;
    if let Some(path) = ca_file {
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| format!("ca_file {}: {e}", path.display()))?;
        for cert in certs {
            let cert = cert.map_err(|e| format!("ca_file {}: {e}", path.display()))?;
            roots
                .add(cert)
                .map_err(|e| format!("ca_file {}: {e}", path.display()))?;
            extra += 1;
        }
        if extra == 0 {
            return Err(format!(
                "ca_file {}: no PEM certificate in it",
                path.display()
            ));
        }
    }
    if added + extra == 0 {
        log::warn("no trusted CA certificates: https:// authorization servers cannot be reached");
    }
    // The provider is named rather than taken from the process default, which is ambiguous
    // (and panics) when another crate enables a second one.
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(ring_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

impl Fetcher {
    /// A client with the API's timeouts, trusting the system's roots and `ca_file`'s.
    fn new(api: &ApiConfig, ca_file: Option<&Path>) -> Result<Self, String> {
        let mut http = HttpConnector::new();
        http.set_connect_timeout(Some(api.timeouts.connect()));
        http.enforce_http(false);
        let tls = tls_config(ca_file).map_err(|e| format!("api {:?}: {e}", api.name))?;
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Ok(Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
            timeout: api.timeouts.read(),
        })
    }

    /// Sends a request and reads the whole answer (at most [`MAX_DOCUMENT`] bytes).
    async fn send(&self, req: http::Request<Full<Bytes>>) -> Result<(StatusCode, Bytes), String> {
        let url = req.uri().to_string();
        let work = async {
            let resp = self.client.request(req).await.map_err(|e| e.to_string())?;
            let status = resp.status();
            let body = Limited::new(resp.into_body(), MAX_DOCUMENT)
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            Ok::<_, String>((status, body))
        };
        match tokio::time::timeout(self.timeout, work).await {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(e)) => Err(format!("{url}: {e}")),
            Err(_) => Err(format!(
                "{url}: no answer within {} ms",
                self.timeout.as_millis()
            )),
        }
    }

    /// GETs a JSON document; anything but 200 is an error naming the URL and status.
    pub(crate) async fn get(&self, url: &str) -> Result<Bytes, String> {
        let uri: http::Uri = url.parse().map_err(|e| format!("{url}: {e}"))?;
        let mut req = http::Request::new(Full::new(Bytes::new()));
        *req.uri_mut() = uri;
        req.headers_mut().insert(
            http::header::ACCEPT,
            HeaderValue::from_static("application/json"),
        );
        match self.send(req).await? {
            (StatusCode::OK, body) => Ok(body),
            (status, _) => Err(format!("{url}: HTTP {status}")),
        }
    }
}

/// Why a request is refused before the engine sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    /// 401, 403, 400 or 503.
    pub(crate) status: StatusCode,
    /// The `WWW-Authenticate` value, if any.
    pub(crate) challenge: Option<String>,
    /// RFC 6750 error code for the body (the challenge's own), if any.
    pub(crate) error: Option<BearerErrorCode>,
    /// What was wrong, for the client and the log.
    pub(crate) description: String,
}

impl Refusal {
    /// The HTTP answer (an RFC 6750 JSON error body), noted in the exchange log.
    pub(crate) fn respond(&self, rec: &mut Record) -> Resp {
        // An authorization server that cannot be asked is the gateway's failure, not the
        // caller's: counted with the errors, not the denials.
        rec.decision = if self.status.is_server_error() {
            "error"
        } else {
            "deny"
        };
        rec.detail = Some(self.description.clone());
        let body = match &self.error {
            None => serde_json::json!({ "error_description": self.description }),
            Some(code) => {
                serde_json::json!({ "error": code.as_str(), "error_description": self.description })
            }
        };
        let mut r = respond(
            rec,
            self.status,
            Some("application/json"),
            Bytes::from(body.to_string()),
        );
        if let Some(v) = self
            .challenge
            .as_deref()
            .and_then(|c| HeaderValue::from_str(c).ok())
        {
            r.headers_mut().insert(WWW_AUTHENTICATE, v);
        }
        r
    }
}

/// How tokens are checked.
#[derive(Debug)]
enum Check {
    Jwt(JwtKeys),
    Introspection(Introspection),
}

/// The signing keys of the authorization server, fetched when first needed and again when a
/// token names an unknown key (at most every `min_refetch`) or after `max_age`.
#[derive(Debug)]
struct JwtKeys {
    /// Configured key set URL; else discovered from the first server's metadata.
    jwks_uri: Option<String>,
    /// A validator over the last fetched keys, and when they were fetched.
    current: RwLock<Option<(Arc<JwtValidator>, Instant)>>,
    /// Held while fetching, so concurrent requests wait for one fetch; holds the time of the
    /// last attempt.
    fetching: tokio::sync::Mutex<Option<Instant>>,
    min_refetch: Duration,
    max_age: Duration,
}

/// Opaque tokens, checked at the authorization server and remembered until they expire.
#[derive(Debug)]
struct Introspection {
    endpoint: http::Uri,
    /// `Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1).
    basic: HeaderValue,
    validator: IntrospectionValidator,
    cache: Mutex<TokenCache>,
}

/// Principals of introspected tokens, bounded: the oldest entry goes first.
#[derive(Debug, Default)]
struct TokenCache {
    /// Token → principal, deadline, and the insertion number naming its place in `order`.
    map: HashMap<String, (Arc<Principal>, Instant, u64)>,
    /// Tokens in insertion order; an entry whose number no longer matches the map's is stale
    /// (the token expired or was inserted again).
    order: VecDeque<(String, u64)>,
    next: u64,
    max: usize,
}

impl TokenCache {
    fn get(&mut self, token: &str, now: Instant) -> Option<Arc<Principal>> {
        match self.map.get(token) {
            Some((p, until, _)) if *until > now => Some(p.clone()),
            Some(_) => {
                self.map.remove(token);
                None
            }
            None => None,
        }
    }

    fn put(&mut self, token: &str, p: Arc<Principal>, until: Instant) {
        while self.map.len() >= self.max {
            let Some((old, n)) = self.order.pop_front() else {
                break;
            };
            if self.map.get(&old).is_some_and(|e| e.2 == n) {
                self.map.remove(&old);
            }
        }
        let n = self.next;
        self.next += 1;
        self.map.insert(token.to_owned(), (p, until, n));
        self.order.push_back((token.to_owned(), n));
        // Entries made stale by expiry are dropped once they outnumber the live ones, so the
        // queue stays within twice the bound.
        if self.order.len() > 2 * self.max {
            let map = &self.map;
            self.order
                .retain(|(t, n)| map.get(t).is_some_and(|e| e.2 == *n));
        }
    }
}

/// The OAuth2 plan of one API.
#[derive(Debug)]
pub(crate) struct OAuthGate {
    api: Arc<str>,
    /// Canonical public URL of the API: the tokens' audience.
    resource: String,
    /// Where the metadata document is (named in every challenge).
    pub(crate) metadata_url: String,
    /// The RFC 9728 document, made once.
    pub(crate) metadata: Bytes,
    issuers: Vec<String>,
    required: Vec<String>,
    leeway: u64,
    mapping: ClaimMapping,
    check: Check,
    fetcher: Fetcher,
}

/// The part of the client's `Authorization` header that matters.
enum Presented<'a> {
    /// No bearer token at all.
    None,
    /// A header the gateway cannot read as one bearer token.
    Malformed(&'static str),
    Token(&'a str),
}

fn bearer(headers: &HeaderMap) -> Presented<'_> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(v) = values.next() else {
        return Presented::None;
    };
    if values.next().is_some() {
        return Presented::Malformed("more than one Authorization header");
    }
    let Ok(v) = v.to_str() else {
        return Presented::Malformed("the Authorization header is not visible ASCII");
    };
    let (scheme, rest) = v.split_once(' ').unwrap_or((v, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        // Another scheme (Basic...) carries no bearer token: the plain challenge applies.
        return Presented::None;
    }
    let token = rest.trim_matches(' ');
    // RFC 6750 section 2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
    let body = token.trim_end_matches('=');
    if body.is_empty()
        || !body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
    {
        return Presented::Malformed("the bearer token is not a b64token (RFC 6750 section 2.1)");
    }
    Presented::Token(token)
}

/// `application/x-www-form-urlencoded` of one value.
fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(b as char);
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

impl OAuthGate {
    /// The plan of `api`, published at `public_url`. Fails on settings core refuses (a public
    /// URL that is no resource identifier, a secret variable that is not set).
    pub(crate) fn new(
        api: &ApiConfig,
        cfg: &OAuth2Config,
        public_url: &str,
    ) -> Result<Self, String> {
        let name = &api.name;
        let resource = canonical_resource_uri(public_url)
            .map_err(|e| format!("api {name:?}: public URL {public_url:?}: {e}"))?;
        let metadata_url = protected_resource_metadata_url(&resource)
            .map_err(|e| format!("api {name:?}: public URL {public_url:?}: {e}"))?;
        let mut doc =
            ProtectedResourceMetadata::for_gateway(&resource, cfg.authorization_servers.iter())
                .map_err(|e| format!("api {name:?}: oauth2: {e}"))?
                .with_resource_name(name.as_str());
        if !cfg.scopes_supported.is_empty() {
            doc = doc.with_scopes_supported(cfg.scopes_supported.iter());
        }
        let mut mapping = ClaimMapping::default();
        if let Some(c) = &cfg.user_claim {
            mapping.user_claim.clone_from(c);
        }
        let check = match &cfg.introspection {
            None => Check::Jwt(JwtKeys {
                jwks_uri: cfg.jwks_uri.clone(),
                current: RwLock::new(None),
                fetching: tokio::sync::Mutex::new(None),
                min_refetch: Duration::from_secs(cfg.jwks_min_refetch_s),
                max_age: Duration::from_secs(cfg.jwks_max_age_s.max(1)),
            }),
            Some(i) => {
                let secret = match (&i.client_secret, &i.client_secret_env) {
                    (Some(s), _) => s.clone(),
                    (None, Some(var)) => std::env::var(var).map_err(|_| {
                        format!(
                            "api {name:?}: oauth2.introspection.client_secret_env: the \
                             environment variable {var:?} is not set"
                        )
                    })?,
                    (None, None) => String::new(),
                };
                let pair = format!("{}:{}", form_encode(&i.client_id), form_encode(&secret));
                let basic = format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                );
                Check::Introspection(Introspection {
                    endpoint: i
                        .endpoint
                        .parse()
                        .map_err(|e| format!("api {name:?}: introspection endpoint: {e}"))?,
                    basic: HeaderValue::from_str(&basic).map_err(|_| {
                        format!("api {name:?}: introspection credentials are not header text")
                    })?,
                    validator: IntrospectionValidator::new(&resource)
                        .map_err(|e| format!("api {name:?}: {e}"))?
                        .with_issuers(cfg.authorization_servers.iter().cloned())
                        .with_leeway(cfg.leeway_s)
                        .with_claim_mapping(mapping.clone()),
                    cache: Mutex::new(TokenCache {
                        max: cfg.token_cache_entries,
                        ..TokenCache::default()
                    }),
                })
            }
        };
        Ok(Self {
            api: Arc::from(name.as_str()),
            resource,
            metadata_url,
            metadata: Bytes::from(doc.to_json()),
            issuers: cfg.authorization_servers.clone(),
            required: cfg.required_scopes.clone(),
            leeway: cfg.leeway_s,
            mapping,
            check,
            fetcher: Fetcher::new(api, cfg.ca_file.as_deref())?,
        })
    }

    /// The scopes every request needs.
    pub(crate) fn required_scopes(&self) -> &[String] {
        &self.required
    }

    /// 401 with the challenge that starts the client's authorization.
    fn unauthorized(&self, description: &str) -> Refusal {
        Refusal {
            status: StatusCode::UNAUTHORIZED,
            challenge: Some(
                BearerChallenge::unauthorized(self.metadata_url.as_str())
                    .with_scope(self.required.iter().cloned())
                    .header_value(),
            ),
            error: None,
            description: description.to_owned(),
        }
    }

    fn token_error(&self, e: &TokenError) -> Refusal {
        let mut c = e.challenge(&self.metadata_url);
        if c.scope.is_empty() {
            c = c.with_scope(self.required.iter().cloned());
        }
        Refusal {
            status: StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::UNAUTHORIZED),
            challenge: Some(c.header_value()),
            error: Some(e.error_code()),
            // Core's text says what was wrong and where; it never repeats the token.
            description: e.to_string(),
        }
    }

    fn unavailable(&self, why: &str) -> Refusal {
        log::error(&format!("api {:?}: cannot check tokens: {why}", self.api));
        Refusal {
            status: StatusCode::SERVICE_UNAVAILABLE,
            challenge: None,
            error: Some(BearerErrorCode::Other("temporarily_unavailable".to_owned())),
            description: "The authorization server cannot be reached to check the token; retry \
                          later"
                .to_owned(),
        }
    }

    /// Checks the request's bearer token: the caller's principal, or the answer to refuse with.
    pub(crate) async fn authenticate(&self, headers: &HeaderMap) -> Result<Principal, Refusal> {
        let token = match bearer(headers) {
            Presented::None => return Err(self.unauthorized("A bearer token is required")),
            Presented::Malformed(why) => {
                return Err(Refusal {
                    status: StatusCode::BAD_REQUEST,
                    challenge: Some(
                        BearerChallenge::unauthorized(self.metadata_url.as_str())
                            .with_error(BearerErrorCode::InvalidRequest, Some(why.to_owned()))
                            .header_value(),
                    ),
                    error: Some(BearerErrorCode::InvalidRequest),
                    description: why.to_owned(),
                });
            }
            Presented::Token(t) => t,
        };
        let principal = match &self.check {
            Check::Jwt(keys) => self.check_jwt(keys, token).await?,
            Check::Introspection(i) => self.introspect(i, token).await?,
        };
        let required: Vec<&str> = self.required.iter().map(String::as_str).collect();
        principal
            .require_scopes(&required, ScopeMode::All)
            .map_err(|e| self.token_error(&e))?;
        Ok(principal)
    }

    async fn check_jwt(&self, keys: &JwtKeys, token: &str) -> Result<Principal, Refusal> {
        let fresh = |v: &Option<(Arc<JwtValidator>, Instant)>| {
            v.as_ref()
                .filter(|(_, at)| at.elapsed() < keys.max_age)
                .map(|(v, _)| v.clone())
        };
        let current = match keys.current.read() {
            Ok(g) => fresh(&g),
            Err(p) => fresh(&p.into_inner()),
        };
        let validator = match current {
            Some(v) => v,
            None => self.refresh(keys, None).await?,
        };
        match validator.validate(token, now_s()) {
            Ok(p) => Ok(p),
            Err(TokenError::UnknownKid { .. }) => {
                // The server may have rotated its keys: fetch them again (rate limited), then
                // judge once more.
                let v = self.refresh(keys, Some(&validator)).await?;
                v.validate(token, now_s()).map_err(|e| self.token_error(&e))
            }
            Err(e) => Err(self.token_error(&e)),
        }
    }

    /// Fetches the keys again unless another request just did, or the last attempt is too
    /// recent; returns the validator to use.
    async fn refresh(
        &self,
        keys: &JwtKeys,
        seen: Option<&Arc<JwtValidator>>,
    ) -> Result<Arc<JwtValidator>, Refusal> {
        let mut last = keys.fetching.lock().await;
        let installed = match keys.current.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        };
        if let Some((v, at)) = &installed {
            let newer = seen.is_none_or(|s| !Arc::ptr_eq(s, v));
            if newer && at.elapsed() < keys.max_age {
                return Ok(v.clone());
            }
            if last.is_some_and(|t| t.elapsed() < keys.min_refetch) {
                return Ok(v.clone());
            }
        } else if last.is_some_and(|t| t.elapsed() < keys.min_refetch) {
            return Err(self.unavailable("the last attempt to fetch the signing keys failed"));
        }
        *last = Some(Instant::now());
        match self.fetch_keys(keys).await {
            Ok(jwks) => {
                let v = JwtValidator::new(jwks, self.issuers.iter().cloned(), &self.resource)
                    .map_err(|e| self.unavailable(&e.to_string()))?
                    .with_leeway(self.leeway)
                    .with_claim_mapping(self.mapping.clone());
                let v = Arc::new(v);
                let entry = Some((v.clone(), Instant::now()));
                match keys.current.write() {
                    Ok(mut g) => *g = entry,
                    Err(p) => *p.into_inner() = entry,
                }
                Ok(v)
            }
            // Keys that worked before keep working while the server is away.
            Err(e) => match installed {
                Some((v, _)) => {
                    log::warn(&format!(
                        "api {:?}: cannot refresh the signing keys, keeping the previous ones: {e}",
                        self.api
                    ));
                    Ok(v)
                }
                None => Err(self.unavailable(&e)),
            },
        }
    }

    async fn fetch_keys(&self, keys: &JwtKeys) -> Result<Jwks, String> {
        let uri = match &keys.jwks_uri {
            Some(u) => u.clone(),
            None => self.discover_jwks_uri().await?,
        };
        let doc = self.fetcher.get(&uri).await?;
        let jwks = Jwks::from_json(&doc).map_err(|e| format!("{uri}: {e}"))?;
        for s in jwks.skipped() {
            log::warn(&format!(
                "api {:?}: key {} ({:?}) of {uri} skipped: {}",
                self.api, s.index, s.kid, s.reason
            ));
        }
        log::info(&format!(
            "api {:?}: {} signing keys loaded from {uri}",
            self.api,
            jwks.keys().len()
        ));
        Ok(jwks)
    }

    /// The `jwks_uri` of the first authorization server (RFC 8414, then OpenID discovery).
    async fn discover_jwks_uri(&self) -> Result<String, String> {
        let issuer = self.issuers.first().ok_or("no authorization server")?;
        let urls = authorization_server_metadata_urls(issuer).map_err(|e| e.to_string())?;
        let needs = ServerRequirements {
            jwks_uri: true,
            introspection_endpoint: false,
        };
        let mut errors = Vec::new();
        for url in urls {
            match self.fetcher.get(&url).await {
                Ok(doc) => match validate_authorization_server_metadata(&doc, issuer, needs) {
                    Ok(m) => return m.jwks_uri.ok_or_else(|| format!("{url}: no jwks_uri")),
                    Err(e) => errors.push(format!("{url}: {e}")),
                },
                Err(e) => errors.push(e),
            }
        }
        Err(format!(
            "no usable metadata for issuer {issuer}: {}",
            errors.join("; ")
        ))
    }

    async fn introspect(&self, i: &Introspection, token: &str) -> Result<Principal, Refusal> {
        if let Some(p) = lock(&i.cache).get(token, Instant::now()) {
            return Ok((*p).clone());
        }
        let mut req = http::Request::new(Full::new(Bytes::from(format!(
            "token={}&token_type_hint=access_token",
            form_encode(token)
        ))));
        *req.method_mut() = Method::POST;
        *req.uri_mut() = i.endpoint.clone();
        let h = req.headers_mut();
        h.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        h.insert(AUTHORIZATION, i.basic.clone());
        h.insert(
            http::header::ACCEPT,
            HeaderValue::from_static("application/json"),
        );
        let (status, body) = self
            .fetcher
            .send(req)
            .await
            .map_err(|e| self.unavailable(&e))?;
        if status != StatusCode::OK {
            return Err(self.unavailable(&format!(
                "introspection endpoint {} answered HTTP {status}",
                i.endpoint
            )));
        }
        let text = std::str::from_utf8(&body)
            .map_err(|_| self.unavailable("the introspection answer is not UTF-8"))?;
        let now = now_s();
        let principal = i
            .validator
            .validate(text, now)
            .map_err(|e| self.token_error(&e))?;
        // Remembered until the token expires (a minute when it does not say), so a client's
        // session costs one introspection, not one per request. A revoked token stays usable
        // until then: the trade-off every caching resource server makes.
        let ttl = principal
            .expires_at
            .map_or(60, |exp| exp.saturating_sub(now));
        if ttl > 0 {
            lock(&i.cache).put(
                token,
                Arc::new(principal.clone()),
                Instant::now() + Duration::from_secs(ttl),
            );
        }
        Ok(principal)
    }
}

/// The OAuth of a secured backend, relayed: where its metadata is, learned from its
/// challenges.
#[derive(Debug)]
pub(crate) struct Relay {
    /// The gateway's public URL of the API.
    pub(crate) public_url: String,
    backend_url: String,
    /// The `resource_metadata` of the backend's last challenge.
    learned: Mutex<Option<String>>,
    fetcher: Fetcher,
}

impl Relay {
    /// The relay of `api`, whose backend is at `backend_url`.
    pub(crate) fn new(
        api: &ApiConfig,
        backend_url: &str,
        public_url: &str,
    ) -> Result<Self, String> {
        Ok(Self {
            public_url: public_url.to_owned(),
            backend_url: backend_url.to_owned(),
            learned: Mutex::new(None),
            fetcher: Fetcher::new(api, None)?,
        })
    }

    /// Rewrites the backend's `WWW-Authenticate` so its `resource_metadata` names the
    /// gateway, remembering where the backend's own document is. `None` when the value cannot
    /// be read (it is then dropped rather than passed on pointing past the gateway).
    pub(crate) fn rewrite_challenge(&self, value: &str) -> Option<String> {
        if let Ok(challenges) = parse_www_authenticate(value)
            && let Some(url) = challenges
                .iter()
                .filter(|c| c.is_scheme("Bearer"))
                .find_map(|c| c.param("resource_metadata"))
        {
            *lock(&self.learned) = Some(url.to_owned());
        }
        mcp_policy::oauth::rewrite_upstream_challenge(value, &self.public_url).ok()
    }

    /// The backend's metadata document with `resource` set to the gateway's URL.
    pub(crate) async fn metadata(&self) -> Result<Vec<u8>, String> {
        let learned = lock(&self.learned).clone();
        let mut urls: Vec<String> = learned.into_iter().collect();
        urls.extend(
            protected_resource_metadata_urls(&self.backend_url)
                .map_err(|e| format!("backend URL {}: {e}", self.backend_url))?,
        );
        let mut errors = Vec::new();
        for url in urls {
            match self.fetcher.get(&url).await {
                Ok(doc) => {
                    return rewrite_upstream_metadata(&doc, &self.public_url)
                        .map_err(|e| format!("{url}: {e}"));
                }
                Err(e) => errors.push(e),
            }
        }
        Err(errors.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(AUTHORIZATION, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn bearer_tokens_are_read_strictly() {
        assert!(matches!(bearer(&headers(&[])), Presented::None));
        assert!(matches!(bearer(&headers(&["Basic YTpi"])), Presented::None));
        assert!(matches!(
            bearer(&headers(&["bearer abc.def-_~+/=="])),
            Presented::Token("abc.def-_~+/==")
        ));
        for bad in ["Bearer", "Bearer ", "Bearer a b", "Bearer a,b", "Bearer =="] {
            assert!(
                matches!(bearer(&headers(&[bad])), Presented::Malformed(_)),
                "{bad:?}"
            );
        }
        assert!(matches!(
            bearer(&headers(&["Bearer a", "Bearer b"])),
            Presented::Malformed(_)
        ));
    }

    #[test]
    fn form_encoding() {
        assert_eq!(form_encode("a b&c=d/é"), "a+b%26c%3Dd%2F%C3%A9");
    }

    #[test]
    fn token_cache_is_bounded_and_expires() {
        let p = Arc::new(
            Principal::from_payload(
                r#"{"sub":"a"}"#,
                mcp_policy::oauth::TokenSource::Introspection,
                &ClaimMapping::default(),
            )
            .unwrap(),
        );
        let mut c = TokenCache {
            max: 2,
            ..TokenCache::default()
        };
        let now = Instant::now();
        let later = now + Duration::from_secs(10);
        c.put("t1", p.clone(), later);
        c.put("t2", p.clone(), later);
        c.put("t3", p.clone(), later);
        assert!(c.get("t1", now).is_none(), "the oldest entry went first");
        assert!(c.get("t2", now).is_some() && c.get("t3", now).is_some());
        assert!(c.get("t3", later).is_none(), "expired at its deadline");
        assert_eq!(c.map.len(), 1);
        // Re-inserting and expiring over and over never grows the queue past twice the bound.
        for i in 0..100 {
            c.put("again", p.clone(), now);
            assert!(c.get("again", later).is_none(), "{i}");
        }
        assert!(c.order.len() <= 4, "{}", c.order.len());
    }
}
