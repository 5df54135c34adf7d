//! Which bodies the engine can judge, from the headers that say how to read them.
//!
//! A body is judged as UTF-8 JSON or a UTF-8 event stream. Headers that make a receiver read the
//! same bytes otherwise (a `charset` the TypeScript SDK's Express app and the Python client's
//! SSE reader honour, a `Content-Encoding`, a type a lenient client still recognises) would
//! let it act on something the engine never saw, so such bodies are refused, and what is
//! forwarded carries a `Content-Type` that says exactly what was judged.

use alloc::string::String;

use crate::error::{Error, ErrorKind};

/// The two kinds of body the engine reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaType {
    /// `application/json`: one JSON-RPC message or a batch.
    Json,
    /// `text/event-stream`: server-sent events carrying JSON-RPC messages.
    EventStream,
}

impl MediaType {
    /// The exact `Content-Type` a host sends with what the engine judged.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::EventStream => "text/event-stream",
        }
    }
}

/// What a `Content-Type` value says, when it is well formed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Declared {
    /// One of the engine's types, UTF-8.
    Known(MediaType),
    /// A well-formed type the engine does not read, or one of its types in another charset.
    Other(String),
}

/// `token` characters of RFC 9110 §5.6.2.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().copied().all(is_tchar)
}

fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

fn refused(detail: String) -> Error {
    Error::new(ErrorKind::UnsupportedMediaType, detail).at_path("Content-Type")
}

/// Reads a `Content-Type` value (RFC 9110 §8.3.1: `type/subtype *( OWS ";" OWS parameter )`).
/// Anything the grammar does not allow (a non-breaking space, a list of types, a parameter
/// without a value, a repeated `charset`) is an error: receivers disagree on how to read it.
pub(crate) fn parse_content_type(value: &[u8]) -> Result<Declared, Error> {
    // What nearly every peer sends, settled without the general parse.
    for (common, media) in [
        (&b"application/json"[..], MediaType::Json),
        (b"text/event-stream", MediaType::EventStream),
        (b"application/json; charset=utf-8", MediaType::Json),
    ] {
        if value.eq_ignore_ascii_case(common) {
            return Ok(Declared::Known(media));
        }
    }
    let shown = || String::from_utf8_lossy(value).into_owned();
    // No control character anywhere, quoted or not (RFC 9110 §5.5): a receiver written in C
    // may stop reading at a NUL, and no two receivers agree on the rest.
    if value.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return Err(refused(alloc::format!(
            "Content-Type `{}` holds a control character",
            shown().escape_default()
        )));
    }
    let mut parts = split_params(value);
    let essence = parts.next().map(trim_ows).unwrap_or_default();
    let Some(slash) = essence.iter().position(|&b| b == b'/') else {
        return Err(refused(alloc::format!(
            "Content-Type `{}` is not a media type",
            shown()
        )));
    };
    let (ty, sub) = (&essence[..slash], &essence[slash + 1..]);
    if !is_token(ty) || !is_token(sub) {
        return Err(refused(alloc::format!(
            "Content-Type `{}` is not a media type (RFC 9110 §8.3.1)",
            shown()
        )));
    }
    let mut charset: Option<String> = None;
    for param in parts {
        let param = trim_ows(param);
        let Some(eq) = param.iter().position(|&b| b == b'=') else {
            return Err(refused(alloc::format!(
                "Content-Type `{}` has a parameter without a value",
                shown()
            )));
        };
        let (name, raw) = (&param[..eq], &param[eq + 1..]);
        let val = if let Some(q) = raw.strip_prefix(b"\"") {
            match q.strip_suffix(b"\"") {
                Some(inner) if !inner.contains(&b'"') && !inner.contains(&b'\\') => inner,
                _ => {
                    return Err(refused(alloc::format!(
                        "Content-Type `{}` has a quoted value the engine does not read",
                        shown()
                    )));
                }
            }
        } else if is_token(raw) {
            raw
        } else {
            return Err(refused(alloc::format!(
                "Content-Type `{}` has a malformed parameter",
                shown()
            )));
        };
        if !is_token(name) {
            return Err(refused(alloc::format!(
                "Content-Type `{}` has a malformed parameter name",
                shown()
            )));
        }
        if name.eq_ignore_ascii_case(b"charset") {
            if charset.is_some() {
                return Err(refused(alloc::format!(
                    "Content-Type `{}` names its charset twice",
                    shown()
                )));
            }
            charset = Some(String::from_utf8_lossy(val).to_ascii_lowercase());
        }
    }
    let known = if ty.eq_ignore_ascii_case(b"application") && sub.eq_ignore_ascii_case(b"json") {
        Some(MediaType::Json)
    } else if ty.eq_ignore_ascii_case(b"text") && sub.eq_ignore_ascii_case(b"event-stream") {
        Some(MediaType::EventStream)
    } else {
        None
    };
    Ok(match (known, charset.as_deref()) {
        (Some(m), None | Some("utf-8" | "utf8")) => Declared::Known(m),
        _ => Declared::Other(shown()),
    })
}

