//! Zero-copy views of JSON-RPC 2.0 messages and batches (DESIGN §2, invariants 1, 2 and 4).
//!
//! [`Message::parse`] validates the whole body in one pass and keeps borrowed spans of the
//! members a policy needs. Anything ambiguous is refused rather than guessed: duplicate keys in
//! the envelope or anywhere inside `params` (compared after decoding escapes, so
//! `"n\u0061me"` is `name`), wrong-typed `method`/`name`/`uri`, control characters in them,
//! invalid UTF-8, lone surrogates, trailing data.

mod scan;
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
}

/// A parsed body: one message or a batch.
#[derive(Debug, Clone)]
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
        let root = scan::validate_document(text, limits)?;
        match root.kind() {
            Kind::Array => {
                let mut out = Vec::new();
                for (i, el) in root.elements().enumerate() {
                    if i >= limits.max_batch_len {
                        return Err(Error::new(
                            ErrorKind::BatchTooLong,
                            alloc::format!(
                                "batch longer than max_batch_len {}",
                                limits.max_batch_len
                            ),
                        ));
                    }
                    let msg = Message::from_value(el, limits)
                        .map_err(|e| e.under(&alloc::format!("[{i}]")))?;
                    out.push(msg);
                }
                if out.is_empty() {
                    return Err(Error::new(ErrorKind::BatchNotAllowed, "empty batch"));
                }
                Ok(Self::Batch(out))
            }
            _ => Message::from_value(root, limits).map(Self::Single),
        }
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
    core::str::from_utf8(bytes).map_err(|e| {
        Error::new(ErrorKind::InvalidUtf8, "body is not valid UTF-8").at_offset(e.valid_up_to())
    })
}

/// Characters that must never appear in a method, name or URI: a C host or a log line could
/// cut or reinterpret the value at them, so what it sees would differ from what was judged.
fn has_control(s: &str) -> bool {
    s.chars().any(|c| c.is_control())
}

fn wrong_type(path: &str, want: &str, got: Kind, kind: ErrorKind) -> Error {
    Error::new(
        kind,
        alloc::format!("`{path}` must be {want}, found {}", got.name()),
    )
    .at_path(path)
}

