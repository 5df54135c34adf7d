//! `gateway.toml`: the listener and the APIs it publishes.
//!
//! Relative paths (policy files, a stdio backend's working directory) are resolved against the
//! directory the gateway was started from, so the same file works from `make demo` and by hand.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GatewayConfig {
    /// Address to listen on; a loopback address unless the operator knows better.
    #[serde(default = "default_listen")]
    pub(crate) listen: SocketAddr,
    /// Path of the Prometheus endpoint; empty disables it.
    #[serde(default = "default_metrics_path")]
    pub(crate) metrics_path: String,
    /// The published APIs.
    #[serde(rename = "api", default)]
    pub(crate) apis: Vec<ApiConfig>,
    /// Session id keys shared by replicas; none: one random key per process.
    #[serde(default)]
    pub(crate) sessions: Option<SessionsConfig>,
}

/// `[sessions]`: how session ids are sealed (see `seal.rs`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SessionsConfig {
    /// Key files (base64 of 32 bytes each, `mcp-policy keygen`): the first seals new ids,
    /// every one opens. Replicas behind one load balancer name the same keys.
    pub(crate) key_files: Vec<PathBuf>,
}

/// One published MCP API: an entrypoint path in front of one backend.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ApiConfig {
    /// Name used in logs and metrics.
    pub(crate) name: String,
    /// Entrypoint path, e.g. `/mcp`.
    pub(crate) path: String,
    /// Where MCP traffic goes.
    pub(crate) backend: BackendConfig,
    /// Who may call: `keyless` (anyone who reaches the listener) or `oauth2` (a bearer token
    /// from one of `oauth2.authorization_servers`, issued for this API).
    #[serde(default)]
    pub(crate) plan: Plan,
    /// The URL clients use to reach this API (`scheme://host[:port]/path`): the OAuth2
    /// resource identifier, the audience tokens must carry, and the base of the metadata
    /// URLs. Default: `http://<listen address><path>`.
    #[serde(default)]
    pub(crate) public_url: Option<String>,
    /// The OAuth2 plan: who issues tokens and how they are checked (with `plan = "oauth2"`).
    #[serde(default)]
    pub(crate) oauth2: Option<OAuth2Config>,
    /// `relay`: the backend is itself an OAuth protected resource. Its 401 challenges and its
    /// metadata are passed on rewritten to name this gateway, and the client's
    /// `Authorization` header goes upstream, since the token is meant for the backend.
    #[serde(default)]
    pub(crate) upstream_oauth: Option<UpstreamOAuth>,
    /// Policy file (Gravitee mcp-acl JSON or ours); none means pass-through.
    #[serde(default)]
    pub(crate) policy: Option<PathBuf>,
    /// Allowed `Origin` values (`scheme://host[:port]`, or `*`); default: loopback origins.
    #[serde(default)]
    pub(crate) allowed_origins: Option<Vec<String>>,
    /// Allowed `Host` values (`host[:port]` or `*`); default: loopback names when the listener
    /// is on loopback, anything otherwise.
    #[serde(default)]
    pub(crate) allowed_hosts: Option<Vec<String>>,
    /// Send the client's `Authorization` header upstream (off: no token passthrough).
    #[serde(default)]
    pub(crate) forward_authorization: bool,
    /// Size limits.
    #[serde(default)]
    pub(crate) limits: LimitsConfig,
    /// Timeouts.
    #[serde(default)]
    pub(crate) timeouts: TimeoutsConfig,
}

/// Who may call an API.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Plan {
    /// Anyone who reaches the listener may call.
    #[default]
    Keyless,
    /// A valid bearer token for this API is needed on every request (MCP authorization spec:
    /// the gateway is the protected resource).
    #[serde(rename = "oauth2")]
    OAuth2,
}

/// What the gateway does with a secured backend's OAuth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum UpstreamOAuth {
    /// Relay the backend's challenges and metadata, rewritten to the gateway's URL.
    Relay,
}

