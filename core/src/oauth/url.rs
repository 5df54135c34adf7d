//! Just enough `http(s)` URL handling for resource identifiers, issuers and well-known URLs.
//!
//! The engine is `no_std` and must not pull a full WHATWG URL parser, so this accepts the
//! RFC 3986 subset that OAuth metadata uses (absolute `http`/`https` URLs, ASCII only, no
//! user-info) and rejects everything else instead of guessing.

use alloc::string::{String, ToString};
use core::fmt;

/// Why a string is not usable as an `http`/`https` URL here.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UrlError {
    /// The string is empty.
    Empty,
    /// A character that URLs do not allow unencoded (space, control, non-ASCII, `"<>\^`{|}`).
    InvalidCharacter {
        /// The offending character.
        found: char,
        /// Byte offset in the input.
        offset: usize,
    },
    /// The string does not start with `http://` or `https://`.
    UnsupportedScheme {
        /// What was found before `://` (or the whole start when there is none).
        scheme: String,
    },
    /// The authority carries `user:password@`, which has no place in an identifier.
    UserInfo,
    /// The authority has no host.
    EmptyHost,
    /// The host is neither a DNS name, an IPv4 address nor a bracketed IPv6 address.
    InvalidHost {
        /// The host as written.
        host: String,
    },
    /// The port is empty, not a number, or above 65535.
    InvalidPort {
        /// The port as written.
        port: String,
    },
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("URL is empty; give an absolute https:// URL"),
            Self::InvalidCharacter { found, offset } => write!(
                f,
                "URL has the character {found:?} at byte {offset}; percent-encode it or remove it"
            ),
            Self::UnsupportedScheme { scheme } => write!(
                f,
                "URL scheme {scheme:?} is not supported; use an absolute https:// (or http:// for \
                 localhost) URL"
            ),
            Self::UserInfo => {
                f.write_str("URL contains user-info (`user@`); remove the credentials from the URL")
            }
            Self::EmptyHost => f.write_str("URL has no host; write scheme://host/path"),
            Self::InvalidHost { host } => write!(
                f,
                "URL host {host:?} is not a DNS name, IPv4 or [IPv6] address; fix the host part"
            ),
            Self::InvalidPort { port } => {
                write!(
                    f,
                    "URL port {port:?} is not a number from 0 to 65535; fix or drop it"
                )
            }
        }
    }
}

impl UrlError {
    /// The code in the crate-wide set.
    pub fn code(&self) -> crate::error::ErrorCode {
        crate::error::ErrorCode::InvalidUrl
    }
}

impl core::error::Error for UrlError {}

/// `http` or `https`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Self::Http => 80,
            Self::Https => 443,
        }
    }
}

/// A parsed absolute URL; the parts borrow the input as written.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HttpUrl<'a> {
    pub(crate) scheme: Scheme,
    pub(crate) host: &'a str,
    pub(crate) port: Option<u16>,
    /// Empty or starting with `/`.
    pub(crate) path: &'a str,
    pub(crate) query: Option<&'a str>,
    pub(crate) fragment: Option<&'a str>,
}

fn is_allowed_url_byte(b: u8) -> bool {
    // RFC 3986 unreserved + reserved + '%'; everything else must arrive percent-encoded.
    b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&b)
}

fn is_host_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~%".contains(&b)
}

