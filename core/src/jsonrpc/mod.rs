//! Zero-copy views of JSON-RPC 2.0 messages and batches (ARCHITECTURE.md §2; §2.2, invariants 1, 2 and 4).
//!
//! [`Message::parse`] validates the whole body in one pass and keeps borrowed spans of the
//! members a policy needs. Anything ambiguous is refused rather than guessed: duplicate keys in
//! the envelope or anywhere inside `params` (compared after decoding escapes, so
//! `"n\u0061me"` is `name`), wrong-typed `method`/`name`/`uri`, control characters in them,
//! invalid UTF-8, lone surrogates, trailing data.

mod envelope;
mod scan;

pub(crate) use envelope::ListScan;
mod value;

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

pub use value::{Elements, JsonStr, Kind, Members, RawValue};

use crate::error::{Error, ErrorKind};
use crate::limits::Limits;

/// The four shapes of a JSON-RPC 2.0 message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// Has `method` and `id`: expects a response.
    Request,
    /// Has `method`, no `id`.
    Notification,
    /// Has `result` and `id`.
    Response,
    /// Has `error` and `id` (possibly `null`).
    ErrorResponse,
}

/// A request id, kept exactly as written so it can be echoed byte for byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Id<'a> {
    /// A numeric id (its JSON text, e.g. `7`).
    Number(&'a str),
    /// A string id (raw contents between the quotes).
    String(JsonStr<'a>),
    /// `null`: only in error responses to unreadable requests.
    Null,
}

impl<'a> Id<'a> {
    /// The id as JSON text, ready to be written into a response (`7`, `"abc"`, `null`).
    pub fn json(&self) -> Cow<'a, str> {
        match self {
            Self::Number(n) => Cow::Borrowed(n),
            Self::String(s) => {
                let mut out = String::with_capacity(s.raw().len() + 2);
                out.push('"');
                out.push_str(s.raw());
                out.push('"');
                Cow::Owned(out)
            }
            Self::Null => Cow::Borrowed("null"),
        }
    }
}

/// One JSON-RPC message, borrowed from the input.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    text: &'a str,
    kind: MessageKind,
    id: Option<Id<'a>>,
    method: Option<Cow<'a, str>>,
    params: Option<RawValue<'a>>,
    result: Option<RawValue<'a>>,
    error: Option<RawValue<'a>>,
    name: Option<Cow<'a, str>>,
    uri: Option<Cow<'a, str>>,
    reference: Option<RawValue<'a>>,
    target: Option<(RefTarget, Cow<'a, str>)>,
    listen: Option<Vec<Cow<'a, str>>>,
    task_id: Option<Cow<'a, str>>,
    arguments: Option<RawValue<'a>>,
    meta: Option<RawValue<'a>>,
}

/// What a `completion/complete` reference (`params.ref`) points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefTarget {
    /// `{"type": "ref/prompt", "name": ...}`.
    Prompt,
    /// `{"type": "ref/resource", "uri": ...}`: a resource template (or a resource).
    Resource,
}

/// The URIs of `params.notifications.resourceSubscriptions` of a `subscriptions/listen`
/// (2026-07-28), decoded and checked like `params.uri`; `None` when the filter asks for none.
fn read_subscriptions<'a>(params: RawValue<'a>) -> Result<Option<Vec<Cow<'a, str>>>, Error> {
    let Some(list) = params
        .get("notifications")
        .and_then(|n| n.get("resourceSubscriptions"))
    else {
        return Ok(None);
    };
    const PATH: &str = "params.notifications.resourceSubscriptions";
    if list.kind() != Kind::Array {
        return Err(wrong_type(
            PATH,
            "an array of URIs",
            list.kind(),
            ErrorKind::InvalidParams,
        ));
    }
    let mut uris = Vec::new();
    for (i, el) in list.elements().enumerate() {
        let path = alloc::format!("{PATH}[{i}]");
        uris.push(subject_string(el, &path, ErrorKind::InvalidParams)?);
    }
    Ok(Some(uris))
}

