//! RFC 9728 protected resource metadata: the document, its well-known URLs (both ways), and
//! the checks a client applies to a fetched one.

use alloc::borrow::ToOwned;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::url::{HttpUrl, UrlError};

/// The well-known path segment of RFC 9728 §3.
pub const PROTECTED_RESOURCE_WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// Why a metadata document (protected resource or authorization server) is unusable.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MetadataError {
    /// Not JSON, not an object, a member of the wrong type, or a member given twice.
    Json {
        /// What serde_json said (with line and column).
        reason: String,
    },
    /// A required member is absent or empty.
    MissingField {
        /// The member.
        field: &'static str,
    },
    /// A member that must be a URL is not one.
    InvalidUrl {
        /// The member (`authorization_servers[1]` for list items).
        field: String,
        /// Why.
        error: UrlError,
    },
    /// A URL member uses plain `http` on a host that is not loopback.
    InsecureUrl {
        /// The member.
        field: String,
        /// The URL.
        url: String,
    },
    /// An issuer or resource identifier carries a query or fragment, which RFC 8414 §2 and
    /// RFC 9728 §2 forbid.
    UnexpectedUrlPart {
        /// The member.
        field: String,
        /// `query` or `fragment`.
        part: &'static str,
    },
    /// The document's `resource` is not the resource that was asked for (RFC 9728 §3.3).
    ResourceMismatch {
        /// The document's `resource`.
        advertised: String,
        /// The resource the client is talking to.
        requested: String,
    },
    /// `bearer_methods_supported` is present but lacks `header`, the only method MCP allows.
    HeaderBearerMethodMissing,
    /// The authorization server metadata's `issuer` is not the issuer it was fetched for
    /// (RFC 8414 §3.3).
    IssuerMismatch {
        /// The document's `issuer`.
        found: String,
        /// The issuer the metadata URL was built from.
        expected: String,
    },
    /// `code_challenge_methods_supported` is absent or lacks `S256`; MCP clients must refuse
    /// such authorization servers.
    PkceS256Missing {
        /// What the document lists.
        advertised: Vec<String>,
    },
}

impl fmt::Display for MetadataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Json { reason } => write!(
                f,
                "metadata document is not valid: {reason}; serve a JSON object with each member \
                 once and of the type its RFC gives"
            ),
            Self::MissingField { field } => write!(
                f,
                "metadata member `{field}` is missing or empty; the document must provide it"
            ),
            Self::InvalidUrl { field, error } => {
                write!(f, "metadata member `{field}` is not a usable URL: {error}")
            }
            Self::InsecureUrl { field, url } => write!(
                f,
                "metadata member `{field}` is {url:?}, plain http on a non-loopback host; \
                 use https"
            ),
            Self::UnexpectedUrlPart { field, part } => write!(
                f,
                "metadata member `{field}` has a {part}, which an identifier must not have; \
                 remove it"
            ),
            Self::ResourceMismatch {
                advertised,
                requested,
            } => write!(
                f,
                "metadata member `resource` is {advertised:?} but the client asked for \
                 {requested:?}; a gateway must advertise its own public URL, not the upstream's"
            ),
            Self::HeaderBearerMethodMissing => f.write_str(
                "metadata member `bearer_methods_supported` lacks \"header\"; MCP sends tokens \
                 only in the Authorization header, so list \"header\"",
            ),
            Self::IssuerMismatch { found, expected } => write!(
                f,
                "authorization server metadata member `issuer` is {found:?}, expected exactly \
                 {expected:?}; the document must name the issuer it was fetched for"
            ),
            Self::PkceS256Missing { advertised } => write!(
                f,
                "authorization server metadata member `code_challenge_methods_supported` is \
                 {advertised:?}, which lacks \"S256\"; MCP requires PKCE with S256"
            ),
        }
    }
}

impl MetadataError {
    /// The code in the crate-wide set.
    pub fn code(&self) -> crate::error::ErrorCode {
        crate::error::ErrorCode::InvalidMetadata
    }
}

impl core::error::Error for MetadataError {}

pub(crate) fn json_error(e: &serde_json::Error) -> MetadataError {
    MetadataError::Json {
        reason: e.to_string(),
    }
}

