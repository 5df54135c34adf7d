//! OAuth 2 protected-resource side of the MCP authorization spec (ARCHITECTURE.md §5).
//!
//! The host does all I/O: it fetches documents, calls introspection endpoints, reads the
//! clock, and passes bytes and `now` (seconds since the epoch) in. This module decides.
//!
//! - [`challenge`]: build and parse `WWW-Authenticate` (401 with `resource_metadata` and
//!   `scope`, 403 `insufficient_scope` for step-up).
//! - [`metadata`]: the RFC 9728 protected resource metadata document, its well-known URLs in
//!   every form (and the inverse, for serving them), and the canonical resource URI.
//! - [`server_metadata`]: authorization server metadata (RFC 8414 / OIDC discovery) URLs and
//!   validation.
//! - [`token`]: the [`Principal`] a valid token yields, the context attributes it fills
//!   (`user`, `user.roles`, `jwt.claims`, `oauth.payload`, `client_id`, `oauth.client_id`),
//!   scope checks, and [`TokenError`] with the challenge each error maps to.
//! - [`introspection`]: RFC 7662 introspection responses.
//! - `jwt` (feature `jwt`): JWT validation against a JWKS.
//! - [`relay`]: rewriting a secured upstream's challenge and metadata for the gateway.

pub mod challenge;
pub mod introspection;
#[cfg(feature = "jwt")]
pub mod jwt;
pub mod metadata;
pub mod relay;
pub mod server_metadata;
pub mod token;
mod url;

pub use challenge::{
    BearerChallenge, BearerErrorCode, Challenge, ChallengeError, ChallengeErrorKind,
    format_www_authenticate, parse_www_authenticate,
};
pub use introspection::IntrospectionValidator;
#[cfg(feature = "jwt")]
pub use jwt::{Algorithm, Jwk, Jwks, JwksError, JwtConfigError, JwtValidator, KeyKind, SkippedKey};
pub use metadata::{
    MetadataError, PROTECTED_RESOURCE_WELL_KNOWN, ProtectedResourceMetadata, ResourceMatch,
    WellKnownForm, WellKnownRequest, parse_well_known_request,
    protected_resource_metadata_root_url, protected_resource_metadata_suffix_url,
    protected_resource_metadata_url, protected_resource_metadata_urls, resource_matches,
    validate_protected_resource_metadata,
};
pub use relay::{RelayError, rewrite_upstream_challenge, rewrite_upstream_metadata};
pub use server_metadata::{
    AuthorizationServerMetadata, ServerRequirements, authorization_server_metadata_urls,
    validate_authorization_server_metadata,
};
pub use token::{ClaimMapping, Principal, ScopeMode, TokenError, TokenPart, TokenSource};
pub use url::{UrlError, canonical_resource_uri};
