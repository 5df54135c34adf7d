//! The engine behind each API, and the HTTP facts the gateway hands it.
//!
//! Every decision is the engine's (`mcp_policy::exchange`): this file only turns a request's
//! HTTP facts into the engine's [`RequestFacts`] and [`Context`], and builds the API's
//! [`Guard`] from its policy file (or a grant-everything policy when there is none, so that an
//! API without a policy still never forwards what cannot be read).

use std::sync::Arc;

use mcp_policy::exchange::{Guard, Options, RequestFacts};
use mcp_policy::policy::Engine;
use mcp_policy::{Context, Limits};

use super::config::ApiConfig;

/// What the transport knows about the HTTP request an exchange belongs to.
#[derive(Debug, Clone)]
pub(crate) struct RequestMeta {
    /// HTTP method of the client request.
    pub(crate) http_method: http::Method,
    /// Request target; conditions read its path. Kept as the `Uri` hyper parsed (a reference
    /// count, where the path as a `String` was an allocation per request).
    pub(crate) uri: http::Uri,
    /// Client request headers, as received.
    pub(crate) headers: http::HeaderMap,
    /// IP address of the client connection, as text (formatted once per connection).
    pub(crate) remote_ip: Arc<str>,
    /// Name of the API (from the configuration).
    pub(crate) api: Arc<str>,
    /// What the caller's token says (`user`, `user.roles`, `jwt.claims`, `oauth.payload`,
    /// `client_id`), under the OAuth2 plan.
    pub(crate) token_attributes: Vec<(String, serde_json::Value)>,
    /// Who the token names (issuer and user), which sessions opened with it are bound to.
    pub(crate) owner: Option<Arc<str>>,
}

impl RequestMeta {
    /// The headers the engine reads to judge a client body.
    pub(crate) fn facts(&self) -> RequestFacts<'_> {
        // One walk over the few headers a request has: five lookups by name hashed each name
        // first (`HeaderMap::get_all` with a `&str`), ~1.7 k instructions per request.
        RequestFacts::from_headers(self.headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes())))
    }

    /// What conditions may read about the request: its method, path, client address, API
    /// name, and the headers the engine lets conditions see (never credentials or cookies).
    /// Header values that are not visible ASCII are skipped rather than guessed at.
    pub(crate) fn context(&self) -> Context<'_> {
        Context::builder()
            .method(self.http_method.as_str())
            .path(self.uri.path())
            .remote_address(&*self.remote_ip)
            .attribute("api", &*self.api)
            .headers(
                self.headers
                    .iter()
                    .filter_map(|(n, v)| Some((n.as_str(), v.to_str().ok()?))),
            )
            .attributes_json(self.token_attributes.iter().cloned())
            .build()
    }
}

/// The engine of one API.
#[derive(Debug, Clone)]
pub(crate) struct ApiGuard {
    /// The host protocol over the API's compiled policy.
    pub(crate) guard: Guard,
    /// Whether the API has no policy (logged as `pass-through` instead of `allow`).
    pub(crate) pass_through: bool,
}

impl ApiGuard {
    /// The policy context of a request: built from `meta` when a rule condition can read it,
    /// empty otherwise (building it was ~3 k instructions per exchange, for policies without
    /// conditions read by nothing).
    pub(crate) fn context<'m>(&self, meta: &'m RequestMeta) -> Context<'m> {
        if self.guard.engine().reads_context() {
            meta.context()
        } else {
            Context::default()
        }
    }

    /// The word the exchange log uses for what the engine let through.
    pub(crate) fn allow_label(&self) -> &'static str {
        if self.pass_through {
            "pass-through"
        } else {
            "allow"
        }
    }
}

/// Engine limits for an API: the gateway's body limit, the engine's defaults for the rest.
pub(crate) fn engine_limits(api: &ApiConfig) -> Limits {
    Limits {
        max_body_bytes: api.limits.max_body_bytes.max(api.limits.max_response_bytes),
        ..Limits::default()
    }
}