/// The prompt name or template URI of `params.ref`, decoded and checked like `params.name`.
/// `None` when `ref` is not an object with a known `type` and its member: the caller decides
/// what an unreadable reference means (the engine denies it).
fn read_reference<'a>(r: RawValue<'a>) -> Result<Option<(RefTarget, Cow<'a, str>)>, Error> {
    if r.kind() != Kind::Object {
        return Ok(None);
    }
    let Some(ty) = r.get("type").and_then(|t| t.as_json_str()) else {
        return Ok(None);
    };
    let (target, member, path) = if ty.eq_str("ref/prompt") {
        (RefTarget::Prompt, "name", "params.ref.name")
    } else if ty.eq_str("ref/resource") {
        (RefTarget::Resource, "uri", "params.ref.uri")
    } else {
        return Ok(None);
    };
    match r.get(member) {
        Some(v) => Ok(Some((
            target,
            subject_string(v, path, ErrorKind::InvalidParams)?,
        ))),
        None => Ok(None),
    }
}

/// A parsed body: one message or a batch.
#[derive(Debug, Clone)]
#[expect(
    clippy::large_enum_variant,
    reason = "boxing the single message would allocate once per request on the hot path"
)]
pub enum Body<'a> {
    /// A single message.
    Single(Message<'a>),
    /// A JSON-RPC batch (only MCP 2025-03-26 allows them; see [`crate::mcp::Revision`]).
    Batch(Vec<Message<'a>>),
}

/// Alias kept for readers of the design sketch: a batch is a vector of messages.
pub type Batch<'a> = Vec<Message<'a>>;

impl<'a> Body<'a> {
    /// Parses a body that may be a single message or a batch.
    pub fn parse(bytes: &'a [u8], limits: &Limits) -> Result<Self, Error> {
        let text = check_text(bytes, limits)?;
        let mut sc = scan::Scanner::new(text, limits);
        sc.skip_ws();
        if sc.peek() != Some(b'[') {
            return Message::parse_text(text, limits).map(Self::Single);
        }
        sc.enter(1)?;
        sc.skip_ws();
        if sc.peek() == Some(b']') {
            return Err(Error::new(ErrorKind::BatchNotAllowed, "empty batch"));
        }
        let mut out = Vec::new();
        loop {
            let i = out.len();
            if i >= limits.max_batch_len {
                return Err(Error::new(
                    ErrorKind::BatchTooLong,
                    alloc::format!("batch longer than max_batch_len {}", limits.max_batch_len),
                ));
            }
            let msg = Message::scan(&mut sc, limits, 2, None)
                .map_err(|e| e.under(&alloc::format!("[{i}]")))?;
            out.push(msg);
            if !sc.next_or_close(b']')? {
                break;
            }
        }
        sc.skip_ws();
        if !sc.at_end() {
            return Err(sc.err(ErrorKind::TrailingData, "data after the JSON value"));
        }
        Ok(Self::Batch(out))
    }

    /// The messages, one or several.
    pub fn messages(&self) -> &[Message<'a>] {
        match self {
            Self::Single(m) => core::slice::from_ref(m),
            Self::Batch(v) => v,
        }
    }

    /// Whether this body is a batch.
    pub fn is_batch(&self) -> bool {
        matches!(self, Self::Batch(_))
    }
}

fn check_text<'a>(bytes: &'a [u8], limits: &Limits) -> Result<&'a str, Error> {
    if bytes.len() > limits.max_body_bytes {
        return Err(Error::new(
            ErrorKind::TooLarge,
            alloc::format!(
                "body of {} bytes exceeds max_body_bytes {}",
                bytes.len(),
                limits.max_body_bytes
            ),
        ));
    }
    scan::check_len(bytes.len())?;
    simdutf8::basic::from_utf8(bytes).map_err(|_| invalid_utf8(bytes))
}

/// Where the body stops being UTF-8 (`simdutf8`'s fast check only says whether it is).
#[cold]
#[inline(never)]
fn invalid_utf8(bytes: &[u8]) -> Error {
    let at = core::str::from_utf8(bytes)
        .err()
        .map_or(0, |e| e.valid_up_to());
    Error::new(ErrorKind::InvalidUtf8, "body is not valid UTF-8").at_offset(at)
}