/// A string member that a decision depends on: decoded once, checked for control characters.
fn subject_string<'a>(v: RawValue<'a>, path: &str, kind: ErrorKind) -> Result<Cow<'a, str>, Error> {
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
    pub fn parse(bytes: &'a [u8], limits: &Limits) -> Result<Self, Error> {
        let text = check_text(bytes, limits)?;
        let root = scan::validate_document(text, limits)?;
        if root.kind() == Kind::Array {
            return Err(Error::new(
                ErrorKind::BatchNotAllowed,
                "a batch where a single message is expected",
            ));
        }
        Self::from_value(root, limits)
    }

    /// Builds the view over a validated value.
    fn from_value(root: RawValue<'a>, limits: &Limits) -> Result<Self, Error> {
        if root.kind() != Kind::Object {
            return Err(Error::new(
                ErrorKind::InvalidRequest,
                alloc::format!(
                    "a JSON-RPC message must be an object, found {}",
                    root.kind().name()
                ),
            ));
        }
        check_duplicates(root, limits, &Path::Root, false)?;

        let mut version = None;
        let mut id = None;
        let mut method = None;
        let mut params = None;
        let mut result = None;
        let mut error = None;
        for (k, v) in root.members() {
            // Envelope keys are plain ASCII; an escaped spelling still names the same member.
            let key = k.decode();
            match key.as_ref() {
                "jsonrpc" => version = Some(v),
                "id" => id = Some(v),
                "method" => method = Some(v),
                "params" => params = Some(v),
                "result" => result = Some(v),
                "error" => error = Some(v),
                _ => {}
            }
        }

        match version.and_then(|v| v.as_json_str()) {
            Some(s) if s.eq_str("2.0") => {}
            Some(_) => {
                return Err(
                    Error::new(ErrorKind::InvalidRequest, "`jsonrpc` must be \"2.0\"")
                        .at_path("jsonrpc"),
                );
            }
            None => {
                return Err(Error::new(
                    ErrorKind::InvalidRequest,
                    "missing or non-string `jsonrpc` member (must be \"2.0\")",
                )
                .at_path("jsonrpc"));
            }
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
        if let Some(p) = params {
            if !matches!(kind, MessageKind::Request | MessageKind::Notification) {
                return Err(Error::new(
                    ErrorKind::InvalidRequest,
                    "a response cannot carry `params`",
                )
                .at_path("params"));
            }
            if p.kind() != Kind::Object {
                return Err(wrong_type(
                    "params",
                    "an object",
                    p.kind(),
                    ErrorKind::InvalidRequest,
                ));
            }
            for (k, v) in p.members() {
                if k.eq_str("name") {
                    name = Some(subject_string(v, "params.name", ErrorKind::InvalidParams)?);
                } else if k.eq_str("uri") {
                    uri = Some(subject_string(v, "params.uri", ErrorKind::InvalidParams)?);
                }
            }
        }
        for (member, v) in [("result", result), ("error", error)] {
            if let Some(v) = v.filter(|v| v.kind() != Kind::Object) {
                return Err(wrong_type(
                    member,
                    "an object",
                    v.kind(),
                    ErrorKind::InvalidRequest,
                ));
            }
        }

        Ok(Self {
            text: root.as_text(),
            kind,
            id,
            method,
            params,
            result,
            error,
            name,
            uri,
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
        self.params?.get("ref")
    }

    /// `params.arguments`.
    pub fn arguments(&self) -> Option<RawValue<'a>> {
        self.params?.get("arguments")
    }

    /// `params._meta`.
    pub fn meta(&self) -> Option<RawValue<'a>> {
        self.params?.get("_meta")
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

/// Where an object sits, rendered only when there is an error to report: building path
/// strings for every nested value would allocate on the hot path.
#[derive(Clone, Copy)]
enum Path<'p> {
    Root,
    Key(&'p Path<'p>, JsonStr<'p>),
    Index(&'p Path<'p>, usize),
}

impl Path<'_> {
    fn render(&self) -> String {
        match self {
            Self::Root => String::new(),
            Self::Key(parent, k) => join(&parent.render(), &k.decode()),
            Self::Index(parent, i) => alloc::format!("{}[{i}]", parent.render()),
        }
    }
}

/// Refuses duplicate keys. The envelope and `result`'s first level are always checked; inside
/// `params` every object at every depth is, since a condition may read any argument and must
/// see what the server will see.
fn check_duplicates(
    obj: RawValue<'_>,
    limits: &Limits,
    path: &Path<'_>,
    deep: bool,
) -> Result<(), Error> {
    let mut keys: Vec<Cow<'_, str>> = Vec::new();
    let mut plain: [&str; 16] = [""; 16];
    let mut n_plain = 0usize;
    let mut count = 0usize;
    let top = matches!(path, Path::Root);
    for (k, v) in obj.members() {
        count += 1;
        if count > limits.max_object_keys {
            return Err(Error::new(
                ErrorKind::TooManyKeys,
                alloc::format!(
                    "object has more than max_object_keys {}",
                    limits.max_object_keys
                ),
            )
            .at_path(display_path(&path.render())));
        }
        let is_dup = if !k.has_escapes() && keys.is_empty() && n_plain < plain.len() {
            // Common case: few plain keys, compared on the stack without allocating.
            let raw = k.raw();
            let dup = plain.iter().take(n_plain).any(|p| *p == raw);
            if let Some(slot) = plain.get_mut(n_plain) {
                *slot = raw;
            }
            n_plain += 1;
            dup
        } else {
            if keys.is_empty() {
                keys.extend(plain.iter().take(n_plain).map(|p| Cow::Borrowed(*p)));
            }
            let d = k.decode();
            // Past 32 keys the sort below finds repeats in O(n log n) instead of O(n²).
            let dup = keys.len() <= 32 && keys.contains(&d);
            keys.push(d);
            dup
        };
        if is_dup {
            return Err(duplicate(&path.render(), &k.decode()));
        }
        if matches!(v.kind(), Kind::Object | Kind::Array) {
            let descend = deep || (top && (k.eq_str("params") || k.eq_str("result")));
            let deep_child = deep || (top && k.eq_str("params"));
            if descend {
                check_container(v, limits, &Path::Key(path, k), deep_child)?;
            }
        }
    }
    if keys.len() > 32 {
        let mut sorted: Vec<&str> = keys.iter().map(|c| c.as_ref()).collect();
        sorted.sort_unstable();
        if let Some(w) = sorted.windows(2).find(|w| w.first() == w.get(1)) {
            return Err(duplicate(&path.render(), w.first().copied().unwrap_or("")));
        }
    }
    Ok(())
}

fn check_container(
    v: RawValue<'_>,
    limits: &Limits,
    path: &Path<'_>,
    deep: bool,
) -> Result<(), Error> {
    match v.kind() {
        Kind::Object => check_duplicates(v, limits, path, deep),
        Kind::Array if deep => {
            for (i, el) in v.elements().enumerate() {
                if matches!(el.kind(), Kind::Object | Kind::Array) {
                    check_container(el, limits, &Path::Index(path, i), deep)?;
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        String::from(key)
    } else {
        alloc::format!("{path}.{key}")
    }
}

fn display_path(path: &str) -> &str {
    if path.is_empty() { "(message)" } else { path }
}

fn duplicate(path: &str, key: &str) -> Error {
    let at = join(path, key);
    Error::new(
        ErrorKind::DuplicateKey,
        alloc::format!("duplicate key `{key}`"),
    )
    .at_path(at)
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
