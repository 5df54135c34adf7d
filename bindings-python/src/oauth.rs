//! The OAuth 2 protected-resource helpers (`mcp_policy.oauth`): challenges, the RFC 9728
//! metadata document, and access-token validation against a JWKS. The host does the I/O
//! (fetching the JWKS, reading the clock); core decides.

use std::str::FromStr;

use mcp_policy::ErrorCode;
use mcp_policy::oauth::{
    self, Algorithm, BearerChallenge, BearerErrorCode, Jwks, JwtValidator as CoreValidator,
    Principal as CorePrincipal, ProtectedResourceMetadata, ResourceMatch, ScopeMode, TokenError,
};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use serde_json::{Map, Value};

use crate::convert::{json_input, to_py};
use crate::errors;

/// A `Bearer` `WWW-Authenticate` header value: `resource_metadata` (RFC 9728), `scopes`,
/// and for a refusal `error` (`"invalid_token"`, `"insufficient_scope"`,
/// `"invalid_request"`) with `description`. Returns `(http_status, header_value)`.
#[pyfunction]
#[pyo3(signature = (resource_metadata, *, scopes=None, error=None, description=None, realm=None))]
pub(crate) fn bearer_challenge(
    resource_metadata: String,
    scopes: Option<Vec<String>>,
    error: Option<String>,
    description: Option<String>,
    realm: Option<String>,
) -> (u16, String) {
    let mut c = BearerChallenge::unauthorized(resource_metadata);
    if let Some(s) = scopes {
        c = c.with_scope(s);
    }
    if let Some(e) = error {
        c = c.with_error(BearerErrorCode::from_wire(&e), description);
    }
    if let Some(r) = realm {
        c = c.with_realm(r);
    }
    (c.http_status(), c.header_value())
}

/// Parses a `WWW-Authenticate` value into its challenges: `[{"scheme", "token68",
/// "params": {name: value}}]`. Raises `InvalidChallengeError`.
#[pyfunction]
pub(crate) fn parse_www_authenticate<'py>(
    py: Python<'py>,
    value: &str,
) -> PyResult<Bound<'py, PyList>> {
    let all = oauth::parse_www_authenticate(value).map_err(|e| errors::coded(e.code(), &e))?;
    let items = all
        .iter()
        .map(|c| {
            let d = PyDict::new(py);
            d.set_item("scheme", &c.scheme)?;
            d.set_item("token68", &c.token68)?;
            let p = PyDict::new(py);
            for (n, v) in &c.params {
                p.set_item(n, v)?;
            }
            d.set_item("params", p)?;
            Ok(d)
        })
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, items)
}

/// The protected resource metadata document (RFC 9728) a gateway serves for its public MCP
/// URL, as a `dict`. Raises `InvalidMetadataError` (a URL that is not https or loopback...).
#[pyfunction]
#[pyo3(signature = (public_url, authorization_servers, *, scopes_supported=None, resource_name=None))]
pub(crate) fn protected_resource_metadata<'py>(
    py: Python<'py>,
    public_url: &str,
    authorization_servers: Vec<String>,
    scopes_supported: Option<Vec<String>>,
    resource_name: Option<String>,
) -> PyResult<Bound<'py, PyAny>> {
    let mut doc = ProtectedResourceMetadata::for_gateway(public_url, authorization_servers)
        .map_err(|e| errors::coded(e.code(), &e))?;
    if let Some(s) = scopes_supported {
        doc = doc.with_scopes_supported(s);
    }
    if let Some(n) = resource_name {
        doc = doc.with_resource_name(n);
    }
    let v: Value = serde_json::from_str(&doc.to_json()).unwrap_or(Value::Null);
    to_py(py, &v)
}

/// The well-known URL of the metadata document of `resource` (RFC 9728 §3.1). Raises
/// `InvalidUrlError`.
#[pyfunction]
pub(crate) fn protected_resource_metadata_url(resource: &str) -> PyResult<String> {
    oauth::protected_resource_metadata_url(resource).map_err(|e| errors::coded(e.code(), &e))
}

/// Validates a fetched metadata document (JSON text or `dict`) the way an MCP client does:
/// its own checks, and `resource` must be the URL the client connected to (`requested`).
/// Returns the document as a `dict`; raises `InvalidMetadataError`.
#[pyfunction]
pub(crate) fn validate_protected_resource_metadata<'py>(
    py: Python<'py>,
    document: &Bound<'py, PyAny>,
    requested: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let bytes = json_input(document, "document")?;
    let doc = oauth::validate_protected_resource_metadata(&bytes, requested, ResourceMatch::Exact)
        .map_err(|e| errors::coded(e.code(), &e))?;
    let v: Value = serde_json::from_str(&doc.to_json()).unwrap_or(Value::Null);
    to_py(py, &v)
}

