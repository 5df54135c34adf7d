//! Errors with what was wrong, where, and what to do; each maps to the JSON-RPC error code and
//! HTTP status a gateway answers with.
//!
//! Every error type of the crate (messages, protocol, policy configuration, expressions, tokens,
//! OAuth documents) has a `code()` in the one [`ErrorCode`] set, whose numbers and names are
//! fixed: the C ABI returns the numbers, Python raises one exception class per code, Node puts
//! the name in `error.code`.

use alloc::string::String;
use core::fmt;

/// The one error code set shared by every error type of the crate and by every binding.
///
/// The numbers are stable (they are the C ABI's result values; 0 is success there) and grouped
/// by hundreds: 1xx reading a message, 2xx the MCP protocol around it, 3xx configuration, 4xx
/// expressions, 5xx access tokens, 6xx OAuth documents, 9xx conditions a host reports.
/// [`ErrorCode::name`] is the stable name (`DUPLICATE_KEY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u32)]
#[non_exhaustive]
pub enum ErrorCode {
    /// [`ErrorKind::TooLarge`].
    TooLarge = 101,
    /// [`ErrorKind::TooDeep`].
    TooDeep = 102,
    /// [`ErrorKind::BatchTooLong`].
    BatchTooLong = 103,
    /// [`ErrorKind::StringTooLong`].
    StringTooLong = 104,
    /// [`ErrorKind::TooManyKeys`].
    TooManyKeys = 105,
    /// [`ErrorKind::InvalidUtf8`].
    InvalidUtf8 = 106,
    /// [`ErrorKind::LoneSurrogate`].
    LoneSurrogate = 107,
    /// [`ErrorKind::Syntax`].
    Syntax = 108,
    /// [`ErrorKind::TrailingData`].
    TrailingData = 109,
    /// [`ErrorKind::DuplicateKey`].
    DuplicateKey = 110,
    /// [`ErrorKind::InvalidRequest`].
    InvalidRequest = 201,
    /// [`ErrorKind::InvalidParams`].
    InvalidParams = 202,
    /// [`ErrorKind::BatchNotAllowed`].
    BatchNotAllowed = 203,
    /// [`ErrorKind::HeaderMismatch`].
    HeaderMismatch = 204,
    /// [`ErrorKind::UnsupportedProtocolVersion`].
    UnsupportedProtocolVersion = 205,
    /// [`ErrorKind::UnsupportedMediaType`].
    UnsupportedMediaType = 206,
    /// [`ErrorKind::DuplicateId`].
    DuplicateId = 207,
    /// [`ErrorKind::TooManyPending`].
    TooManyPending = 208,
    /// [`ErrorKind::InvalidLimits`].
    InvalidLimits = 301,
    /// [`ErrorKind::InvalidContext`].
    InvalidContext = 302,
    /// A policy document that does not compile ([`crate::policy::ConfigErrors`]).
    InvalidPolicy = 303,
    /// A condition template that does not compile ([`crate::expr::ExprError`]).
    InvalidExpression = 401,
    /// A condition that failed while evaluating ([`crate::expr::EvalError`]).
    EvaluationFailed = 402,
    /// An access token that is refused ([`crate::oauth::TokenError`], 401 `invalid_token`).
    InvalidToken = 501,
    /// An access token without the scopes needed ([`crate::oauth::TokenError::InsufficientScope`],
    /// 403).
    InsufficientScope = 502,
    /// A string that is not a usable URL ([`crate::oauth::UrlError`]).
    InvalidUrl = 601,
    /// An unusable metadata document ([`crate::oauth::MetadataError`]).
    InvalidMetadata = 602,
    /// A `WWW-Authenticate` value that does not parse ([`crate::oauth::ChallengeError`]).
    InvalidChallenge = 603,
    /// A JWKS document without usable keys (`oauth::JwksError`, feature `jwt`).
    InvalidJwks = 604,
    /// A token validator that cannot be built (`oauth::JwtConfigError`, feature `jwt`).
    InvalidValidatorConfig = 605,
    /// An upstream challenge or metadata document that cannot be relayed
    /// ([`crate::oauth::RelayError`]).
    RelayFailed = 606,
    /// A host passed an unusable argument (a null pointer, a length that does not fit).
    InvalidArgument = 901,
    /// A caller's buffer is too small for the answer (the needed size is reported with it).
    BufferTooSmall = 902,
    /// A bug: a panic caught at a language boundary. Report it.
    Internal = 999,
}

impl ErrorCode {
    /// Every code, in numeric order.
    pub const ALL: [Self; 34] = [
        Self::TooLarge,
        Self::TooDeep,
        Self::BatchTooLong,
        Self::StringTooLong,
        Self::TooManyKeys,
        Self::InvalidUtf8,
        Self::LoneSurrogate,
        Self::Syntax,
        Self::TrailingData,
        Self::DuplicateKey,
        Self::InvalidRequest,
        Self::InvalidParams,
        Self::BatchNotAllowed,
        Self::HeaderMismatch,
        Self::UnsupportedProtocolVersion,
        Self::UnsupportedMediaType,
        Self::DuplicateId,
        Self::TooManyPending,
        Self::InvalidLimits,
        Self::InvalidContext,
        Self::InvalidPolicy,
        Self::InvalidExpression,
        Self::EvaluationFailed,
        Self::InvalidToken,
        Self::InsufficientScope,
        Self::InvalidUrl,
        Self::InvalidMetadata,
        Self::InvalidChallenge,
        Self::InvalidJwks,
        Self::InvalidValidatorConfig,
        Self::RelayFailed,
        Self::InvalidArgument,
        Self::BufferTooSmall,
        Self::Internal,
    ];

    /// The stable number.
    pub fn code(self) -> u32 {
        self as u32
    }