/// The `[api.oauth2]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OAuth2Config {
    /// Issuers trusted for this API, advertised in its protected resource metadata; a token's
    /// `iss` must be one of them.
    pub(crate) authorization_servers: Vec<String>,
    /// Where the signing keys are. Default: the `jwks_uri` of the first server's metadata
    /// (RFC 8414, then OpenID discovery).
    #[serde(default)]
    pub(crate) jwks_uri: Option<String>,
    /// Extra trusted CA certificates (PEM) for `https://` authorization servers, beside the
    /// system's.
    #[serde(default)]
    pub(crate) ca_file: Option<PathBuf>,
    /// Check opaque tokens at this RFC 7662 endpoint instead of as JWTs.
    #[serde(default)]
    pub(crate) introspection: Option<IntrospectionConfig>,
    /// Advertised in the metadata (`scopes_supported`).
    #[serde(default)]
    pub(crate) scopes_supported: Vec<String>,
    /// Every request needs a token with all of them.
    #[serde(default)]
    pub(crate) required_scopes: Vec<String>,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`.
    #[serde(default = "default_leeway")]
    pub(crate) leeway_s: u64,
    /// Claim naming the user (`user` in policy conditions).
    #[serde(default)]
    pub(crate) user_claim: Option<String>,
    /// Most tokens whose introspection result is kept; the oldest go first.
    #[serde(default = "default_token_cache")]
    pub(crate) token_cache_entries: usize,
    /// Shortest time between two fetches of the signing keys caused by an unknown `kid`
    /// (tokens naming random keys must not turn into a flood of fetches).
    #[serde(default = "default_jwks_refetch")]
    pub(crate) jwks_min_refetch_s: u64,
    /// Keys are fetched again after this long even when every `kid` is known (rotation).
    #[serde(default = "default_jwks_max_age")]
    pub(crate) jwks_max_age_s: u64,
}

/// An RFC 7662 introspection endpoint and the gateway's credentials for it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct IntrospectionConfig {
    /// The endpoint (`http://`).
    pub(crate) endpoint: String,
    /// Client id of the gateway at the authorization server (HTTP Basic).
    pub(crate) client_id: String,
    /// Its secret; `client_secret_env` names an environment variable holding it instead.
    #[serde(default)]
    pub(crate) client_secret: Option<String>,
    /// Environment variable holding the secret, so it stays out of the file.
    #[serde(default)]
    pub(crate) client_secret_env: Option<String>,
}

fn default_leeway() -> u64 {
    60
}
fn default_token_cache() -> usize {
    10_000
}
fn default_jwks_refetch() -> u64 {
    10
}
fn default_jwks_max_age() -> u64 {
    3_600
}

/// An HTTP backend or a stdio command; exactly one of `url` and `command`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BackendConfig {
    /// Streamable HTTP endpoint of the MCP server (`http://` only for now).
    #[serde(default)]
    pub(crate) url: Option<String>,
    /// Program and arguments of a stdio MCP server, started once per MCP session.
    #[serde(default)]
    pub(crate) command: Option<Vec<String>>,
    /// Working directory of the stdio server.
    #[serde(default)]
    pub(crate) cwd: Option<PathBuf>,
    /// Extra environment of the stdio server.
    #[serde(default)]
    pub(crate) env: std::collections::BTreeMap<String, String>,
}

/// Which kind of backend an API has, after validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Backend {
    /// Streamable HTTP upstream.
    Http(http::Uri),
    /// A process per session speaking newline-delimited JSON-RPC on stdin/stdout.
    Stdio {
        /// Program then arguments.
        command: Vec<String>,
        /// Working directory.
        cwd: Option<PathBuf>,
        /// Extra environment.
        env: Vec<(String, String)>,
    },
}

/// Byte limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct LimitsConfig {
    /// Largest client POST body accepted.
    pub(crate) max_body_bytes: usize,
    /// Largest JSON (non-SSE) response or single SSE event accepted from the backend.
    pub(crate) max_response_bytes: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 1 << 20,
            max_response_bytes: 16 << 20,
        }
    }
}

