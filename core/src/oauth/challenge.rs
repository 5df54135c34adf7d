//! `WWW-Authenticate` challenges: the generic RFC 9110 §11.6.1 grammar and the `Bearer`
//! parameters of RFC 6750 §3 and RFC 9728 §5.1.
//!
//! ```
//! use mcp_policy::oauth::BearerChallenge;
//!
//! let c = BearerChallenge::unauthorized("https://gw.example.com/.well-known/oauth-protected-resource/mcp")
//!     .with_scope(["files:read"]);
//! assert_eq!(
//!     c.to_string(),
//!     r#"Bearer resource_metadata="https://gw.example.com/.well-known/oauth-protected-resource/mcp", scope="files:read""#
//! );
//! assert_eq!(BearerChallenge::parse(&c.to_string()).unwrap(), c);
//! ```

use alloc::borrow::ToOwned;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt::{self, Write as _};

/// Headers longer than this are refused before parsing; real challenges are a few hundred
/// bytes, and a cap keeps the work per header bounded no matter what an upstream sends.
pub const MAX_HEADER_LEN: usize = 16 * 1024;

/// One challenge of a `WWW-Authenticate` header, whatever its scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The auth-scheme as written (`Bearer`, `Basic`...); compare it with
    /// [`Challenge::is_scheme`], schemes are case-insensitive.
    pub scheme: String,
    /// The token68 form (`Negotiate abc==`), when the challenge carries one instead of params.
    pub token68: Option<String>,
    /// The auth-params in header order: names lowercased (they are case-insensitive), values
    /// unquoted and unescaped.
    pub params: Vec<(String, String)>,
}

impl Challenge {
    /// Whether this challenge uses `scheme` (case-insensitive).
    pub fn is_scheme(&self, scheme: &str) -> bool {
        self.scheme.eq_ignore_ascii_case(scheme)
    }

    /// The value of a parameter, by case-insensitive name.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Sets a parameter, replacing an existing one of the same name in place (so the header
    /// keeps its order) or appending it.
    pub fn set_param(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        match self
            .params
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(slot) => slot.1 = value,
            None => self.params.push((name.to_ascii_lowercase(), value)),
        }
    }
}

/// Writes the challenge. Parameter values are always quoted-strings; characters that cannot
/// travel in an HTTP header (controls such as CR/LF) become spaces, and scheme or parameter
/// names that are not RFC 9110 tokens lose their invalid characters, so no input can inject
/// a header line.
impl fmt::Display for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_token(f, &self.scheme)?;
        if let Some(t) = &self.token68 {
            f.write_char(' ')?;
            for c in t
                .chars()
                .filter(|&c| c.is_ascii() && is_token68_byte(c as u8))
            {
                f.write_char(c)?;
            }
            return Ok(());
        }
        let mut first = true;
        for (name, value) in &self.params {
            if !name.bytes().any(is_tchar) {
                continue;
            }
            f.write_str(if first { " " } else { ", " })?;
            first = false;
            write_token(f, name)?;
            f.write_str("=\"")?;
            for c in value.chars() {
                match c {
                    '"' | '\\' => {
                        f.write_char('\\')?;
                        f.write_char(c)?;
                    }
                    '\t' => f.write_char('\t')?,
                    c if c.is_control() => f.write_char(' ')?,
                    c => f.write_char(c)?,
                }
            }
            f.write_char('"')?;
        }
        Ok(())
    }
}

fn write_token(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    for b in s.bytes().filter(|&b| is_tchar(b)) {
        f.write_char(char::from(b))?;
    }
    Ok(())
}

/// Formats several challenges as one header value, comma-separated.
pub fn format_www_authenticate(challenges: &[Challenge]) -> String {
    let mut out = String::new();
    for (i, c) in challenges.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        // Writing to a String cannot fail.
        let _ = write!(out, "{c}");
    }
    out
}