/// The `jsonrpc` member of a message that does not write it plainly as `"2.0"`: right only
/// when it decodes to `2.0` (escapes).
#[cold]
#[inline(never)]
fn check_version(version: Option<RawValue<'_>>) -> Result<(), Error> {
    match version.and_then(|v| v.as_json_str()) {
        Some(s) if s.eq_str("2.0") => Ok(()),
        Some(_) => Err(
            Error::new(ErrorKind::InvalidRequest, "`jsonrpc` must be \"2.0\"").at_path("jsonrpc"),
        ),
        None => Err(Error::new(
            ErrorKind::InvalidRequest,
            "missing or non-string `jsonrpc` member (must be \"2.0\")",
        )
        .at_path("jsonrpc")),
    }
}

/// Characters that must never appear in a method, name or URI: a C host or a log line could
/// cut or reinterpret the value at them, so what it sees would differ from what was judged.
fn has_control(s: &str) -> bool {
    // Printable ASCII settles almost every real name without decoding characters.
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return false;
    }
    s.chars().any(|c| c.is_control())
}

#[cold]
#[inline(never)]
fn not_an_object(member: &str, v: RawValue<'_>) -> Error {
    wrong_type(member, "an object", v.kind(), ErrorKind::InvalidRequest)
}

fn wrong_type(path: &str, want: &str, got: Kind, kind: ErrorKind) -> Error {
    Error::new(
        kind,
        alloc::format!("`{path}` must be {want}, found {}", got.name()),
    )
    .at_path(path)
}

/// Whether the contents of a scanned string are printable ASCII without escapes: no byte is
/// `\\`, DEL or beyond ASCII (the scan already refused raw bytes below 0x20). Eight bytes at a
/// time, as a name is checked on every call; the tail is one more word that overlaps the last,
/// so no name is checked byte by byte past its first three bytes.
#[inline]
fn plain_ascii(b: &[u8]) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    // High bit of a lane: the byte is 0x80 or more, or 0x7f (plus one carries into it). A
    // carry out of 0xff may flag the lane above as well, which only sends the name to the
    // slow path.
    let bad = |w: u64| {
        let bs = w ^ (LO * u64::from(b'\\'));
        ((w | w.wrapping_add(LO)) | (bs.wrapping_sub(LO) & !bs)) & HI != 0
    };
    if let Some(last) = b.last_chunk::<8>() {
        let mut chunks = b.chunks_exact(8);
        for c in chunks.by_ref() {
            if c.first_chunk::<8>()
                .is_none_or(|c| bad(u64::from_le_bytes(*c)))
            {
                return false;
            }
        }
        return chunks.remainder().is_empty() || !bad(u64::from_le_bytes(*last));
    }
    if let (Some(first), Some(last)) = (b.first_chunk::<4>(), b.last_chunk::<4>()) {
        // Four to seven bytes: two words that overlap, the upper lanes spaces.
        let word = |c: &[u8; 4]| u64::from(u32::from_le_bytes(*c)) | 0x2020_2020 << 32;
        return !bad(word(first)) && !bad(word(last));
    }
    b.iter().all(|&b| (0x20..0x7f).contains(&b) && b != b'\\')
}

/// A string member that a decision depends on: decoded once, checked for control characters.
#[inline(always)]
fn subject_string<'a>(v: RawValue<'a>, path: &str, kind: ErrorKind) -> Result<Cow<'a, str>, Error> {
    // Printable ASCII without escapes (nearly every real method, name and URI) is its own
    // decoding and holds no control character: one pass settles it, inline.
    if v.kind() == Kind::String {
        let text = v.as_text();
        let inner = text.get(1..text.len().saturating_sub(1)).unwrap_or("");
        if plain_ascii(inner.as_bytes()) {
            return Ok(Cow::Borrowed(inner));
        }
    }
    decoded_subject(v, path, kind)
}

/// [`subject_string`] for a value that is not plain ASCII (escapes, other characters) or not a
/// string at all.
#[inline(never)]
fn decoded_subject<'a>(
    v: RawValue<'a>,
    path: &str,
    kind: ErrorKind,
) -> Result<Cow<'a, str>, Error> {
    let Some(s) = v.as_str() else {
        return Err(wrong_type(path, "a string", v.kind(), kind));
    };
    if has_control(&s) {
        return Err(Error::new(
            kind,
            alloc::format!("`{path}` contains a control character"),
        )
        .at_path(path));
    }
    Ok(s)
}

