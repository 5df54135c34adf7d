//! Relaying a secured upstream's OAuth discovery through the gateway.
//!
//! A client that connected to `https://gw.example.com/mcp` rejects metadata whose `resource`
//! names the upstream (`http://10.0.0.5:3001/mcp`): RFC 9728 §3.3 and both MCP SDKs require
//! the resource to be the URL they connected to. So the gateway points `resource_metadata`
//! at its own well-known URL and serves the upstream's document with `resource` rewritten;
//! the authorization servers stay the upstream's.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use serde::Deserialize;
use serde_json::Value;

use super::challenge::{
    ChallengeError, MAX_HEADER_LEN, format_www_authenticate, parse_www_authenticate,
};
use super::metadata::{MetadataError, json_error, protected_resource_metadata_url};
use super::url::{HttpUrl, UrlError};

/// Why an upstream's challenge or metadata could not be relayed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RelayError {
    /// The upstream's `WWW-Authenticate` value does not parse.
    Challenge(ChallengeError),
    /// The gateway's public URL is not a usable URL.
    GatewayUrl(UrlError),
    /// The upstream's metadata document is unusable.
    Metadata(MetadataError),
    /// Naming the gateway's metadata in every `Bearer` challenge would make the value longer
    /// than a client reads ([`MAX_HEADER_LEN`]).
    TooLong {
        /// Length of the rewritten value, in bytes.
        bytes: usize,
    },
}

impl fmt::Display for RelayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Challenge(e) => write!(f, "cannot relay the upstream's challenge: {e}"),
            Self::GatewayUrl(e) => {
                write!(
                    f,
                    "the gateway's public MCP URL is unusable: {e}; fix the configuration"
                )
            }
            Self::Metadata(e) => write!(f, "cannot relay the upstream's metadata: {e}"),
            Self::TooLong { bytes } => write!(
                f,
                "cannot relay the upstream's challenge: with the gateway's metadata URL in each \
                 Bearer challenge it would be {bytes} bytes, over the {MAX_HEADER_LEN} a client \
                 reads; the upstream must send fewer challenges"
            ),
        }
    }
}

impl RelayError {
    /// The code in the crate-wide set.
    pub fn code(&self) -> crate::error::ErrorCode {
        crate::error::ErrorCode::RelayFailed
    }
}

impl core::error::Error for RelayError {}

/// Rewrites a secured upstream's `WWW-Authenticate` value for the client: in every `Bearer`
/// challenge, `resource_metadata` becomes the gateway's path-inserted well-known URL (added
/// when the upstream sent none); other parameters and other challenges are kept.
///
/// ```
/// use mcp_policy::oauth::rewrite_upstream_challenge;
/// let up = r#"Bearer realm="example", resource_metadata="http://mcpserver.com/.well-known/oauth-protected-resource""#;
/// assert_eq!(
///     rewrite_upstream_challenge(up, "https://gw.example.com/mcp").unwrap(),
///     r#"Bearer realm="example", resource_metadata="https://gw.example.com/.well-known/oauth-protected-resource/mcp""#
/// );
/// ```
pub fn rewrite_upstream_challenge(
    header_value: &str,
    gateway_public_url: &str,
) -> Result<String, RelayError> {
    let metadata_url =
        protected_resource_metadata_url(gateway_public_url).map_err(RelayError::GatewayUrl)?;
    let mut challenges = parse_www_authenticate(header_value).map_err(RelayError::Challenge)?;
    for c in challenges
        .iter_mut()
        .filter(|c| c.is_scheme("Bearer") && c.token68.is_none())
    {
        c.set_param("resource_metadata", metadata_url.as_str());
    }
    let relayed = format_www_authenticate(&challenges);
    // Each Bearer challenge grows by the URL, so a value within the limit can leave it; a
    // value the client cannot parse must not be relayed (found by the oauth_challenge target).
    if relayed.len() > MAX_HEADER_LEN {
        return Err(RelayError::TooLong {
            bytes: relayed.len(),
        });
    }
    Ok(relayed)
}

/// Only `resource` is read with a typed field, so a repeated `resource` member is an error
/// instead of "last one wins" (which two readers could see differently).
#[derive(Deserialize)]
struct ResourceOnly {
    #[allow(dead_code)]
    resource: Option<Value>,
}

/// Rewrites a secured upstream's protected resource metadata document so that `resource` is
/// the canonical form of the gateway's public URL. Every other member is kept with its
/// value (member order and whitespace may change). The document must be a JSON object;
/// a missing `resource` is added.
pub fn rewrite_upstream_metadata(
    document: &[u8],
    gateway_public_url: &str,
) -> Result<Vec<u8>, RelayError> {
    let resource = HttpUrl::parse(gateway_public_url)
        .map_err(RelayError::GatewayUrl)?
        .canonical();
    let _: ResourceOnly =
        serde_json::from_slice(document).map_err(|e| RelayError::Metadata(json_error(&e)))?;
    let mut value: Value =
        serde_json::from_slice(document).map_err(|e| RelayError::Metadata(json_error(&e)))?;
    let Value::Object(map) = &mut value else {
        return Err(RelayError::Metadata(MetadataError::Json {
            reason: "the document is not a JSON object".to_string(),
        }));
    };
    map.insert("resource".to_string(), Value::String(resource));
    // Serializing a Value cannot fail.
    Ok(serde_json::to_vec(&value).unwrap_or_default())
}