/// Why a `WWW-Authenticate` value was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeError {
    /// What was wrong.
    pub kind: ChallengeErrorKind,
    /// Byte offset in the header value where it was noticed.
    pub offset: usize,
}

/// The kinds of [`ChallengeError`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChallengeErrorKind {
    /// The value is empty or only separators.
    Empty,
    /// The value is longer than [`MAX_HEADER_LEN`].
    TooLong,
    /// A challenge must start with an auth-scheme token.
    ExpectedScheme,
    /// Something other than a space followed the scheme.
    ExpectedSpace,
    /// A word that is neither `name=value` nor a valid token68.
    InvalidToken68,
    /// `name=` is not followed by a token or a quoted-string.
    ExpectedValue {
        /// The parameter whose value is missing.
        param: String,
    },
    /// A quoted-string is not closed.
    UnterminatedQuotedString,
    /// A character that the grammar does not allow here (controls, or a stray character).
    InvalidCharacter {
        /// The character.
        found: char,
    },
    /// After a parameter, something other than `,` or the end.
    ExpectedComma,
    /// The same parameter appears twice in one challenge (names are case-insensitive).
    DuplicateParameter {
        /// The repeated name, lowercased.
        name: String,
    },
    /// No `Bearer` challenge in the header.
    NoBearerChallenge,
    /// More than one `Bearer` challenge, so it is ambiguous which one applies.
    MultipleBearerChallenges,
    /// A `Bearer` challenge in token68 form; RFC 6750 only defines auth-params.
    Token68NotAllowed,
}

impl fmt::Display for ChallengeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid WWW-Authenticate value: ")?;
        match &self.kind {
            ChallengeErrorKind::Empty => f.write_str("it is empty; send at least one challenge"),
            ChallengeErrorKind::TooLong => {
                write!(f, "it is longer than {MAX_HEADER_LEN} bytes; shorten it")
            }
            ChallengeErrorKind::ExpectedScheme => {
                write!(
                    f,
                    "expected an auth-scheme token (e.g. Bearer) at byte {}",
                    self.offset
                )
            }
            ChallengeErrorKind::ExpectedSpace => write!(
                f,
                "expected a space between the scheme and its parameters at byte {}",
                self.offset
            ),
            ChallengeErrorKind::InvalidToken68 => write!(
                f,
                "expected `name=value` or a token68 at byte {}; quote values that contain \
                 separators",
                self.offset
            ),
            ChallengeErrorKind::ExpectedValue { param } => write!(
                f,
                "parameter `{param}` has no value at byte {}; write {param}=\"...\"",
                self.offset
            ),
            ChallengeErrorKind::UnterminatedQuotedString => write!(
                f,
                "quoted-string starting at byte {} is not closed; add the closing `\"`",
                self.offset
            ),
            ChallengeErrorKind::InvalidCharacter { found } => write!(
                f,
                "character {found:?} is not allowed at byte {}; quote or remove it",
                self.offset
            ),
            ChallengeErrorKind::ExpectedComma => write!(
                f,
                "expected `,` between parameters at byte {}; separate parameters with commas",
                self.offset
            ),
            ChallengeErrorKind::DuplicateParameter { name } => write!(
                f,
                "parameter `{name}` appears twice in one challenge (byte {}); send it once",
                self.offset
            ),
            ChallengeErrorKind::NoBearerChallenge => {
                f.write_str("there is no Bearer challenge; the server does not offer OAuth")
            }
            ChallengeErrorKind::MultipleBearerChallenges => write!(
                f,
                "a second Bearer challenge starts at byte {}; send one Bearer challenge",
                self.offset
            ),
            ChallengeErrorKind::Token68NotAllowed => write!(
                f,
                "the Bearer challenge at byte {} uses token68 form; RFC 6750 needs auth-params",
                self.offset
            ),
        }
    }
}

impl ChallengeError {
    /// The code in the crate-wide set.
    pub fn code(&self) -> crate::error::ErrorCode {
        crate::error::ErrorCode::InvalidChallenge
    }
}