/// Timeouts, in milliseconds or seconds as named.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct TimeoutsConfig {
    /// TCP connect to an HTTP backend.
    pub(crate) connect_ms: u64,
    /// Until the backend's response headers, and for a whole JSON response body.
    pub(crate) read_ms: u64,
    /// Longest silence inside an SSE response to a POST; 0 disables it. GET streams have none:
    /// they are idle by nature.
    pub(crate) stream_idle_ms: u64,
    /// A session without any request for this long is ended (its stdio process killed).
    pub(crate) session_idle_s: u64,
    /// Until a client's whole request body has arrived, counted from its headers: a client
    /// trickling its body must not hold a connection and a task forever.
    pub(crate) body_read_ms: u64,
}

impl Default for TimeoutsConfig {
    fn default() -> Self {
        Self {
            connect_ms: 5_000,
            read_ms: 30_000,
            stream_idle_ms: 300_000,
            session_idle_s: 1_800,
            body_read_ms: 30_000,
        }
    }
}

impl TimeoutsConfig {
    pub(crate) fn connect(&self) -> Duration {
        Duration::from_millis(self.connect_ms)
    }
    pub(crate) fn read(&self) -> Duration {
        Duration::from_millis(self.read_ms)
    }
    pub(crate) fn stream_idle(&self) -> Option<Duration> {
        (self.stream_idle_ms > 0).then(|| Duration::from_millis(self.stream_idle_ms))
    }
    pub(crate) fn session_idle(&self) -> Duration {
        Duration::from_secs(self.session_idle_s)
    }
    pub(crate) fn body_read(&self) -> Duration {
        Duration::from_millis(self.body_read_ms)
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

fn default_metrics_path() -> String {
    "/metrics".to_owned()
}

impl ApiConfig {
    /// The validated backend.
    pub(crate) fn backend(&self) -> Result<Backend, String> {
        let b = &self.backend;
        match (&b.url, &b.command) {
            (Some(url), None) => {
                let uri: http::Uri = url
                    .parse()
                    .map_err(|e| format!("api {:?}: backend.url: {e}", self.name))?;
                if uri.scheme_str() != Some("http") || uri.authority().is_none() {
                    return Err(format!(
                        "api {:?}: backend.url must be an absolute http:// URL (https upstreams \
                         are not supported yet), got {url:?}",
                        self.name
                    ));
                }
                Ok(Backend::Http(uri))
            }
            (None, Some(cmd)) => {
                if cmd.is_empty() || cmd[0].is_empty() {
                    return Err(format!("api {:?}: backend.command is empty", self.name));
                }
                Ok(Backend::Stdio {
                    command: cmd.clone(),
                    cwd: b.cwd.clone(),
                    env: b.env.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                })
            }
            _ => Err(format!(
                "api {:?}: backend needs exactly one of `url` and `command`",
                self.name
            )),
        }
    }
}

/// An absolute `https://` (or `http://`) URL of an authorization server endpoint.
fn check_http_url(api: &str, field: &str, url: &str) -> Result<(), String> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e| format!("api {api:?}: {field}: {e} ({url:?})"))?;
    if !matches!(uri.scheme_str(), Some("https" | "http")) || uri.authority().is_none() {
        return Err(format!(
            "api {api:?}: {field} must be an absolute https:// or http:// URL, got {url:?}"
        ));
    }
    Ok(())
}

impl ApiConfig {
    /// The URL clients reach this API at, given the address the gateway listens on.
    pub(crate) fn public_url(&self, listen: SocketAddr) -> String {
        match &self.public_url {
            Some(u) => u.clone(),
            None => format!("http://{listen}{}", self.path),
        }
    }

    /// Whether the client's `Authorization` header goes to the backend: when the operator
    /// asked for it, or when the token is the backend's own (relay).
    pub(crate) fn sends_authorization(&self) -> bool {
        self.forward_authorization || self.upstream_oauth.is_some()
    }