impl<'a> HttpUrl<'a> {
    pub(crate) fn parse(input: &'a str) -> Result<Self, UrlError> {
        if input.is_empty() {
            return Err(UrlError::Empty);
        }
        if let Some((offset, found)) = input
            .char_indices()
            .find(|&(_, c)| !c.is_ascii() || !is_allowed_url_byte(c as u8))
        {
            return Err(UrlError::InvalidCharacter { found, offset });
        }
        let Some((scheme, rest)) = input.split_once("://") else {
            let scheme = input.split(':').next().unwrap_or_default();
            return Err(UrlError::UnsupportedScheme {
                scheme: scheme.to_string(),
            });
        };
        let scheme = if scheme.eq_ignore_ascii_case("https") {
            Scheme::Https
        } else if scheme.eq_ignore_ascii_case("http") {
            Scheme::Http
        } else {
            return Err(UrlError::UnsupportedScheme {
                scheme: scheme.to_string(),
            });
        };
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, rest) = rest.split_at(authority_end);
        let (rest, fragment) = match rest.split_once('#') {
            Some((r, f)) => (r, Some(f)),
            None => (rest, None),
        };
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        if authority.contains('@') {
            return Err(UrlError::UserInfo);
        }
        let (host, port) = split_host_port(authority)?;
        Ok(Self {
            scheme,
            host,
            port,
            path,
            query,
            fragment,
        })
    }

    /// Loopback hosts, where plain `http` is tolerated (MCP clients and the conformance mocks
    /// run their authorization servers on `http://localhost`).
    pub(crate) fn is_loopback(&self) -> bool {
        let h = self.host;
        h.eq_ignore_ascii_case("localhost")
            || h == "[::1]"
            || (h.starts_with("127.") && h.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
    }

    /// `https`, or `http` on a loopback host.
    pub(crate) fn is_secure_or_loopback(&self) -> bool {
        self.scheme == Scheme::Https || self.is_loopback()
    }

    /// `scheme://host[:port]`, lowercase, default port dropped.
    pub(crate) fn origin(&self) -> String {
        let mut out = String::with_capacity(self.host.len() + 16);
        out.push_str(self.scheme.as_str());
        out.push_str("://");
        out.extend(self.host.chars().map(|c| c.to_ascii_lowercase()));
        if let Some(port) = self.port
            && port != self.scheme.default_port()
        {
            out.push(':');
            out.push_str(&port.to_string());
        }
        out
    }

    /// The path with a lone `/` removed, as RFC 9728 §3.1 and RFC 8414 §3.1 want before
    /// inserting a well-known segment.
    pub(crate) fn trimmed_path(&self) -> &'a str {
        if self.path == "/" { "" } else { self.path }
    }

    /// Canonical form: lowercase scheme and host, default port dropped, lone `/` path dropped,
    /// fragment dropped, query kept.
    pub(crate) fn canonical(&self) -> String {
        let mut out = self.origin();
        out.push_str(self.trimmed_path());
        if let Some(q) = self.query {
            out.push('?');
            out.push_str(q);
        }
        out
    }
}

fn split_host_port(authority: &str) -> Result<(&str, Option<u16>), UrlError> {
    if authority.is_empty() {
        return Err(UrlError::EmptyHost);
    }
    let (host, port) = if authority.starts_with('[') {
        let Some(close) = authority.find(']') else {
            return Err(UrlError::InvalidHost {
                host: authority.to_string(),
            });
        };
        let (host, after) = authority.split_at(close + 1);
        let inner = host.get(1..close).unwrap_or_default();
        if inner.is_empty()
            || !inner
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return Err(UrlError::InvalidHost {
                host: host.to_string(),
            });
        }
        match after.strip_prefix(':') {
            Some(p) => (host, Some(p)),
            None if after.is_empty() => (host, None),
            None => {
                return Err(UrlError::InvalidHost {
                    host: authority.to_string(),
                });
            }
        }
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(UrlError::EmptyHost);
    }
    // Empty DNS labels (`.example.com`, `a..b`) are not hosts.
    if !host.starts_with('[')
        && (!host.bytes().all(is_host_byte) || host.starts_with('.') || host.contains(".."))
    {
        return Err(UrlError::InvalidHost {
            host: host.to_string(),
        });
    }
    let port = match port {
        None => None,
        Some(p) => {
            if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(UrlError::InvalidPort {
                    port: p.to_string(),
                });
            }
            match p.parse::<u16>() {
                Ok(n) => Some(n),
                Err(_) => {
                    return Err(UrlError::InvalidPort {
                        port: p.to_string(),
                    });
                }
            }
        }
    };
    Ok((host, port))
}

/// The canonical form of an MCP server's resource identifier (MCP authorization §"Canonical
/// Server URI", RFC 8707): lowercase scheme and host, no default port, no fragment, no lone
/// trailing `/`. The path keeps its case and any non-root trailing slash, because servers may
/// route `/mcp` and `/mcp/` differently.
///
/// ```
/// use mcp_policy::oauth::canonical_resource_uri;
/// assert_eq!(
///     canonical_resource_uri("HTTPS://GW.Example.com:443/mcp#x").unwrap(),
///     "https://gw.example.com/mcp"
/// );
/// assert_eq!(canonical_resource_uri("https://gw.example.com/").unwrap(), "https://gw.example.com");
/// ```
pub fn canonical_resource_uri(uri: &str) -> Result<String, UrlError> {
    Ok(HttpUrl::parse(uri)?.canonical())
}