impl<'a> Message<'a> {
    /// Parses exactly one message (a batch is refused with [`ErrorKind::BatchNotAllowed`]).
    ///
    /// ```
    /// use mcp_policy::{Limits, Message, MessageKind};
    /// let body = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"message":"hi"}}}"#;
    /// let msg = Message::parse(body, &Limits::default()).unwrap();
    /// assert_eq!(msg.kind(), MessageKind::Request);
    /// assert_eq!(msg.method(), Some("tools/call"));
    /// assert_eq!(msg.name(), Some("echo"));
    /// assert_eq!(msg.arguments().unwrap().get("message").unwrap().as_str().unwrap(), "hi");
    ///
    /// // Ambiguity is refused: which `name` would the server act on?
    /// let twice = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","name":"get-env"}}"#;
    /// assert_eq!(Message::parse(twice, &Limits::default()).unwrap_err().jsonrpc_code(), -32600);
    /// ```
    #[inline]
    pub fn parse(bytes: &'a [u8], limits: &Limits) -> Result<Self, Error> {
        Self::parse_text(check_text(bytes, limits)?, limits)
    }

    #[inline(always)]
    fn parse_text(text: &'a str, limits: &Limits) -> Result<Self, Error> {
        Self::parse_text_with(text, limits, None)
    }

    /// Parses a response whose `result` holds a list (`list.key`), collecting its items with
    /// their identity member in the same pass.
    pub(crate) fn parse_list(
        bytes: &'a [u8],
        limits: &Limits,
        list: &mut ListScan<'a>,
    ) -> Result<Self, Error> {
        Self::parse_text_with(check_text(bytes, limits)?, limits, Some(list))
    }

    #[inline(always)]
    fn parse_text_with(
        text: &'a str,
        limits: &Limits,
        list: Option<&mut ListScan<'a>>,
    ) -> Result<Self, Error> {
        let mut sc = scan::Scanner::new(text, limits);
        sc.skip_ws();
        if sc.peek() == Some(b'[') {
            // Validate first, so that broken JSON is a parse error whatever its shape.
            scan::validate_document(text, limits)?;
            return Err(Error::new(
                ErrorKind::BatchNotAllowed,
                "a batch where a single message is expected",
            ));
        }
        let f = match list {
            None => {
                let mut f = envelope::Fields::default();
                Self::scan_fields(&mut sc, limits, 1, None, &mut f)?;
                f
            }
            list => Self::scan_fields(&mut sc, limits, 1, list, envelope::Fields::default())?,
        };
        sc.skip_ws();
        if !sc.at_end() {
            return Err(sc.err(ErrorKind::TrailingData, "data after the JSON value"));
        }
        // Built last, as the return value itself: a view finished before the trailing-data
        // check was copied out again (a tenth of a `tools/call` parse's time went to memmove).
        Self::from_fields(f)
    }

    /// Scans one message at the cursor, the message object sitting at nesting `depth`.
    fn scan(
        sc: &mut scan::Scanner<'a>,
        limits: &Limits,
        depth: usize,
        list: Option<&mut ListScan<'a>>,
    ) -> Result<Self, Error> {
        let mut f = envelope::Fields::default();
        Self::scan_fields(sc, limits, depth, list, &mut f)?;
        Self::from_fields(f)
    }