impl core::error::Error for ChallengeError {}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_token68_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b)
}

struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    fn err(&self, kind: ChallengeErrorKind) -> ChallengeError {
        ChallengeError {
            kind,
            offset: self.pos,
        }
    }

    fn bad_char(&self) -> ChallengeError {
        let found = self
            .s
            .get(self.pos..)
            .and_then(|r| r.chars().next())
            .unwrap_or('\0');
        self.err(ChallengeErrorKind::InvalidCharacter { found })
    }

    /// Skips optional whitespace (SP / HTAB); returns how many bytes it skipped.
    fn skip_ows(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn take_while(&mut self, pred: impl Fn(u8) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(&pred) {
            self.pos += 1;
        }
        // Only ASCII bytes were consumed, so both ends are char boundaries.
        self.s.get(start..self.pos).unwrap_or_default()
    }

    fn at_end_or_comma(&self) -> bool {
        matches!(self.peek(), None | Some(b','))
    }

    fn quoted_string(&mut self) -> Result<String, ChallengeError> {
        let start = self.pos;
        self.pos += 1; // opening quote
        let mut out = String::new();
        let rest = self.s.get(self.pos..).unwrap_or_default();
        let mut chars = rest.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.pos += i + 1;
                    return Ok(out);
                }
                '\\' => match chars.next() {
                    Some((_, e)) if e == '\t' || !e.is_control() => out.push(e),
                    Some((j, e)) => {
                        self.pos += j;
                        return Err(self.err(ChallengeErrorKind::InvalidCharacter { found: e }));
                    }
                    None => break,
                },
                c if c != '\t' && c.is_control() => {
                    self.pos += i;
                    return Err(self.err(ChallengeErrorKind::InvalidCharacter { found: c }));
                }
                c => out.push(c),
            }
        }
        Err(ChallengeError {
            kind: ChallengeErrorKind::UnterminatedQuotedString,
            offset: start,
        })
    }

    fn param_value(&mut self, name: &str) -> Result<String, ChallengeError> {
        match self.peek() {
            Some(b'"') => self.quoted_string(),
            _ => {
                let v = self.take_while(is_tchar);
                if v.is_empty() {
                    Err(self.err(ChallengeErrorKind::ExpectedValue {
                        param: name.to_owned(),
                    }))
                } else {
                    Ok(v.to_owned())
                }
            }
        }
    }

    fn push_param(
        &self,
        params: &mut Vec<(String, String)>,
        name: &str,
        name_at: usize,
        value: String,
    ) -> Result<(), ChallengeError> {
        if params.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            return Err(ChallengeError {
                kind: ChallengeErrorKind::DuplicateParameter {
                    name: name.to_ascii_lowercase(),
                },
                offset: name_at,
            });
        }
        params.push((name.to_ascii_lowercase(), value));
        Ok(())
    }

    /// Parses what follows `scheme 1*SP`: a token68, or the first auth-param and then every
    /// further `, name=value` until the next challenge begins.
    fn challenge_body(&mut self, c: &mut Challenge) -> Result<(), ChallengeError> {
        let word_at = self.pos;
        let word = self.take_while(|b| is_tchar(b) || b == b'/');
        if word.is_empty() {
            return Err(self.bad_char());
        }
        let after_word = self.pos;
        let gap = self.skip_ows();
        if self.peek() == Some(b'=') {
            // `abc=` / `abc==` at the end of a challenge is token68 padding, not a parameter
            // with an empty value (which the grammar does not allow anyway).
            if gap == 0 {
                let pad_start = self.pos;
                let pad = self.take_while(|b| b == b'=');
                self.skip_ows();
                if self.at_end_or_comma() {
                    if !word.bytes().all(is_token68_byte) {
                        return Err(ChallengeError {
                            kind: ChallengeErrorKind::InvalidToken68,
                            offset: word_at,
                        });
                    }
                    let mut t = word.to_owned();
                    t.push_str(pad);
                    c.token68 = Some(t);
                    return Ok(());
                }
                self.pos = pad_start;
            }
            if !word.bytes().all(is_tchar) {
                return Err(ChallengeError {
                    kind: ChallengeErrorKind::InvalidCharacter { found: '/' },
                    offset: word_at + word.find('/').unwrap_or(0),
                });
            }
            self.pos += 1;
            self.skip_ows();
            let value = self.param_value(word)?;
            self.push_param(&mut c.params, word, word_at, value)?;
            self.more_params(c)
        } else {
            self.pos = after_word;
            if !word.bytes().all(is_token68_byte) {
                return Err(ChallengeError {
                    kind: ChallengeErrorKind::InvalidToken68,
                    offset: word_at,
                });
            }
            self.skip_ows();
            if !self.at_end_or_comma() {
                return Err(self.err(ChallengeErrorKind::ExpectedComma));
            }
            c.token68 = Some(word.to_owned());
            Ok(())
        }
    }

    fn more_params(&mut self, c: &mut Challenge) -> Result<(), ChallengeError> {
        loop {
            self.skip_ows();
            match self.peek() {
                None => return Ok(()),
                Some(b',') => {}
                Some(_) => return Err(self.err(ChallengeErrorKind::ExpectedComma)),
            }
            let before_comma = self.pos;
            while self.peek() == Some(b',') {
                self.pos += 1;
                self.skip_ows();
            }
            if self.peek().is_none() {
                return Ok(());
            }
            let name_at = self.pos;
            let name = self.take_while(is_tchar);
            self.skip_ows();
            if name.is_empty() || self.peek() != Some(b'=') {
                // Not `name=`: the next challenge starts here; let the caller read it.
                self.pos = before_comma;
                return Ok(());
            }
            self.pos += 1;
            self.skip_ows();
            let value = self.param_value(name)?;
            self.push_param(&mut c.params, name, name_at, value)?;
        }
    }
}

