//! HTTP/1.1 answers read from bytes, without I/O: the head (httparse, interim answers skipped)
//! and the body as the head frames it (RFC 9112 §6.3): a length, chunks, or everything up to
//! the close. [`super::upstream`] feeds it what its connections read; the fuzz target
//! `http_answer` feeds it arbitrary bytes in arbitrary pieces and checks that the pieces never
//! change what is read ([`fuzz_one`]).

use std::fmt;
use std::io;

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

/// The longest answer head (interim answers, status line and headers) read: a backend whose
/// head is longer is broken or hostile.
pub(crate) const MAX_HEAD: usize = 64 * 1024;

/// Most headers in an answer head.
const MAX_HEADERS: usize = 100;

/// The longest chunk-size or trailer line of a chunked body.
pub(crate) const MAX_CHUNK_LINE: usize = 4096;

/// A malformed answer: what was wrong with it.
pub(crate) fn invalid(what: impl fmt::Display) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("invalid HTTP response: {what}"),
    )
}

/// The backend closed the connection before the answer was complete.
pub(crate) fn closed_early() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "connection closed before message completed",
    )
}

/// An answer head as read.
#[derive(Debug)]
pub(crate) struct Head {
    pub(crate) status: StatusCode,
    pub(crate) http11: bool,
    /// The end-to-end headers, in order: what the answer says to the client. The hop's own
    /// ([`hop_by_hop`], those `Connection` lists) and `Content-Length` are read into
    /// `framing` and `close` and left out, since whoever passes the answer on frames it anew.
    pub(crate) headers: HeaderMap,
    /// How the body that follows ends.
    pub(crate) framing: Framing,
    /// The connection cannot take another request after this answer.
    pub(crate) close: bool,
}

/// How the body's end is known, and how far it was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// This many bytes remain (0: the body has ended).
    Length(u64),
    /// Chunked, at this point of a chunk.
    Chunked(Chunk),
    /// Everything up to the close.
    ToClose,
}

/// Where a chunked body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Chunk {
    /// Before a chunk-size line.
    Size,
    /// Inside a chunk's data, this many bytes left.
    Data(u64),
    /// After a chunk's data: its CRLF.
    DataEnd,
    /// After the last chunk: trailer lines until an empty one.
    Trailers,
}

/// What the buffered bytes mean to the body (see [`step`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Incomplete: read more.
    More,
    /// The first `n` bytes are framing: consume them.
    Skip(usize),
    /// The first `n` bytes are body data.
    Data(usize),
}

/// The head at the start of `buf` and its length (interim 1xx answers before it included), or
/// `None` while it is incomplete.
pub(crate) fn read_head(buf: &[u8]) -> io::Result<Option<(Head, usize)>> {
    let mut at = 0;
    loop {
        let rest = buf.get(at..).unwrap_or_default();
        let Some((head, n)) = parse_head(rest)? else {
            if buf.len() >= MAX_HEAD {
                return Err(invalid(format!("head longer than {MAX_HEAD} bytes")));
            }
            return Ok(None);
        };
        at += n;
        if at > MAX_HEAD {
            // Whether the head arrived at once or in pieces, the same limit.
            return Err(invalid(format!("head longer than {MAX_HEAD} bytes")));
        }
        if head.status == StatusCode::SWITCHING_PROTOCOLS {
            return Err(invalid(
                "101 Switching Protocols to a request that asked for none",
            ));
        }
        if !head.status.is_informational() {
            return Ok(Some((head, at)));
        }
    }
}