/// Checks that `url` is an `https` (or loopback `http`) URL; identifiers also refuse a query
/// and a fragment.
pub(crate) fn check_url(field: &str, url: &str, identifier: bool) -> Result<(), MetadataError> {
    let parsed = HttpUrl::parse(url).map_err(|error| MetadataError::InvalidUrl {
        field: field.to_owned(),
        error,
    })?;
    if !parsed.is_secure_or_loopback() {
        return Err(MetadataError::InsecureUrl {
            field: field.to_owned(),
            url: url.to_owned(),
        });
    }
    if identifier {
        if parsed.query.is_some() {
            return Err(MetadataError::UnexpectedUrlPart {
                field: field.to_owned(),
                part: "query",
            });
        }
        if parsed.fragment.is_some() {
            return Err(MetadataError::UnexpectedUrlPart {
                field: field.to_owned(),
                part: "fragment",
            });
        }
    }
    Ok(())
}

/// The path-inserted well-known URL of a resource (RFC 9728 §3.1), the one clients try first:
/// `https://gw.example.com/mcp` → `https://gw.example.com/.well-known/oauth-protected-resource/mcp`.
/// A query of the resource stays after the path.
pub fn protected_resource_metadata_url(resource: &str) -> Result<String, UrlError> {
    let u = HttpUrl::parse(resource)?;
    let mut out = u.origin();
    out.push_str(PROTECTED_RESOURCE_WELL_KNOWN);
    out.push_str(u.trimmed_path());
    if let Some(q) = u.query {
        out.push('?');
        out.push_str(q);
    }
    Ok(out)
}

/// The root well-known URL of a resource's origin, the clients' fallback:
/// `https://gw.example.com/.well-known/oauth-protected-resource`.
pub fn protected_resource_metadata_root_url(resource: &str) -> Result<String, UrlError> {
    let u = HttpUrl::parse(resource)?;
    let mut out = u.origin();
    out.push_str(PROTECTED_RESOURCE_WELL_KNOWN);
    Ok(out)
}

/// Gravitee's path-based form, which some clients (Claude Desktop, Cursor) probe:
/// `https://gw.example.com/mcp` → `https://gw.example.com/mcp/.well-known/oauth-protected-resource`.
pub fn protected_resource_metadata_suffix_url(resource: &str) -> Result<String, UrlError> {
    let u = HttpUrl::parse(resource)?;
    let mut out = u.origin();
    out.push_str(u.trimmed_path());
    out.push_str(PROTECTED_RESOURCE_WELL_KNOWN);
    Ok(out)
}

/// The URLs an MCP client tries, in order: path-inserted, then root (one URL when the
/// resource has no path).
pub fn protected_resource_metadata_urls(resource: &str) -> Result<Vec<String>, UrlError> {
    let inserted = protected_resource_metadata_url(resource)?;
    let root = protected_resource_metadata_root_url(resource)?;
    Ok(if inserted == root {
        alloc::vec![root]
    } else {
        alloc::vec![inserted, root]
    })
}

/// Which shape of well-known URL a request used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WellKnownForm {
    /// `/.well-known/oauth-protected-resource`.
    Root,
    /// `/.well-known/oauth-protected-resource/<resource path>` (RFC 9728 §3.1).
    PathInserted,
    /// `<resource path>/.well-known/oauth-protected-resource` (Gravitee's path-based form).
    PathSuffix,
}

/// A request for protected resource metadata, read from its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WellKnownRequest<'a> {
    /// Which URL shape was used.
    pub form: WellKnownForm,
    /// The resource path asked about: `""` for the origin, else starting with `/`
    /// (`"/mcp"`). Compare it with the trimmed path of each protected endpoint.
    pub resource_path: &'a str,
}