/// Parses a `WWW-Authenticate` header value into its challenges (RFC 9110 §11.6.1):
/// schemes and parameter names are case-insensitive, parameters come in any order with
/// optional whitespace around `=` and `,`, values are tokens or quoted-strings with `\`
/// escapes, and one value may hold several challenges
/// (`Basic realm="x", Bearer resource_metadata="..."`). A parameter repeated within one
/// challenge is an error rather than a guess at which copy counts.
pub fn parse_www_authenticate(value: &str) -> Result<Vec<Challenge>, ChallengeError> {
    Ok(parse_located(value)?.into_iter().map(|(_, c)| c).collect())
}

/// Like [`parse_www_authenticate`], with the byte offset where each challenge starts.
fn parse_located(value: &str) -> Result<Vec<(usize, Challenge)>, ChallengeError> {
    if value.len() > MAX_HEADER_LEN {
        return Err(ChallengeError {
            kind: ChallengeErrorKind::TooLong,
            offset: MAX_HEADER_LEN,
        });
    }
    let mut cur = Cursor { s: value, pos: 0 };
    let mut out = Vec::new();
    loop {
        cur.skip_ows();
        while cur.peek() == Some(b',') {
            cur.pos += 1;
            cur.skip_ows();
        }
        if cur.peek().is_none() {
            break;
        }
        let start = cur.pos;
        let scheme = cur.take_while(is_tchar);
        if scheme.is_empty() {
            return Err(if cur.peek().is_some_and(|b| b.is_ascii_graphic()) {
                cur.err(ChallengeErrorKind::ExpectedScheme)
            } else {
                cur.bad_char()
            });
        }
        let mut c = Challenge {
            scheme: scheme.to_owned(),
            token68: None,
            params: Vec::new(),
        };
        let gap = cur.skip_ows();
        if !cur.at_end_or_comma() {
            if gap == 0 {
                return Err(cur.err(ChallengeErrorKind::ExpectedSpace));
            }
            cur.challenge_body(&mut c)?;
        }
        out.push((start, c));
    }
    if out.is_empty() {
        return Err(ChallengeError {
            kind: ChallengeErrorKind::Empty,
            offset: 0,
        });
    }
    Ok(out)
}