fn parse_head(buf: &[u8]) -> io::Result<Option<(Head, usize)>> {
    if buf.is_empty() {
        return Ok(None);
    }
    // Left uninitialised until parsed: filling 100 empty slots cost more than the parse.
    let mut slots = [const { std::mem::MaybeUninit::uninit() }; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut []);
    let len = match httparse::ParserConfig::default()
        .parse_response_with_uninit_headers(&mut resp, buf, &mut slots)
    {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(invalid(e)),
    };
    let status = StatusCode::from_u16(resp.code.unwrap_or(0)).map_err(invalid)?;
    let http11 = resp.version == Some(1);
    let mut close = !http11;
    let mut chunked = false;
    let mut coded = false;
    let mut length: Option<u64> = None;
    // Names are checked and the framing read first; the end-to-end headers are kept after, once
    // what `Connection` lists is known.
    let mut listed = false;
    for h in resp.headers.iter() {
        let name = h.name;
        if name.eq_ignore_ascii_case("connection") {
            close |= has_token(h.value, "close");
            // `keep-alive`, the usual one, names a header left out anyway.
            listed |= h.value.split(|&b| b == b',').any(|t| {
                let t = t.trim_ascii();
                !t.is_empty() && !t.eq_ignore_ascii_case(b"keep-alive")
            });
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            // The last coding decides: chunked, or the body runs to the close.
            coded = true;
            chunked = last_token(h.value).is_some_and(|t| t.eq_ignore_ascii_case(b"chunked"));
        } else if name.eq_ignore_ascii_case("content-length") {
            let n = Some(h.value.trim_ascii())
                .filter(|v| !v.is_empty() && v.len() <= 19 && v.iter().all(u8::is_ascii_digit))
                .and_then(|v| std::str::from_utf8(v).ok()?.parse::<u64>().ok())
                .ok_or_else(|| invalid("bad Content-Length"))?;
            if length.is_some_and(|l| l != n) {
                return Err(invalid("conflicting Content-Length values"));
            }
            length = Some(n);
        }
    }
    let mut headers = HeaderMap::with_capacity(resp.headers.len());
    for h in resp.headers.iter() {
        let name = HeaderName::from_bytes(h.name.as_bytes()).map_err(invalid)?;
        if hop_by_hop(name.as_str())
            || name == http::header::CONTENT_LENGTH
            || (listed && connection_lists(resp.headers, name.as_str()))
        {
            continue;
        }
        headers.append(name, header_value(h.value)?);
    }
    let framing = if status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        Framing::Length(0)
    } else if coded {
        // A length beside a coding is ignored, and the connection not trusted after.
        close |= length.is_some() || !chunked;
        if chunked {
            Framing::Chunked(Chunk::Size)
        } else {
            Framing::ToClose
        }
    } else {
        match length {
            Some(n) => Framing::Length(n),
            None => Framing::ToClose,
        }
    };
    Ok(Some((
        Head {
            status,
            http11,
            headers,
            framing,
            close,
        },
        len,
    )))
}

/// Whether header `name` (lowercase, as `HeaderName`s are) describes one connection, not the
/// message (RFC 9110 §7.6.1). A `match`, which compiles to a length dispatch: a search of a
/// list compared each name with every entry (~1.4 k instructions per forwarded request).
pub(crate) fn hop_by_hop(name: &str) -> bool {
    matches!(
        name,
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "transfer-encoding"
            | "te"
            | "trailer"
            | "upgrade"
            | "proxy-authorization"
            | "proxy-authenticate"
    )
}

/// Whether a `Connection` header among `headers` lists `name` (also connection-only).
fn connection_lists(headers: &[httparse::Header<'_>], name: &str) -> bool {
    headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("connection"))
        .any(|h| has_token(h.value, name))
}

/// A header value; the media types MCP servers answer with are shared, not copied.
fn header_value(v: &[u8]) -> io::Result<HeaderValue> {
    Ok(match v {
        b"application/json" => HeaderValue::from_static("application/json"),
        b"text/event-stream" => HeaderValue::from_static("text/event-stream"),
        _ => HeaderValue::from_bytes(v).map_err(invalid)?,
    })
}