/// The inverse of the URL builders: which resource path a request path under a well-known
/// URL asks about, so a gateway can serve every form. Any query string is ignored. Returns
/// `None` for paths that are not metadata requests.
///
/// ```
/// use mcp_policy::oauth::{parse_well_known_request, WellKnownForm};
/// let r = parse_well_known_request("/.well-known/oauth-protected-resource/mcp").unwrap();
/// assert_eq!((r.form, r.resource_path), (WellKnownForm::PathInserted, "/mcp"));
/// let r = parse_well_known_request("/mcp/.well-known/oauth-protected-resource").unwrap();
/// assert_eq!((r.form, r.resource_path), (WellKnownForm::PathSuffix, "/mcp"));
/// ```
pub fn parse_well_known_request(request_path: &str) -> Option<WellKnownRequest<'_>> {
    let path = request_path.split(['?', '#']).next().unwrap_or_default();
    if let Some(rest) = path.strip_prefix(PROTECTED_RESOURCE_WELL_KNOWN) {
        if rest.is_empty() || rest == "/" {
            return Some(WellKnownRequest {
                form: WellKnownForm::Root,
                resource_path: "",
            });
        }
        if rest.starts_with('/') {
            return Some(WellKnownRequest {
                form: WellKnownForm::PathInserted,
                resource_path: rest,
            });
        }
        return None;
    }
    let head = path
        .strip_suffix(PROTECTED_RESOURCE_WELL_KNOWN)
        .or_else(|| path.strip_suffix("/.well-known/oauth-protected-resource/"))?;
    if head.starts_with('/') {
        Some(WellKnownRequest {
            form: WellKnownForm::PathSuffix,
            resource_path: head,
        })
    } else {
        None
    }
}

/// How strictly a client compares a document's `resource` with the URL it connected to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum ResourceMatch {
    /// Same canonical URI (RFC 9728 §3.3).
    #[default]
    Exact,
    /// Same origin and the advertised path is a `/`-aligned prefix of the requested path, as
    /// the TypeScript and Python MCP SDKs accept (`/mcp` covers `/mcp/x`, not `/mcpx`).
    PathPrefix,
}

/// Whether an advertised `resource` covers the `requested` one under `mode`, comparing
/// canonical forms.
pub fn resource_matches(
    advertised: &str,
    requested: &str,
    mode: ResourceMatch,
) -> Result<bool, UrlError> {
    let a = HttpUrl::parse(advertised)?;
    let r = HttpUrl::parse(requested)?;
    Ok(match mode {
        ResourceMatch::Exact => a.canonical() == r.canonical(),
        ResourceMatch::PathPrefix => {
            if a.origin() != r.origin() {
                return Ok(false);
            }
            let with_slash = |p: &str| {
                let mut s = p.to_owned();
                if !s.ends_with('/') {
                    s.push('/');
                }
                s
            };
            with_slash(r.path).starts_with(&with_slash(a.path))
        }
    })
}