/// Validates JWT access tokens against a JWKS: signature, `iss` (one of `issuers`), `aud`
/// (the canonical `resource_url`), time claims with `leeway` seconds, and `required_scopes`.
/// Thread-safe. Raises `InvalidJwksError` / `InvalidValidatorConfigError` when it cannot be
/// built.
#[pyclass(frozen, module = "mcp_policy._native")]
#[derive(Debug)]
pub struct JwtValidator {
    inner: CoreValidator,
    resource_metadata: Option<String>,
}

#[pymethods]
impl JwtValidator {
    #[new]
    #[pyo3(signature = (jwks, issuers, resource_url, *, algorithms=None, leeway=60, required_scopes=None, resource_metadata=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        jwks: &Bound<'_, PyAny>,
        issuers: Vec<String>,
        resource_url: &str,
        algorithms: Option<Vec<String>>,
        leeway: u64,
        required_scopes: Option<Vec<String>>,
        resource_metadata: Option<String>,
    ) -> PyResult<Self> {
        let doc = json_input(jwks, "jwks")?;
        let keys = Jwks::from_json(&doc).map_err(|e| errors::coded(e.code(), &e))?;
        let mut v = CoreValidator::new(keys, issuers, resource_url)
            .map_err(|e| errors::coded(e.code(), &e))?
            .with_leeway(leeway);
        if let Some(algs) = algorithms {
            let parsed = algs
                .iter()
                .map(|a| {
                    Algorithm::from_str(a).map_err(|_| {
                        errors::plain(
                            ErrorCode::InvalidValidatorConfig,
                            format!("unknown algorithm {a:?} (RS256, ES256, EdDSA...)"),
                        )
                    })
                })
                .collect::<PyResult<Vec<_>>>()?;
            v = v.with_algorithms(&parsed);
        }
        if let Some(s) = required_scopes {
            v = v.with_required_scopes(s, ScopeMode::All);
        }
        Ok(Self {
            inner: v,
            resource_metadata,
        })
    }

    /// Validates `token` at time `now` (seconds since the epoch; the current time when
    /// `None`). Returns the `Principal`; raises `InvalidTokenError` (401) or
    /// `InsufficientScopeError` (403), whose `answer["error"]` carries `status` and, when the
    /// validator knows its `resource_metadata` URL, the `wwwAuthenticate` challenge to send.
    #[pyo3(signature = (token, now=None))]
    fn validate(&self, py: Python<'_>, token: &str, now: Option<u64>) -> PyResult<Principal> {
        let now = match now {
            Some(n) => n,
            None => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        };
        match py.detach(|| self.inner.validate(token, now)) {
            Ok(p) => Ok(Principal { inner: p }),
            Err(e) => Err(token_error(py, &e, self.resource_metadata.as_deref())),
        }
    }

    /// How many usable keys the JWKS held.
    #[getter]
    fn key_count(&self) -> usize {
        self.inner.jwks().keys().len()
    }
}

fn token_error(py: Python<'_>, e: &TokenError, resource_metadata: Option<&str>) -> PyErr {
    let mut extra = Map::new();
    extra.insert("status".into(), e.http_status().into());
    extra.insert("bearerError".into(), e.error_code().as_str().into());
    if let Some(url) = resource_metadata {
        extra.insert(
            "wwwAuthenticate".into(),
            e.challenge(url).header_value().into(),
        );
    }
    errors::from_answer(
        py,
        &mcp_policy::answer::error(e.code(), &e.to_string(), extra),
    )
}

/// The caller established from a valid token. Frozen.
#[pyclass(frozen, module = "mcp_policy._native")]
#[derive(Debug)]
pub struct Principal {
    inner: CorePrincipal,
}

#[pymethods]
impl Principal {
    /// The user (claim `sub` by default).
    #[getter]
    fn user(&self) -> Option<String> {
        self.inner.user.clone()
    }

    /// Granted scopes, in token order.
    #[getter]
    fn scopes(&self) -> Vec<String> {
        self.inner.scopes.clone()
    }

    /// `client_id`, else `azp`, else the first `aud`.
    #[getter]
    fn client_id(&self) -> Option<String> {
        self.inner.client_id.clone()
    }

    /// `iss`.
    #[getter]
    fn issuer(&self) -> Option<String> {
        self.inner.issuer.clone()
    }

    /// `aud`, as a list.
    #[getter]
    fn audience(&self) -> Vec<String> {
        self.inner.audience.clone()
    }

    /// `exp`, seconds since the epoch.
    #[getter]
    fn expires_at(&self) -> Option<u64> {
        self.inner.expires_at
    }

    /// Every claim.
    #[getter]
    fn claims<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &Value::Object(self.inner.claims.clone()))
    }

    /// The context attributes it sets (`user`, `user.roles`, `jwt.claims`, `oauth.payload`,
    /// `client_id`, `oauth.client_id`): pass them to `Context.from_headers(..., attributes)`.
    #[getter]
    fn attributes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (k, v) in self.inner.attributes() {
            d.set_item(k, to_py(py, &v)?)?;
        }
        Ok(d)
    }

    fn __repr__(&self) -> String {
        format!(
            "Principal(user={:?}, scopes={:?})",
            self.inner.user, self.inner.scopes
        )
    }
}