    fn check_oauth(&self) -> Result<(), String> {
        let name = &self.name;
        if let Some(u) = &self.public_url {
            mcp_policy::oauth::canonical_resource_uri(u)
                .map_err(|e| format!("api {name:?}: public_url {u:?}: {e}"))?;
        }
        match (self.plan, &self.oauth2) {
            (Plan::OAuth2, None) => {
                return Err(format!(
                    "api {name:?}: plan \"oauth2\" needs an [api.oauth2] table with at least \
                     `authorization_servers`"
                ));
            }
            (Plan::Keyless, Some(_)) => {
                return Err(format!(
                    "api {name:?}: an [api.oauth2] table is only read with plan = \"oauth2\""
                ));
            }
            _ => {}
        }
        if let Some(o) = &self.oauth2 {
            if o.authorization_servers.is_empty() {
                return Err(format!(
                    "api {name:?}: oauth2.authorization_servers is empty: name the issuer of the \
                     tokens"
                ));
            }
            for s in &o.authorization_servers {
                check_http_url(name, "oauth2.authorization_servers", s)?;
            }
            if let Some(j) = &o.jwks_uri {
                check_http_url(name, "oauth2.jwks_uri", j)?;
            }
            if let Some(i) = &o.introspection {
                check_http_url(name, "oauth2.introspection.endpoint", &i.endpoint)?;
                if i.client_secret.is_some() == i.client_secret_env.is_some() {
                    return Err(format!(
                        "api {name:?}: oauth2.introspection needs exactly one of `client_secret` \
                         and `client_secret_env`"
                    ));
                }
                if o.jwks_uri.is_some() {
                    return Err(format!(
                        "api {name:?}: oauth2 has both `jwks_uri` and `introspection`: tokens are \
                         checked one way, remove one"
                    ));
                }
            }
            if o.token_cache_entries == 0 {
                return Err(format!(
                    "api {name:?}: oauth2.token_cache_entries must be positive"
                ));
            }
        }
        if self.upstream_oauth.is_some() && self.plan == Plan::OAuth2 {
            return Err(format!(
                "api {name:?}: upstream_oauth = \"relay\" passes the client's token to the \
                 backend, which plan \"oauth2\" never does: use plan \"keyless\" with it"
            ));
        }
        if self.upstream_oauth.is_some() && !matches!(self.backend()?, Backend::Http(_)) {
            return Err(format!(
                "api {name:?}: upstream_oauth needs an HTTP backend"
            ));
        }
        Ok(())
    }
}

impl GatewayConfig {
    /// Parses and validates a configuration text.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let cfg: GatewayConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Reads and validates a configuration file.
    pub(crate) fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    fn validate(&self) -> Result<(), String> {
        if self.apis.is_empty() {
            return Err("no [[api]] defined".to_owned());
        }
        let mut names = HashSet::new();
        let mut paths = HashSet::new();
        for api in &self.apis {
            if api.name.is_empty() {
                return Err("an api has an empty name".to_owned());
            }
            if !names.insert(api.name.as_str()) {
                return Err(format!("api name {:?} used twice", api.name));
            }
            if !api.path.starts_with('/') {
                return Err(format!("api {:?}: path must start with '/'", api.name));
            }
            if !paths.insert(api.path.as_str()) || api.path == self.metrics_path {
                return Err(format!(
                    "api {:?}: path {:?} used twice",
                    api.name, api.path
                ));
            }
            api.backend()?;
            if api.limits.max_body_bytes == 0 || api.limits.max_response_bytes == 0 {
                return Err(format!("api {:?}: limits must be positive", api.name));
            }
            api.check_oauth()?;
        }
        Ok(())
    }