    /// The stable name, in `SCREAMING_SNAKE_CASE`.
    pub fn name(self) -> &'static str {
        match self {
            Self::TooLarge => "TOO_LARGE",
            Self::TooDeep => "TOO_DEEP",
            Self::BatchTooLong => "BATCH_TOO_LONG",
            Self::StringTooLong => "STRING_TOO_LONG",
            Self::TooManyKeys => "TOO_MANY_KEYS",
            Self::InvalidUtf8 => "INVALID_UTF8",
            Self::LoneSurrogate => "LONE_SURROGATE",
            Self::Syntax => "SYNTAX",
            Self::TrailingData => "TRAILING_DATA",
            Self::DuplicateKey => "DUPLICATE_KEY",
            Self::InvalidRequest => "INVALID_REQUEST",
            Self::InvalidParams => "INVALID_PARAMS",
            Self::BatchNotAllowed => "BATCH_NOT_ALLOWED",
            Self::HeaderMismatch => "HEADER_MISMATCH",
            Self::UnsupportedProtocolVersion => "UNSUPPORTED_PROTOCOL_VERSION",
            Self::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            Self::DuplicateId => "DUPLICATE_ID",
            Self::TooManyPending => "TOO_MANY_PENDING",
            Self::InvalidLimits => "INVALID_LIMITS",
            Self::InvalidContext => "INVALID_CONTEXT",
            Self::InvalidPolicy => "INVALID_POLICY",
            Self::InvalidExpression => "INVALID_EXPRESSION",
            Self::EvaluationFailed => "EVALUATION_FAILED",
            Self::InvalidToken => "INVALID_TOKEN",
            Self::InsufficientScope => "INSUFFICIENT_SCOPE",
            Self::InvalidUrl => "INVALID_URL",
            Self::InvalidMetadata => "INVALID_METADATA",
            Self::InvalidChallenge => "INVALID_CHALLENGE",
            Self::InvalidJwks => "INVALID_JWKS",
            Self::InvalidValidatorConfig => "INVALID_VALIDATOR_CONFIG",
            Self::RelayFailed => "RELAY_FAILED",
            Self::InvalidArgument => "INVALID_ARGUMENT",
            Self::BufferTooSmall => "BUFFER_TOO_SMALL",
            Self::Internal => "INTERNAL",
        }
    }

    /// The code with number `n`, if there is one.
    pub fn from_code(n: u32) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.code() == n)
    }

    /// The code named `name` ([`ErrorCode::name`]), if there is one.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.name() == name)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

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
    /// A context document (ARCHITECTURE.md §3) has a member of the wrong type.
    InvalidContext,
    /// A body whose `Content-Type` or `Content-Encoding` says it is not UTF-8 JSON or a UTF-8
    /// event stream, so the bytes judged would not be the bytes the receiver reads.
    UnsupportedMediaType,
    /// A request whose id is the id of a request still waiting for its answer (as a client
    /// would read it), so an answer could not be told apart.
    DuplicateId,
    /// More requests waiting for their answers in one session than the host allows.
    TooManyPending,
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
            Self::UnsupportedMediaType => -32600,
            Self::DuplicateId => -32600,
            Self::TooManyPending => -32000,
            Self::InvalidLimits | Self::InvalidContext => -32603,
        }
    }

    /// The code of this kind in the crate-wide set.
    pub fn code(self) -> ErrorCode {
        match self {
            Self::TooLarge => ErrorCode::TooLarge,
            Self::TooDeep => ErrorCode::TooDeep,
            Self::BatchTooLong => ErrorCode::BatchTooLong,
            Self::StringTooLong => ErrorCode::StringTooLong,
            Self::TooManyKeys => ErrorCode::TooManyKeys,
            Self::InvalidUtf8 => ErrorCode::InvalidUtf8,
            Self::LoneSurrogate => ErrorCode::LoneSurrogate,
            Self::Syntax => ErrorCode::Syntax,
            Self::TrailingData => ErrorCode::TrailingData,
            Self::DuplicateKey => ErrorCode::DuplicateKey,
            Self::InvalidRequest => ErrorCode::InvalidRequest,
            Self::InvalidParams => ErrorCode::InvalidParams,
            Self::BatchNotAllowed => ErrorCode::BatchNotAllowed,
            Self::HeaderMismatch => ErrorCode::HeaderMismatch,
            Self::UnsupportedProtocolVersion => ErrorCode::UnsupportedProtocolVersion,
            Self::UnsupportedMediaType => ErrorCode::UnsupportedMediaType,
            Self::DuplicateId => ErrorCode::DuplicateId,
            Self::TooManyPending => ErrorCode::TooManyPending,
            Self::InvalidLimits => ErrorCode::InvalidLimits,
            Self::InvalidContext => ErrorCode::InvalidContext,
        }
    }

    /// The HTTP status a gateway answers with when it refuses the message at the transport.
    pub fn http_status(self) -> u16 {
        match self {
            Self::TooLarge => 413,
            Self::UnsupportedMediaType => 415,
            Self::TooManyPending => 429,
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
                "give the context in the ARCHITECTURE.md §3 shape (headers and params map to lists of strings)"
            }
            Self::UnsupportedMediaType => {
                "declare UTF-8 `application/json` (an answer may also be `text/event-stream`) and send it without Content-Encoding"
            }
            Self::DuplicateId => "give each request an id no request still waiting has",
            Self::TooManyPending => "wait for answers before sending more requests",
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

    /// The code in the crate-wide set.
    pub fn code(&self) -> ErrorCode {
        self.0.kind.code()
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
        crate::jsonrpc::error_response(id, self.jsonrpc_code(), &alloc::format!("{self}"), None)
    }
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

impl core::error::Error for Error {}