/// Splits at `;` outside quoted strings.
fn split_params(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(value);
    core::iter::from_fn(move || {
        let v = rest?;
        let mut quoted = false;
        for (i, &b) in v.iter().enumerate() {
            match b {
                b'"' => quoted = !quoted,
                b';' if !quoted => {
                    rest = v.get(i + 1..);
                    return v.get(..i);
                }
                _ => {}
            }
        }
        rest = None;
        Some(v)
    })
}

/// Checks a `Content-Encoding` value: absent or `identity` is the only coding the engine
/// reads (it does not decompress, so a compressed body cannot be judged).
pub(crate) fn check_encoding(value: Option<&[u8]>) -> Result<(), Error> {
    match value.map(trim_ows) {
        None => Ok(()),
        Some(v) if v.eq_ignore_ascii_case(b"identity") => Ok(()),
        Some(v) => Err(Error::new(
            ErrorKind::UnsupportedMediaType,
            alloc::format!(
                "Content-Encoding `{}`: the engine judges bytes as they are and does not decompress",
                String::from_utf8_lossy(v)
            ),
        )
        .at_path("Content-Encoding")),
    }
}

/// The type of a body the engine is to judge, which must be `want` (or, when `want` is
/// `None`, either of the engine's types), UTF-8 and not encoded.
pub(crate) fn require(
    content_type: Option<&[u8]>,
    content_encoding: Option<&[u8]>,
    want: Option<MediaType>,
) -> Result<MediaType, Error> {
    check_encoding(content_encoding)?;
    let Some(ct) = content_type else {
        return Err(refused(String::from(
            "no Content-Type: the body's type must be declared (application/json)",
        )));
    };
    match parse_content_type(ct)? {
        Declared::Known(m) if want.is_none_or(|w| w == m) => Ok(m),
        Declared::Known(m) => Err(refused(alloc::format!(
            "Content-Type `{}` where `{}` is expected",
            m.content_type(),
            want.map_or("", MediaType::content_type)
        ))),
        Declared::Other(t) => Err(refused(alloc::format!(
            "Content-Type `{t}`: the engine reads only UTF-8 `application/json` and \
             `text/event-stream`"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(v: &str) -> Result<Declared, ErrorKind> {
        parse_content_type(v.as_bytes()).map_err(|e| e.kind())
    }

    #[test]
    fn content_types() {
        use Declared::*;
        use MediaType::*;
        assert_eq!(kind("application/json"), Ok(Known(Json)));
        assert_eq!(kind(" Application/JSON ; charset=UTF-8"), Ok(Known(Json)));
        assert_eq!(kind("application/json;charset=\"utf-8\""), Ok(Known(Json)));
        assert_eq!(kind("text/event-stream"), Ok(Known(EventStream)));
        assert_eq!(
            kind("text/event-stream; charset=utf8"),
            Ok(Known(EventStream))
        );
        assert!(matches!(
            kind("application/json; charset=utf-7"),
            Ok(Other(_))
        ));
        assert!(matches!(
            kind("text/event-stream;charset=utf-16"),
            Ok(Other(_))
        ));
        assert!(matches!(kind("text/plain"), Ok(Other(_))));
        assert!(matches!(
            kind("text/plain; x=\"application/json\""),
            Ok(Other(_))
        ));
        for bad in [
            "\u{a0}text/event-stream",
            "application/json, text/plain",
            "application/json; charset",
            "application/json; charset=utf-8; charset=utf-7",
            "application/json; charset=\"utf-8",
            "application/json; x=\"a\u{1}\"",
            "text/event-stream; q=\"a\u{0}b\"",
            "json",
            "",
        ] {
            assert_eq!(kind(bad), Err(ErrorKind::UnsupportedMediaType), "{bad:?}");
        }
    }

    #[test]
    fn encodings() {
        assert!(check_encoding(None).is_ok());
        assert!(check_encoding(Some(b" Identity ")).is_ok());
        assert!(check_encoding(Some(b"deflate")).is_err());
        assert!(check_encoding(Some(b"gzip, identity")).is_err());
    }
}
