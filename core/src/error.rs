//! Errors with what was wrong, where, and what to do; each maps to the JSON-RPC error code and
//! HTTP status a gateway answers with.

use alloc::string::String;
use core::fmt;

/// What went wrong, as a stable category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The body is larger than [`crate::Limits::max_body_bytes`].
    TooLarge,
    /// Arrays/objects nest deeper than [`crate::Limits::max_depth`].
    TooDeep,
    /// A batch holds more messages than [`crate::Limits::max_batch_len`].
    BatchTooLong,
    /// A string is longer than [`crate::Limits::max_string_bytes`].
    StringTooLong,
    /// An object has more keys than [`crate::Limits::max_object_keys`].
    TooManyKeys,
    /// The body is not valid UTF-8.
    InvalidUtf8,
    /// A `\u` escape encodes half of a surrogate pair without the other half.
    LoneSurrogate,
    /// The body is not JSON (bad token, unterminated string, bad number...).
    Syntax,
    /// Something follows the one JSON value of the body.
    TrailingData,
    /// An object names the same key twice, which lets two readers see different values.
    DuplicateKey,
    /// The JSON is valid but is not a JSON-RPC 2.0 message (missing `jsonrpc`, wrong member
    /// types, request and response members mixed...).
    InvalidRequest,
    /// A parameter the method needs is missing or has the wrong type.
    InvalidParams,
    /// A JSON-RPC batch where the protocol revision does not allow one, or an empty batch.
    BatchNotAllowed,
    /// An HTTP header that mirrors the body (`Mcp-Method`, `Mcp-Name`) disagrees with it.
    HeaderMismatch,
    /// The `MCP-Protocol-Version` is not a revision this engine knows.
    UnsupportedProtocolVersion,
    /// A [`crate::Limits`] value is unusable.
    InvalidLimits,
    /// A context document (DESIGN §3) has a member of the wrong type.
    InvalidContext,
}

impl ErrorKind {
    /// The JSON-RPC error code to answer with.
    pub fn jsonrpc_code(self) -> i32 {
        match self {
            Self::TooLarge
            | Self::TooDeep
            | Self::StringTooLong
            | Self::TooManyKeys
            | Self::InvalidUtf8
            | Self::LoneSurrogate
            | Self::Syntax
            | Self::TrailingData => -32700,
            Self::DuplicateKey
            | Self::InvalidRequest
            | Self::BatchNotAllowed
            | Self::BatchTooLong => -32600,
            Self::InvalidParams => -32602,
            Self::HeaderMismatch => -32020,
            Self::UnsupportedProtocolVersion => -32022,
            Self::InvalidLimits | Self::InvalidContext => -32603,
        }
    }

    /// The HTTP status a gateway answers with when it refuses the message at the transport.
    pub fn http_status(self) -> u16 {
        match self {
            Self::TooLarge => 413,
            Self::InvalidLimits | Self::InvalidContext => 500,
            _ => 400,
        }
    }

    /// What the sender can do about it.
    pub fn hint(self) -> &'static str {
        match self {
            Self::TooLarge => "send a smaller body or raise max_body_bytes",
            Self::TooDeep => "flatten the value or raise max_depth",
            Self::BatchTooLong => "send fewer messages per batch or raise max_batch_len",
            Self::StringTooLong => "send a shorter string or raise max_string_bytes",
            Self::TooManyKeys => "send fewer keys or raise max_object_keys",
            Self::InvalidUtf8 => "encode the body as UTF-8",
            Self::LoneSurrogate => "escape characters outside the BMP as a \\uD8xx\\uDCxx pair",
            Self::Syntax => "send exactly one valid JSON value (RFC 8259)",
            Self::TrailingData => "send exactly one JSON value per body",
            Self::DuplicateKey => "send each key once; ambiguous messages are refused",
            Self::InvalidRequest => "send a JSON-RPC 2.0 request, notification or response",
            Self::InvalidParams => "send the parameters this MCP method defines",
            Self::BatchNotAllowed => {
                "send one message per body (batches exist only in MCP 2025-03-26)"
            }
            Self::HeaderMismatch => "make Mcp-Method / Mcp-Name equal the body's method and name",
            Self::UnsupportedProtocolVersion => {
                "use one of 2024-11-05, 2025-03-26, 2025-06-18, 2025-11-25, 2026-07-28"
            }
            Self::InvalidLimits => "fix the limits configuration",
            Self::InvalidContext => {
                "give the context in the DESIGN §3 shape (headers and params map to lists of strings)"
            }
        }
    }
}

