//! `Content-Type` values, as a client POST's header (`Guard::client`) and as a server answer's
//! (`server_head`, then `server_body`): never panic, and a value the engine accepts is, by an
//! independent reading of RFC 9110 §8.3.1, `application/json` (client body, JSON answer) or
//! `text/event-stream` (streamed or SSE answer), in UTF-8 or with no charset. On values in
//! the plain form (tokens only: `type/subtype *( OWS ";" OWS token=token )`), the converse
//! holds too: such a value declaring one of the two types in UTF-8 is accepted where that type
//! is, so that an engine refusing everything could not pass.

use std::sync::{Arc, OnceLock};

use mcp_policy::exchange::{ClientVerdict, Guard, Head, RequestFacts};
use mcp_policy::policy::Engine;
use mcp_policy::{Context, Limits};

const POLICY: &[u8] = br#"{"authorizations":[{"authorizedFeatures":[{"type":"TOOLS","methods":["TOOLS_LIST"],"patternType":"ANY"}]}]}"#;
const REQUEST: &[u8] = br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
const JSON_ANSWER: &[u8] = br#"{"jsonrpc":"2.0","id":1,"result":{"tools":[]}}"#;
const SSE_ANSWER: &[u8] = b"data: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"tools\":[]}}\n\n";

fn guard() -> &'static Guard {
    static GUARD: OnceLock<Guard> = OnceLock::new();
    GUARD.get_or_init(|| {
        let engine =
            Engine::from_json(POLICY, &Limits::default()).unwrap_or_else(|e| panic!("{e}"));
        Guard::new(Arc::new(engine))
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Media {
    Json,
    EventStream,
    /// Well formed, but another type, or another charset.
    Other,
}

/// The reading of a value: what it declares, and whether it is in the plain form.
#[derive(Debug)]
struct Reading {
    media: Media,
    plain: bool,
}

/// `tchar` (RFC 9110 §5.6.2).
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A cursor over the value, one grammar rule per method.
struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    fn token(&mut self) -> Option<Vec<u8>> {
        let start = self.i;
        while self.peek().is_some_and(is_tchar) {
            self.i += 1;
        }
        (self.i > start).then(|| self.s[start..self.i].to_vec())
    }

    /// `quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE` (§5.6.4), unescaped.
    fn quoted(&mut self) -> Option<Vec<u8>> {
        if self.peek() != Some(b'"') {
            return None;
        }
        self.i += 1;
        let mut out = Vec::new();
        loop {
            let b = self.peek()?;
            self.i += 1;
            match b {
                b'"' => return Some(out),
                b'\\' => {
                    let q = self.peek()?;
                    if !(q == b'\t' || q == b' ' || (0x21..=0x7e).contains(&q) || q >= 0x80) {
                        return None;
                    }
                    self.i += 1;
                    out.push(q);
                }
                b'\t' | b' ' | 0x21 | 0x23..=0x5b | 0x5d..=0x7e | 0x80..=0xff => out.push(b),
                _ => return None,
            }
        }
    }
}

/// RFC 9110 §8.3.1: `media-type = type "/" subtype parameters`, `parameters = *( OWS ";" OWS
/// [ parameter ] )`, `parameter = token "=" ( token / quoted-string )`; names and the charset
/// value compared case-insensitively. The field value itself has no leading or trailing
/// whitespace (§5.5), which a receiver strips. `None` when it is no media type, or names its
/// charset twice (no single reading).
fn read(value: &[u8]) -> Option<Reading> {
    let mut c = Cursor { s: value, i: 0 };
    c.ows();
    let ty = c.token()?;
    if c.peek() != Some(b'/') {
        return None;
    }
    c.i += 1;
    let sub = c.token()?;
    let mut charset: Option<Vec<u8>> = None;
    let mut plain = true;
    loop {
        // Trailing whitespace is not part of the field value, so it ends the value here too.
        c.ows();
        if c.peek().is_none() {
            break;
        }
        if c.peek() != Some(b';') {
            return None;
        }
        c.i += 1;
        c.ows();
        if matches!(c.peek(), None | Some(b';')) {
            plain = false; // an empty parameter
            continue;
        }
        let name = c.token()?;
        if c.peek() != Some(b'=') {
            return None;
        }
        c.i += 1;
        let val = match c.peek() {
            Some(b'"') => {
                plain = false;
                c.quoted()?
            }
            _ => c.token()?,
        };
        if name.eq_ignore_ascii_case(b"charset") {
            if charset.is_some() {
                return None;
            }
            charset = Some(val);
        }
    }
    // WHATWG's Encoding Standard, which browsers and Node's decoders follow, reads the label
    // `utf8` as UTF-8 too.
    let utf8 = charset
        .as_deref()
        .is_none_or(|cs| cs.eq_ignore_ascii_case(b"utf-8") || cs.eq_ignore_ascii_case(b"utf8"));
    let media = if !utf8 {
        Media::Other
    } else if ty.eq_ignore_ascii_case(b"application") && sub.eq_ignore_ascii_case(b"json") {
        Media::Json
    } else if ty.eq_ignore_ascii_case(b"text") && sub.eq_ignore_ascii_case(b"event-stream") {
        Media::EventStream
    } else {
        Media::Other
    };
    Some(Reading { media, plain })
}

fn shown(v: &[u8]) -> String {
    String::from_utf8_lossy(v).into_owned()
}

/// One input: panics if a property above does not hold.
pub fn fuzz_one(value: &[u8]) {
    let guard = guard();
    let ctx = Context::default();
    let reading = read(value);
    let media = reading.as_ref().map(|r| r.media);
    let plain = reading.as_ref().is_some_and(|r| r.plain);

    // The client's body: accepted only as application/json.
    let facts = RequestFacts {
        content_type: Some(value),
        ..RequestFacts::default()
    };
    let accepted = matches!(
        guard.client(REQUEST, &facts, &ctx, &guard.session()),
        ClientVerdict::Forward(_)
    );
    if accepted {
        assert_eq!(
            media,
            Some(Media::Json),
            "client Content-Type {:?} accepted",
            shown(value)
        );
    } else if plain {
        assert_ne!(
            media,
            Some(Media::Json),
            "client Content-Type {:?} refused",
            shown(value)
        );
    }

    // A successful answer: streamed only as text/event-stream.
    let stream = {
        let session = guard.session();
        let ClientVerdict::Forward(fwd) = guard.client(REQUEST, &json_facts(), &ctx, &session)
        else {
            panic!("tools/list is allowed");
        };
        let mut ex = fwd.exchange;
        match ex.server_head(200, Some(value), None) {
            Head::Stream => true,
            Head::Whole => {
                // Read whole, then judged as JSON: delivered only as application/json.
                let answer = ex.server_body(JSON_ANSWER, &ctx);
                let delivered = answer.notes.failure.is_none();
                if delivered {
                    assert_eq!(
                        media,
                        Some(Media::Json),
                        "JSON answer under {:?} delivered",
                        shown(value)
                    );
                    assert_eq!(answer.status, 200);
                } else if plain {
                    assert_ne!(
                        media,
                        Some(Media::Json),
                        "JSON answer under {:?} refused",
                        shown(value)
                    );
                }
                false
            }
        }
    };
    if stream {
        assert_eq!(
            media,
            Some(Media::EventStream),
            "stream under {:?}",
            shown(value)
        );
    } else if plain {
        assert_ne!(
            media,
            Some(Media::EventStream),
            "no stream under {:?}",
            shown(value)
        );
    }

    // An HTTP error is read whole whatever its type; an event stream one is still judged as
    // SSE, and only under text/event-stream.
    let session = guard.session();
    let ClientVerdict::Forward(fwd) = guard.client(REQUEST, &json_facts(), &ctx, &session) else {
        panic!("tools/list is allowed");
    };
    let mut ex = fwd.exchange;
    assert_eq!(ex.server_head(500, Some(value), None), Head::Whole);
    let answer = ex.server_body(SSE_ANSWER, &ctx);
    if answer.notes.failure.is_none() {
        assert_eq!(
            media,
            Some(Media::EventStream),
            "SSE body under {:?} delivered",
            shown(value)
        );
        assert_eq!(answer.content_type, Some("text/event-stream"));
    } else if plain {
        assert_ne!(
            media,
            Some(Media::EventStream),
            "SSE body under {:?} refused",
            shown(value)
        );
    }
}

fn json_facts() -> RequestFacts<'static> {
    RequestFacts {
        content_type: Some(b"application/json"),
        ..RequestFacts::default()
    }
}