    /// The API published at `path`, if any.
    pub(crate) fn api_for_path(&self, path: &str) -> Option<&ApiConfig> {
        let path = if path.len() > 1 {
            path.strip_suffix('/').unwrap_or(path)
        } else {
            path
        };
        self.apis.iter().find(|a| a.path == path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"
listen = "127.0.0.1:9000"

[[api]]
name = "everything"
path = "/mcp"
plan = "keyless"
policy = "examples/policy.json"
allowed_origins = ["http://localhost:6274"]
allowed_hosts = ["*"]
forward_authorization = true
backend = { command = ["node", "server.js", "stdio"], env = { A = "1" } }
limits = { max_body_bytes = 1000 }
timeouts = { connect_ms = 100, session_idle_s = 5 }

[[api]]
name = "remote"
path = "/remote"
backend = { url = "http://127.0.0.1:3001/mcp" }
"#;

    #[test]
    fn sessions_name_key_files() {
        let text = format!("{FULL}\n[sessions]\nkey_files = [\"a.key\", \"b.key\"]\n");
        let cfg = GatewayConfig::parse(&text).unwrap();
        let keys = cfg.sessions.unwrap().key_files;
        assert_eq!(keys, [PathBuf::from("a.key"), PathBuf::from("b.key")]);
        assert!(GatewayConfig::parse(FULL).unwrap().sessions.is_none());
        let typo = format!("{FULL}\n[sessions]\nkey_file = \"a.key\"\n");
        assert!(GatewayConfig::parse(&typo).is_err());
    }

    #[test]
    fn parses_a_full_file() {
        let cfg = GatewayConfig::parse(FULL).unwrap();
        assert_eq!(cfg.listen, "127.0.0.1:9000".parse().unwrap());
        assert_eq!(cfg.metrics_path, "/metrics");
        let a = &cfg.apis[0];
        assert_eq!(a.plan, Plan::Keyless);
        assert_eq!(a.policy.as_deref(), Some(Path::new("examples/policy.json")));
        assert!(a.forward_authorization);
        assert_eq!(a.limits.max_body_bytes, 1000);
        assert_eq!(a.limits.max_response_bytes, 16 << 20);
        assert_eq!(a.timeouts.connect_ms, 100);
        assert_eq!(a.timeouts.read_ms, 30_000);
        assert_eq!(a.timeouts.body_read_ms, 30_000);
        match a.backend().unwrap() {
            Backend::Stdio { command, env, .. } => {
                assert_eq!(command, ["node", "server.js", "stdio"]);
                assert_eq!(env, [("A".to_owned(), "1".to_owned())]);
            }
            other => panic!("{other:?}"),
        }
        let b = &cfg.apis[1];
        assert!(b.policy.is_none() && !b.forward_authorization);
        assert!(b.allowed_origins.is_none());
        assert_eq!(
            b.backend().unwrap(),
            Backend::Http("http://127.0.0.1:3001/mcp".parse().unwrap())
        );
        assert_eq!(cfg.api_for_path("/remote/").unwrap().name, "remote");
        assert!(cfg.api_for_path("/other").is_none());
    }

    #[test]
    fn defaults() {
        let cfg = GatewayConfig::parse(
            "[[api]]\nname='a'\npath='/mcp'\nbackend={url='http://127.0.0.1:1/mcp'}\n",
        )
        .unwrap();
        assert_eq!(cfg.listen, default_listen());
        assert_eq!(
            cfg.apis[0].timeouts.session_idle(),
            Duration::from_secs(1800)
        );
    }

    #[test]
    fn refuses_bad_files() {
        let bad = [
            ("", "no [[api]]"),
            ("[[api]]\nname='a'\npath='/m'\nbackend={}\n", "exactly one"),
            (
                "[[api]]\nname='a'\npath='/m'\nbackend={url='http://x/', command=['a']}\n",
                "exactly one",
            ),
            (
                "[[api]]\nname='a'\npath='/m'\nbackend={url='https://x/'}\n",
                "http://",
            ),
            (
                "[[api]]\nname='a'\npath='m'\nbackend={url='http://x/'}\n",
                "start with",
            ),
            (
                "[[api]]\nname='a'\npath='/m'\nbackend={command=[]}\n",
                "empty",
            ),
            (
                "[[api]]\nname='a'\npath='/m'\nplan='oauth2'\nbackend={url='http://x/'}\n",
                "plan",
            ),
            (
                "[[api]]\nname='a'\npath='/m'\nbogus=1\nbackend={url='http://x/'}\n",
                "bogus",
            ),
            (
                "[[api]]\nname='a'\npath='/m'\nbackend={url='http://x/'}\n\
                 [[api]]\nname='a'\npath='/n'\nbackend={url='http://x/'}\n",
                "twice",
            ),
            (
                "[[api]]\nname='a'\npath='/m'\nbackend={url='http://x/'}\n\
                 [[api]]\nname='b'\npath='/m'\nbackend={url='http://x/'}\n",
                "twice",
            ),
        ];
        for (text, needle) in bad {
            let err = GatewayConfig::parse(text).unwrap_err();
            assert!(err.contains(needle), "{text:?}: {err}");
        }
    }
}