/// An error found in a message, a header or a configuration.
///
/// Boxed, so that `Result<T, Error>` stays small on the parsing hot path, where every scanned
/// value travels through a `Result` but errors are rare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(alloc::boxed::Box<Inner>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Inner {
    kind: ErrorKind,
    detail: String,
    offset: Option<usize>,
    path: Option<String>,
}

impl Error {
    /// Creates an error of `kind` with a human-readable detail.
    pub fn new(kind: ErrorKind, detail: impl Into<String>) -> Self {
        Self(alloc::boxed::Box::new(Inner {
            kind,
            detail: detail.into(),
            offset: None,
            path: None,
        }))
    }

    /// Adds the byte offset in the input where the problem was found.
    #[must_use]
    pub fn at_offset(mut self, offset: usize) -> Self {
        self.0.offset = Some(offset);
        self
    }

    /// Adds the JSON path (`params.name`, `[2].method`) of the offending member.
    #[must_use]
    pub fn at_path(mut self, path: impl Into<String>) -> Self {
        self.0.path = Some(path.into());
        self
    }

    /// Prefixes the JSON path, e.g. with the index of a message inside a batch.
    #[must_use]
    pub(crate) fn under(mut self, prefix: &str) -> Self {
        self.0.path = Some(match self.0.path.take() {
            Some(p) if p.starts_with('[') => alloc::format!("{prefix}{p}"),
            Some(p) => alloc::format!("{prefix}.{p}"),
            None => String::from(prefix),
        });
        self
    }

    /// The category.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// What exactly was wrong.
    pub fn detail(&self) -> &str {
        &self.0.detail
    }

    /// Byte offset in the input, when known.
    pub fn offset(&self) -> Option<usize> {
        self.0.offset
    }

    /// JSON path of the offending member, when known.
    pub fn path(&self) -> Option<&str> {
        self.0.path.as_deref()
    }

    /// The JSON-RPC error code to answer with (-32700, -32600, -32602...).
    pub fn jsonrpc_code(&self) -> i32 {
        self.0.kind.jsonrpc_code()
    }

    /// The HTTP status to answer with when refusing at the transport (400, 413...).
    pub fn http_status(&self) -> u16 {
        self.0.kind.http_status()
    }

    /// A complete JSON-RPC error response for this error. `id` is the raw JSON text of the
    /// request id when it could be read (`"7"`, `"\"abc\""`), else `null` is used, as JSON-RPC
    /// requires for unparseable requests.
    pub fn to_jsonrpc_response(&self, id: Option<&str>) -> String {
        let mut out = String::with_capacity(128 + self.0.detail.len());
        out.push_str("{\"jsonrpc\":\"2.0\",\"id\":");
        out.push_str(id.unwrap_or("null"));
        out.push_str(",\"error\":{\"code\":");
        out.push_str(itoa_i32(self.jsonrpc_code()).as_str());
        out.push_str(",\"message\":");
        crate::jsonrpc::write_json_string(&mut out, &alloc::format!("{self}"));
        out.push_str("}}");
        out
    }
}

fn itoa_i32(v: i32) -> String {
    alloc::format!("{v}")
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.detail)?;
        match (&self.0.path, self.0.offset) {
            (Some(p), Some(o)) => write!(f, " (at `{p}`, byte {o})")?,
            (Some(p), None) => write!(f, " (at `{p}`)")?,
            (None, Some(o)) => write!(f, " (at byte {o})")?,
            (None, None) => {}
        }
        write!(f, ": {}", self.0.kind.hint())
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}