    /// The members of the message object at the cursor (sitting at nesting `depth`).
    #[inline(always)]
    fn scan_fields<F: core::borrow::BorrowMut<envelope::Fields<'a>>>(
        sc: &mut scan::Scanner<'a>,
        limits: &Limits,
        depth: usize,
        list: Option<&mut ListScan<'a>>,
        fields: F,
    ) -> Result<F, Error> {
        sc.skip_ws();
        if sc.peek() != Some(b'{') {
            let v = sc.scan_value(depth - 1)?;
            return Err(Error::new(
                ErrorKind::InvalidRequest,
                alloc::format!(
                    "a JSON-RPC message must be an object, found {}",
                    v.kind().name()
                ),
            ));
        }
        envelope::message(sc, limits, depth, list, fields)
    }

    /// Builds the view from the members found while scanning.
    #[inline(always)]
    fn from_fields(f: envelope::Fields<'a>) -> Result<Self, Error> {
        let envelope::Fields {
            text,
            version,
            id,
            method,
            params,
            result,
            error,
            p,
        } = f;
        // As every peer writes it: one compare of the raw text, before finding out whether the
        // string holds escapes and comparing its decoding (~85 instructions per message).
        if version.is_none_or(|v| v.as_text() != "\"2.0\"") {
            check_version(version)?;
        }

        let id = match id {
            None => None,
            Some(v) => Some(match v.kind() {
                Kind::Number => Id::Number(v.as_text()),
                Kind::String => Id::String(v.as_json_str().ok_or_else(|| {
                    Error::new(ErrorKind::InvalidRequest, "unreadable string id").at_path("id")
                })?),
                Kind::Null => Id::Null,
                k => {
                    return Err(wrong_type(
                        "id",
                        "a string or a number",
                        k,
                        ErrorKind::InvalidRequest,
                    ));
                }
            }),
        };

        let kind = match (method.is_some(), result.is_some(), error.is_some()) {
            (true, false, false) => {
                if id.is_some() {
                    MessageKind::Request
                } else {
                    MessageKind::Notification
                }
            }
            (false, true, false) => MessageKind::Response,
            (false, false, true) => MessageKind::ErrorResponse,
            (false, false, false) => {
                return Err(Error::new(
                    ErrorKind::InvalidRequest,
                    "message has none of `method`, `result`, `error`",
                ));
            }
            _ => {
                return Err(Error::new(
                    ErrorKind::InvalidRequest,
                    "message mixes `method`, `result` and `error`; exactly one is allowed",
                ));
            }
        };

        match (kind, id) {
            (MessageKind::Request, Some(Id::Null)) => {
                return Err(
                    Error::new(ErrorKind::InvalidRequest, "a request id must not be null")
                        .at_path("id"),
                );
            }
            (MessageKind::Response, None | Some(Id::Null)) => {
                return Err(Error::new(
                    ErrorKind::InvalidRequest,
                    "a response needs the request's id",
                )
                .at_path("id"));
            }
            (MessageKind::ErrorResponse, None) => {
                return Err(Error::new(
                    ErrorKind::InvalidRequest,
                    "an error response needs an `id` (null when the request was unreadable)",
                )
                .at_path("id"));
            }
            _ => {}
        }

        let method = match method {
            None => None,
            Some(v) => {
                let m = subject_string(v, "method", ErrorKind::InvalidRequest)?;
                if m.is_empty() {
                    return Err(Error::new(ErrorKind::InvalidRequest, "`method` is empty")
                        .at_path("method"));
                }
                Some(m)
            }
        };

        let mut name = None;
        let mut uri = None;
        let mut target = None;
        let mut listen = None;
        let mut task_id = None;
        if let Some(params) = params {
            if !matches!(kind, MessageKind::Request | MessageKind::Notification) {
                return Err(Error::new(
                    ErrorKind::InvalidRequest,
                    "a response cannot carry `params`",
                )
                .at_path("params"));
            }
            if params.kind() != Kind::Object {
                return Err(wrong_type(
                    "params",
                    "an object",
                    params.kind(),
                    ErrorKind::InvalidRequest,
                ));
            }
            if let Some(v) = p.name {
                name = Some(subject_string(v, "params.name", ErrorKind::InvalidParams)?);
            }
            if let Some(v) = p.uri {
                uri = Some(subject_string(v, "params.uri", ErrorKind::InvalidParams)?);
            }
            if let Some(r) = p.reference {
                target = read_reference(r)?;
            }
            if let Some(v) = p.task_id {
                task_id = Some(subject_string(
                    v,
                    "params.taskId",
                    ErrorKind::InvalidParams,
                )?);
            }
            if method.as_deref() == Some("subscriptions/listen") {
                listen = read_subscriptions(params)?;
            }
        }
        if let Some(v) = result.filter(|v| v.kind() != Kind::Object) {
            return Err(not_an_object("result", v));
        }
        if let Some(v) = error.filter(|v| v.kind() != Kind::Object) {
            return Err(not_an_object("error", v));
        }

        Ok(Self {
            text,
            kind,
            id,
            method,
            params,
            result,
            error,
            name,
            uri,
            reference: p.reference,
            target,
            listen,
            task_id,
            arguments: p.arguments,
            meta: p.meta,
        })
    }

    /// The message's exact JSON text.
    pub fn text(&self) -> &'a str {
        self.text
    }

    /// Request, notification, response or error response.
    pub fn kind(&self) -> MessageKind {
        self.kind
    }

    /// The id, if the message has one.
    pub fn id(&self) -> Option<Id<'a>> {
        self.id
    }

    /// The method of a request or notification.
    pub fn method(&self) -> Option<&str> {
        self.method.as_deref()
    }

    /// `params`, if present (always an object).
    pub fn params(&self) -> Option<RawValue<'a>> {
        self.params
    }

    /// `params.name`: the tool or prompt a call names.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// `params.uri`: the resource a call names.
    pub fn uri(&self) -> Option<&str> {
        self.uri.as_deref()
    }

    /// `params.ref` (the target of `completion/complete`).
    pub fn reference(&self) -> Option<RawValue<'a>> {
        self.reference
    }

    /// What `params.ref` points at, with the prompt name or template URI decoded (the subject of
    /// `completion/complete`).
    pub fn reference_target(&self) -> Option<(RefTarget, &str)> {
        self.target.as_ref().map(|(t, s)| (*t, s.as_ref()))
    }

    /// The resource URIs a `subscriptions/listen` asks updates for
    /// (`params.notifications.resourceSubscriptions`), decoded; `None` when it asks for none.
    pub fn resource_subscriptions(&self) -> Option<impl Iterator<Item = &str>> {
        self.listen.as_ref().map(|l| l.iter().map(|u| u.as_ref()))
    }

    /// `params.taskId`: the task a task request or notification is about, decoded.
    pub fn task_id(&self) -> Option<&str> {
        self.task_id.as_deref()
    }

    /// `params.arguments`.
    pub fn arguments(&self) -> Option<RawValue<'a>> {
        self.arguments
    }

    /// `params._meta`.
    pub fn meta(&self) -> Option<RawValue<'a>> {
        self.meta
    }

    /// `result` of a success response (always an object).
    pub fn result(&self) -> Option<RawValue<'a>> {
        self.result
    }

    /// `error` of an error response (always an object).
    pub fn error(&self) -> Option<RawValue<'a>> {
        self.error
    }
}