/// Whether a comma-separated header value lists `token` (ignoring ASCII case).
pub(crate) fn has_token(value: &[u8], token: &str) -> bool {
    value
        .split(|&b| b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

/// The last element of a comma-separated header value.
fn last_token(value: &[u8]) -> Option<&[u8]> {
    Some(value.rsplit(|&b| b == b',').next()?.trim_ascii())
}

/// The end of the line at the start of `avail` (the index of its CRLF), `None` while it is
/// incomplete; a line longer than [`MAX_CHUNK_LINE`] is an error, however it arrived.
fn line_end(avail: &[u8]) -> io::Result<Option<usize>> {
    let window = avail.get(..MAX_CHUNK_LINE + 2).unwrap_or(avail);
    match window.windows(2).position(|w| w == b"\r\n") {
        Some(i) => Ok(Some(i)),
        None if avail.len() >= MAX_CHUNK_LINE + 2 => Err(invalid(format!(
            "chunk line longer than {MAX_CHUNK_LINE} bytes"
        ))),
        None => Ok(None),
    }
}

/// One step of the body at `framing` over the buffered bytes `avail` (not empty), moving
/// `framing` past what the step covers. At `Length(0)` the body has ended.
pub(crate) fn step(framing: &mut Framing, avail: &[u8]) -> io::Result<Step> {
    Ok(match *framing {
        Framing::Length(0) => Step::More,
        Framing::Length(left) => {
            let n = avail.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            *framing = Framing::Length(left - n as u64);
            Step::Data(n)
        }
        Framing::ToClose => Step::Data(avail.len()),
        Framing::Chunked(Chunk::Size) => {
            let Some(i) = line_end(avail)? else {
                return Ok(Step::More);
            };
            let line = avail.get(..i).unwrap_or_default();
            let digits = line
                .split(|&b| b == b';')
                .next()
                .unwrap_or_default()
                .trim_ascii();
            if digits.is_empty() || digits.len() > 15 || !digits.iter().all(u8::is_ascii_hexdigit) {
                return Err(invalid("bad chunk size"));
            }
            let size = std::str::from_utf8(digits)
                .ok()
                .and_then(|d| u64::from_str_radix(d, 16).ok())
                .ok_or_else(|| invalid("bad chunk size"))?;
            *framing = Framing::Chunked(if size == 0 {
                Chunk::Trailers
            } else {
                Chunk::Data(size)
            });
            Step::Skip(i + 2)
        }
        Framing::Chunked(Chunk::Data(left)) => {
            let n = avail.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            let rest = left - n as u64;
            *framing = Framing::Chunked(if rest == 0 {
                Chunk::DataEnd
            } else {
                Chunk::Data(rest)
            });
            Step::Data(n)
        }
        Framing::Chunked(Chunk::DataEnd) => match avail {
            [b'\r', b'\n', ..] => {
                *framing = Framing::Chunked(Chunk::Size);
                Step::Skip(2)
            }
            [b'\r'] => Step::More,
            _ => return Err(invalid("chunk data not followed by CRLF")),
        },
        Framing::Chunked(Chunk::Trailers) => {
            let Some(i) = line_end(avail)? else {
                return Ok(Step::More);
            };
            if i == 0 {
                *framing = Framing::Length(0);
            }
            // A trailer field is dropped: the gateway passes bodies on, not trailers.
            Step::Skip(i + 2)
        }
    })
}

/// The connection closed at `framing`: fine when the body runs to the close or has ended.
pub(crate) fn at_close(framing: Framing) -> io::Result<()> {
    match framing {
        Framing::ToClose | Framing::Length(0) => Ok(()),
        _ => Err(closed_early()),
    }
}

/// A head as [`fuzz_one`] compares them: status, headers (name, value) and the framing it
/// announced.
#[cfg_attr(not(test), allow(dead_code))]
type SeenHead = (u16, Vec<(String, Vec<u8>)>, Framing);

/// What reading `data` as one answer gave, arriving in pieces of the sizes `cuts` yields (the
/// last piece takes the rest), then the close.
#[derive(Debug, PartialEq, Eq)]
#[cfg_attr(not(test), allow(dead_code))] // the fuzz target includes this file by path
struct Outcome {
    head: Option<SeenHead>,
    body: Vec<u8>,
    /// The error's message, if reading failed.
    error: Option<String>,
}

#[cfg_attr(not(test), allow(dead_code))]
fn read_in_pieces(data: &[u8], mut cuts: impl Iterator<Item = usize>) -> Outcome {
    let mut out = Outcome {
        head: None,
        body: Vec::new(),
        error: None,
    };
    let mut buf: Vec<u8> = Vec::new();
    let mut fed = 0;
    let mut framing = None;
    loop {
        // Everything the buffer allows, as the connection would before reading again.
        let progress: io::Result<()> = (|| {
            loop {
                match framing {
                    None => match read_head(&buf)? {
                        Some((head, n)) => {
                            let headers = head
                                .headers
                                .iter()
                                .map(|(k, v)| (k.as_str().to_owned(), v.as_bytes().to_vec()))
                                .collect();
                            out.head = Some((head.status.as_u16(), headers, head.framing));
                            framing = Some(head.framing);
                            buf.drain(..n);
                        }
                        None => return Ok(()),
                    },
                    Some(Framing::Length(0)) => return Ok(()),
                    Some(ref mut f) => {
                        if buf.is_empty() {
                            return Ok(());
                        }
                        match step(f, &buf)? {
                            Step::More => return Ok(()),
                            Step::Skip(n) => {
                                buf.drain(..n);
                            }
                            Step::Data(n) => {
                                out.body.extend(buf.drain(..n));
                            }
                        }
                    }
                }
            }
        })();
        if let Err(e) = progress {
            out.error = Some(e.to_string());
            return out;
        }
        if framing == Some(Framing::Length(0)) {
            return out;
        }
        if fed == data.len() {
            let end = match framing {
                None => Err(closed_early()),
                Some(f) => at_close(f),
            };
            out.error = end.err().map(|e| e.to_string());
            return out;
        }
        let n = cuts.next().unwrap_or(data.len()).clamp(1, data.len() - fed);
        buf.extend_from_slice(data.get(fed..fed + n).unwrap_or_default());
        fed += n;
    }
}

/// The fuzz target's property: `data` read as one answer gives the same head, body and error
/// whether it arrives at once, a byte at a time, or in pieces whose sizes come from `data`
/// itself; the body is never longer than the input.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn fuzz_one(data: &[u8]) {
    let whole = read_in_pieces(data, std::iter::empty());
    assert!(whole.body.len() <= data.len());
    let bytewise = read_in_pieces(data, std::iter::repeat(1));
    assert_eq!(whole, bytewise, "a byte at a time");
    let sizes = data.iter().map(|&b| usize::from(b % 17) + 1).cycle();
    assert_eq!(whole, read_in_pieces(data, sizes), "in pieces");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(text: &[u8]) -> Outcome {
        let out = read_in_pieces(text, std::iter::empty());
        fuzz_one(text);
        out
    }

    #[test]
    fn framings_as_rfc_9112_reads_them() {
        let o = whole(b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nabcdef");
        assert_eq!((o.body.as_slice(), o.error), (b"abc".as_slice(), None));
        let o = whole(b"HTTP/1.1 200 OK\r\n\r\nabcdef");
        assert_eq!((o.body.as_slice(), o.error), (b"abcdef".as_slice(), None));
        let o = whole(b"HTTP/1.1 204 No Content\r\ncontent-length: 3\r\n\r\nabc");
        assert_eq!((o.body.as_slice(), o.error), (b"".as_slice(), None));
        let o = whole(b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\nzz");
        assert_eq!(o.head.unwrap().2, Framing::ToClose);
        let o = whole(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\ncontent-length: 1\r\n\r\n\
              3;a=b\r\nabc\r\n0\r\nx: y\r\n\r\nIGNORED",
        );
        assert_eq!((o.body.as_slice(), o.error), (b"abc".as_slice(), None));
    }

    #[test]
    fn only_end_to_end_headers_are_kept() {
        let o = whole(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: keep-alive, X-Hop\r\n\
Keep-Alive: timeout=5\r\nX-Hop: secret\r\nTE: trailers\r\nTrailer: x-t\r\nUpgrade: h2c\r\n\
Proxy-Connection: close\r\nProxy-Authenticate: Basic\r\nProxy-Authorization: Basic eA==\r\n\
Transfer-Encoding: chunked\r\nLink: <a>\r\nx-a: 1\r\nlink: <b>\r\nMcp-Session-Id: s1\r\n\r\n\
2\r\nok\r\n0\r\n\r\n",
        );
        assert_eq!(o.error, None);
        assert_eq!(o.body, b"ok");
        let (status, headers, framing) = o.head.expect("a head");
        assert_eq!((status, framing), (200, Framing::Chunked(Chunk::Size)));
        let kept: Vec<(&str, &[u8])> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_slice()))
            .collect();
        // A HeaderMap keeps a name's values together, in the order they came.
        assert_eq!(
            kept,
            [
                ("content-type", b"application/json".as_slice()),
                ("link", b"<a>"),
                ("link", b"<b>"),
                ("x-a", b"1"),
                ("mcp-session-id", b"s1"),
            ]
        );
        // A length is the hop's framing too; `Connection: close` still ends the connection.
        let (head, _) = read_head(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close, x-c\r\nx-c: 1\r\ncontent-type: text/event-stream\r\n\r\n")
            .expect("a valid head")
            .expect("a whole head");
        assert!(head.close);
        assert_eq!(head.framing, Framing::Length(2));
        assert_eq!(head.headers.len(), 1);
        assert_eq!(head.headers["content-type"], "text/event-stream");
    }

    #[test]
    fn each_malformation_is_named() {
        let cases: [(&[u8], &str); 8] = [
            (b"SSH-2.0-x\r\n\r\n", "invalid HTTP response"),
            (
                b"HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n",
                "conflicting",
            ),
            (
                b"HTTP/1.1 200 OK\r\ncontent-length: 1e3\r\n\r\n",
                "bad Content-Length",
            ),
            (
                b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nx\r\n",
                "bad chunk size",
            ),
            (
                b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1\r\nab",
                "not followed by CRLF",
            ),
            (
                b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\nabc",
                "closed before message completed",
            ),
            (
                b"HTTP/1.1 200 OK\r\nx: y",
                "closed before message completed",
            ),
            (b"HTTP/1.1 101 Switching Protocols\r\n\r\n", "101"),
        ];
        for (text, expected) in cases {
            let e = whole(text).error.unwrap_or_default();
            assert!(
                e.contains(expected),
                "{e:?} for {:?}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn limits_hold_however_the_bytes_arrive() {
        let mut long_head = b"HTTP/1.1 200 OK\r\nx: ".to_vec();
        long_head.resize(MAX_HEAD + 10, b'a');
        long_head.extend_from_slice(b"\r\n\r\n");
        // In pieces of 997 bytes, not one: a head is parsed again from its start as it grows.
        let at_once = read_in_pieces(&long_head, std::iter::empty());
        assert!(at_once.error.unwrap().contains("head longer"));
        let in_pieces = read_in_pieces(&long_head, std::iter::repeat(997));
        assert!(in_pieces.error.unwrap().contains("head longer"));
        let mut long_line = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1;".to_vec();
        long_line.resize(long_line.len() + MAX_CHUNK_LINE, b'e');
        long_line.extend_from_slice(b"\r\na\r\n0\r\n\r\n");
        assert!(
            whole(&long_line)
                .error
                .unwrap()
                .contains("chunk line longer")
        );
    }

    /// The committed seeds of the fuzz target, replayed here (core's fuzz replay covers the
    /// engine's targets; this one is the gateway's).
    #[test]
    fn fuzz_seeds_replay() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
        let mut n = 0;
        for dir in ["seeds/http_answer", "artifacts/http_answer"] {
            let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
                continue;
            };
            for e in entries {
                let path = e.unwrap().path();
                fuzz_one(&std::fs::read(&path).unwrap());
                n += 1;
            }
        }
        assert!(n > 0, "no seeds in fuzz/seeds/http_answer");
    }
}