/// The `error` codes of RFC 6750 §3.1.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BearerErrorCode {
    /// `invalid_request`: malformed request (HTTP 400).
    InvalidRequest,
    /// `invalid_token`: expired, revoked, malformed or otherwise invalid token (HTTP 401).
    InvalidToken,
    /// `insufficient_scope`: the token lacks scopes the request needs (HTTP 403).
    InsufficientScope,
    /// Any other code, kept as written.
    Other(String),
}

impl BearerErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::Other(s) => s,
        }
    }

    /// Reads a wire code; unknown codes become [`BearerErrorCode::Other`].
    pub fn from_wire(code: &str) -> Self {
        match code {
            "invalid_request" => Self::InvalidRequest,
            "invalid_token" => Self::InvalidToken,
            "insufficient_scope" => Self::InsufficientScope,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The HTTP status RFC 6750 §3.1 pairs with the code (401 for unknown codes).
    pub fn http_status(&self) -> u16 {
        match self {
            Self::InvalidRequest => 400,
            Self::InsufficientScope => 403,
            Self::InvalidToken | Self::Other(_) => 401,
        }
    }
}

impl fmt::Display for BearerErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `Bearer` challenge with its RFC 6750 and RFC 9728 parameters.
///
/// `parse(build(x)) == x` for any challenge whose scope tokens are non-empty and contain no
/// spaces and whose values contain no control characters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BearerChallenge {
    /// `realm` (Gravitee sends `realm="gravitee.io"` on its own rejections).
    pub realm: Option<String>,
    /// `resource_metadata`: URL of the protected resource metadata (RFC 9728 §5.1).
    pub resource_metadata: Option<String>,
    /// `scope`, split on spaces; empty means the parameter is absent.
    pub scope: Vec<String>,
    /// `error`.
    pub error: Option<BearerErrorCode>,
    /// `error_description`: human-readable, for developers.
    pub error_description: Option<String>,
    /// `error_uri`.
    pub error_uri: Option<String>,
    /// Other parameters in header order, names lowercased.
    pub extra: Vec<(String, String)>,
}

const KNOWN_PARAMS: [&str; 6] = [
    "realm",
    "resource_metadata",
    "scope",
    "error",
    "error_description",
    "error_uri",
];

impl BearerChallenge {
    /// The 401 answer to a request without a token: `resource_metadata` only, no `error`
    /// (RFC 6750 §3.1: no error code when the client sent no credentials). Add the scopes the
    /// operation needs with [`BearerChallenge::with_scope`].
    pub fn unauthorized(resource_metadata: impl Into<String>) -> Self {
        Self {
            resource_metadata: Some(resource_metadata.into()),
            ..Self::default()
        }
    }

    /// The 401 answer to a bad token: `error="invalid_token"` with a description.
    pub fn invalid_token(
        resource_metadata: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        Self {
            resource_metadata: Some(resource_metadata.into()),
            error: Some(BearerErrorCode::InvalidToken),
            error_description: Some(description.into()),
            ..Self::default()
        }
    }

    /// The 403 step-up answer: `error="insufficient_scope"` and `scope` = every scope the
    /// operation needs (MCP authorization: all of them in one challenge, not only the missing
    /// ones, so the client re-authorizes once).
    pub fn insufficient_scope<S: Into<String>>(
        resource_metadata: impl Into<String>,
        needed_scopes: impl IntoIterator<Item = S>,
        description: Option<String>,
    ) -> Self {
        Self {
            resource_metadata: Some(resource_metadata.into()),
            scope: needed_scopes.into_iter().map(Into::into).collect(),
            error: Some(BearerErrorCode::InsufficientScope),
            error_description: description,
            ..Self::default()
        }
    }