/// Builds the engine of an API. An unreadable policy file is an error, so a reload with a
/// broken file keeps the previous configuration.
pub(crate) fn build(
    api: &ApiConfig,
    oauth: Option<&super::oauth::OAuthGate>,
) -> Result<ApiGuard, String> {
    let limits = engine_limits(api);
    let (engine, pass_through) = match &api.policy {
        None => {
            super::log::warn(&format!(
                "api {:?}: no policy: pass-through (every tool, resource and prompt is reachable)",
                api.name
            ));
            let engine = Engine::allow_all(&limits)
                .map_err(|e| format!("api {:?}: limits: {e}", api.name))?;
            (engine, true)
        }
        Some(path) => {
            let text = std::fs::read(path)
                .map_err(|e| format!("api {:?}: policy {}: {e}", api.name, path.display()))?;
            let engine = Engine::from_json(&text, &limits)
                .map_err(|e| format!("api {:?}: policy {}: {e}", api.name, path.display()))?;
            super::log::info(&format!(
                "api {:?}: policy {} enforced ({} rules)",
                api.name,
                path.display(),
                engine.rule_count()
            ));
            (engine, false)
        }
    };
    // Under the OAuth2 plan a step-up challenge names the metadata and the plan's own scopes.
    let options = Options {
        resource_metadata_url: oauth.map(|o| o.metadata_url.clone()),
        challenge_scopes: oauth.map_or_else(Vec::new, |o| o.required_scopes().to_vec()),
        ..Options::default()
    };
    Ok(ApiGuard {
        guard: Guard::with_options(Arc::new(engine), options),
        pass_through,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A POST to API `a` at `/mcp` from 127.0.0.1.
    fn post(
        headers: http::HeaderMap,
        token_attributes: Vec<(String, serde_json::Value)>,
    ) -> RequestMeta {
        RequestMeta {
            http_method: http::Method::POST,
            uri: http::Uri::from_static("/mcp"),
            headers,
            remote_ip: Arc::from("127.0.0.1"),
            api: Arc::from("a"),
            token_attributes,
            owner: None,
        }
    }

    #[test]
    fn conditions_never_see_credentials() {
        let mut headers = http::HeaderMap::new();
        for (k, v) in [
            ("authorization", "Bearer secret"),
            ("cookie", "s=1"),
            ("x-api-key", "k"),
            ("x-role", "admin"),
        ] {
            headers.insert(k, v.parse().unwrap());
        }
        let meta = post(headers, vec![("user".into(), "alice".into())]);
        let ctx = meta.context();
        assert_eq!(ctx.request.headers.get_first("x-role"), Some("admin"));
        assert!(
            ctx.attributes.get("user").is_some(),
            "token attributes reach conditions"
        );
        for hidden in ["authorization", "cookie", "x-api-key"] {
            assert!(ctx.request.headers.get_first(hidden).is_none(), "{hidden}");
        }
    }

    #[test]
    fn the_context_is_built_only_for_policies_that_read_it() {
        let dir = std::env::temp_dir().join(format!("mcp-policy-guard-ctx-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let conditioned = dir.join("conditioned.json");
        std::fs::write(
            &conditioned,
            r#"{"authorizations":[{"authorizedFeatures":[{"type":"TOOLS","methods":["TOOLS_CALL"],"patternType":"ANY"}],"condition":"{#request.headers['x-role'][0] == 'admin'}"}]}"#,
        )
        .unwrap();
        let guard = |policy: &std::path::Path| {
            let api = super::super::config::GatewayConfig::parse(&format!(
                "[[api]]\nname = \"a\"\npath = \"/mcp\"\npolicy = {policy:?}\n\
                 backend = {{ url = \"http://127.0.0.1:1/mcp\" }}\n"
            ))
            .unwrap()
            .apis
            .remove(0);
            build(&api, None).unwrap()
        };
        let mut headers = http::HeaderMap::new();
        headers.insert("x-role", "admin".parse().unwrap());
        let meta = post(headers, Vec::new());
        let read = guard(&conditioned);
        assert_eq!(
            read.context(&meta).request.headers.get_first("x-role"),
            Some("admin")
        );
        let examples =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/policy.json");
        let unread = guard(&examples);
        assert!(!unread.guard.engine().reads_context());
        assert!(
            unread
                .context(&meta)
                .request
                .headers
                .get_first("x-role")
                .is_none()
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