/// A complete JSON-RPC error response: `id` is the raw JSON text of the id (`7`, `"abc"`;
/// `None` writes `null`), `data` raw JSON text when given. The one writer of error responses,
/// so every error the crate produces has the same shape.
pub fn error_response(id: Option<&str>, code: i32, message: &str, data: Option<&str>) -> String {
    use core::fmt::Write as _;
    let mut out = String::with_capacity(64 + message.len() + data.map_or(0, str::len));
    out.push_str("{\"jsonrpc\":\"2.0\",\"id\":");
    out.push_str(id.unwrap_or("null"));
    out.push_str(",\"error\":{\"code\":");
    // Writing to a String cannot fail.
    let _ = write!(out, "{code}");
    out.push_str(",\"message\":");
    write_json_string(&mut out, message);
    if let Some(d) = data {
        out.push_str(",\"data\":");
        out.push_str(d);
    }
    out.push_str("}}");
    out
}

/// Appends `s` as a JSON string literal (quotes and escapes included).
pub fn write_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                out.push_str(&alloc::format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The word-at-a-time check against the byte rule, for every length up to three words and
    /// every kind of byte at every position.
    #[test]
    fn plain_ascii_matches_the_byte_rule() {
        let rule = |b: &[u8]| b.iter().all(|&c| (0x20..0x7f).contains(&c) && c != b'\\');
        for len in 0..25 {
            for at in 0..len {
                for byte in [b'a', b' ', b'~', b'\\', 0x7f, 0x80, 0xc3, 0xff] {
                    let mut b = alloc::vec![b'x'; len];
                    b[at] = byte;
                    assert_eq!(plain_ascii(&b), rule(&b), "{b:?}");
                }
            }
        }
    }
}