    /// Replaces `scope`.
    pub fn with_scope<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.scope = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Sets `realm`.
    pub fn with_realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Some(realm.into());
        self
    }

    /// Sets `error` and `error_description`.
    pub fn with_error(mut self, code: BearerErrorCode, description: Option<String>) -> Self {
        self.error = Some(code);
        self.error_description = description;
        self
    }

    /// The HTTP status to send with this challenge: 403 for `insufficient_scope`, 400 for
    /// `invalid_request`, otherwise 401.
    pub fn http_status(&self) -> u16 {
        self.error
            .as_ref()
            .map_or(401, BearerErrorCode::http_status)
    }

    /// The generic form, parameters in a fixed order: `realm`, `resource_metadata`, `scope`,
    /// `error`, `error_description`, `error_uri`, then the extras.
    pub fn to_challenge(&self) -> Challenge {
        let mut params = Vec::new();
        let mut put = |name: &str, v: Option<&str>| {
            if let Some(v) = v {
                params.push((name.to_owned(), v.to_owned()));
            }
        };
        put("realm", self.realm.as_deref());
        put("resource_metadata", self.resource_metadata.as_deref());
        let scope = self.scope.join(" ");
        put("scope", (!self.scope.is_empty()).then_some(scope.as_str()));
        put("error", self.error.as_ref().map(BearerErrorCode::as_str));
        put("error_description", self.error_description.as_deref());
        put("error_uri", self.error_uri.as_deref());
        for (n, v) in &self.extra {
            // A known name in `extra` would make the header carry it twice.
            if !KNOWN_PARAMS.iter().any(|k| k.eq_ignore_ascii_case(n))
                && !params.iter().any(|(p, _)| p.eq_ignore_ascii_case(n))
            {
                params.push((n.to_ascii_lowercase(), v.clone()));
            }
        }
        Challenge {
            scheme: "Bearer".to_owned(),
            token68: None,
            params,
        }
    }

    /// Reads the parameters of a `Bearer` challenge (the scheme itself is not checked).
    pub fn from_challenge(c: &Challenge) -> Result<Self, ChallengeError> {
        if c.token68.is_some() {
            return Err(ChallengeError {
                kind: ChallengeErrorKind::Token68NotAllowed,
                offset: 0,
            });
        }
        let mut out = Self::default();
        for (name, value) in &c.params {
            match name.to_ascii_lowercase().as_str() {
                "realm" => out.realm = Some(value.clone()),
                "resource_metadata" => out.resource_metadata = Some(value.clone()),
                "scope" => {
                    out.scope = value
                        .split(' ')
                        .filter(|s| !s.is_empty())
                        .map(ToString::to_string)
                        .collect()
                }
                "error" => out.error = Some(BearerErrorCode::from_wire(value)),
                "error_description" => out.error_description = Some(value.clone()),
                "error_uri" => out.error_uri = Some(value.clone()),
                other => out.extra.push((other.to_owned(), value.clone())),
            }
        }
        Ok(out)
    }

    /// Finds the one `Bearer` challenge in a header value that may hold several challenges.
    pub fn parse(header_value: &str) -> Result<Self, ChallengeError> {
        let challenges = parse_located(header_value)?;
        let mut bearer = challenges.iter().filter(|(_, c)| c.is_scheme("Bearer"));
        let Some((at, first)) = bearer.next() else {
            return Err(ChallengeError {
                kind: ChallengeErrorKind::NoBearerChallenge,
                offset: 0,
            });
        };
        if let Some((second, _)) = bearer.next() {
            return Err(ChallengeError {
                kind: ChallengeErrorKind::MultipleBearerChallenges,
                offset: *second,
            });
        }
        Self::from_challenge(first).map_err(|e| ChallengeError { offset: *at, ..e })
    }

    /// The header value (same as `to_string()`).
    pub fn header_value(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for BearerChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.to_challenge(), f)
    }
}