/// An RFC 9728 protected resource metadata document. Members the RFC defines are typed;
/// any others are kept in `extra` and written back out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProtectedResourceMetadata {
    /// The resource identifier (required).
    pub resource: String,
    /// Issuer URLs of the authorization servers (required by MCP, at least one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorization_servers: Vec<String>,
    /// URL of the resource's own JWKS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// Scopes used to reach the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes_supported: Option<Vec<String>>,
    /// How tokens may be sent: `["header"]` for MCP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_methods_supported: Option<Vec<String>>,
    /// JWS algorithms the resource signs responses with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_signing_alg_values_supported: Option<Vec<String>>,
    /// Human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<String>,
    /// URL of developer documentation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_documentation: Option<String>,
    /// URL of the data-use policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_policy_uri: Option<String>,
    /// URL of the terms of service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_tos_uri: Option<String>,
    /// Whether tokens are mTLS-bound (RFC 8705).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_client_certificate_bound_access_tokens: Option<bool>,
    /// RAR `authorization_details` types (RFC 9396).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_details_types_supported: Option<Vec<String>>,
    /// DPoP proof algorithms (RFC 9449).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_signing_alg_values_supported: Option<Vec<String>>,
    /// Whether DPoP-bound tokens are required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_bound_access_tokens_required: Option<bool>,
    /// A JWT carrying the metadata, signed by the resource's publisher.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_metadata: Option<String>,
    /// Members this type does not name, kept as received.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ProtectedResourceMetadata {
    /// The document a gateway serves for one protected endpoint: `resource` = the canonical
    /// form of its public URL, the given authorization servers, and
    /// `bearer_methods_supported: ["header"]`. Chain the `with_*` methods for the rest.
    pub fn for_gateway<S: Into<String>>(
        public_url: &str,
        authorization_servers: impl IntoIterator<Item = S>,
    ) -> Result<Self, MetadataError> {
        let resource = HttpUrl::parse(public_url)
            .map_err(|error| MetadataError::InvalidUrl {
                field: "resource".to_owned(),
                error,
            })?
            .canonical();
        let doc = Self {
            resource,
            authorization_servers: authorization_servers.into_iter().map(Into::into).collect(),
            bearer_methods_supported: Some(alloc::vec!["header".to_owned()]),
            ..Self::default()
        };
        doc.check_self()?;
        Ok(doc)
    }

    /// Sets `scopes_supported`.
    pub fn with_scopes_supported<S: Into<String>>(
        mut self,
        scopes: impl IntoIterator<Item = S>,
    ) -> Self {
        self.scopes_supported = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// Sets `resource_name`.
    pub fn with_resource_name(mut self, name: impl Into<String>) -> Self {
        self.resource_name = Some(name.into());
        self
    }

    /// Sets `resource_documentation`.
    pub fn with_resource_documentation(mut self, url: impl Into<String>) -> Self {
        self.resource_documentation = Some(url.into());
        self
    }

    /// Sets `jwks_uri`.
    pub fn with_jwks_uri(mut self, url: impl Into<String>) -> Self {
        self.jwks_uri = Some(url.into());
        self
    }

    /// Reads a document. A member given twice, or of the wrong type, is an error.
    pub fn from_json(bytes: &[u8]) -> Result<Self, MetadataError> {
        serde_json::from_slice(bytes).map_err(|e| json_error(&e))
    }

    /// The JSON text to serve (`Content-Type: application/json`).
    pub fn to_json(&self) -> String {
        // Serializing string-keyed maps, strings, bools and lists cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The checks that do not depend on who asks: `resource` is an https (or loopback) URL
    /// without fragment, there is at least one authorization server and each is an https (or
    /// loopback) issuer URL without query or fragment, `bearer_methods_supported` (if given)
    /// allows `header`, `jwks_uri` (if given) is https.
    pub fn check_self(&self) -> Result<(), MetadataError> {
        if self.resource.is_empty() {
            return Err(MetadataError::MissingField { field: "resource" });
        }
        check_url("resource", &self.resource, false)?;
        if HttpUrl::parse(&self.resource).is_ok_and(|u| u.fragment.is_some()) {
            return Err(MetadataError::UnexpectedUrlPart {
                field: "resource".to_owned(),
                part: "fragment",
            });
        }
        if self.authorization_servers.is_empty() {
            return Err(MetadataError::MissingField {
                field: "authorization_servers",
            });
        }
        for (i, issuer) in self.authorization_servers.iter().enumerate() {
            check_url(&alloc::format!("authorization_servers[{i}]"), issuer, true)?;
        }
        if let Some(methods) = &self.bearer_methods_supported
            && !methods.iter().any(|m| m == "header")
        {
            return Err(MetadataError::HeaderBearerMethodMissing);
        }
        if let Some(jwks) = &self.jwks_uri {
            check_url("jwks_uri", jwks, false)?;
        }
        Ok(())
    }

    /// Validates a fetched document the way an MCP client does: [`Self::check_self`], and
    /// `resource` must match the URL the client connected to (`requested`) under `mode`.
    pub fn validate(&self, requested: &str, mode: ResourceMatch) -> Result<(), MetadataError> {
        self.check_self()?;
        let ok = resource_matches(&self.resource, requested, mode).map_err(|error| {
            MetadataError::InvalidUrl {
                field: "resource".to_owned(),
                error,
            }
        })?;
        if ok {
            Ok(())
        } else {
            Err(MetadataError::ResourceMismatch {
                advertised: self.resource.clone(),
                requested: requested.to_owned(),
            })
        }
    }
}

/// Reads and validates a fetched protected resource metadata document in one step.
pub fn validate_protected_resource_metadata(
    bytes: &[u8],
    requested: &str,
    mode: ResourceMatch,
) -> Result<ProtectedResourceMetadata, MetadataError> {
    let doc = ProtectedResourceMetadata::from_json(bytes)?;
    doc.validate(requested, mode)?;
    Ok(doc)
}
