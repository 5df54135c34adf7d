//! Incremental `text/event-stream` parsing and writing (the WHATWG HTML "server-sent events"
//! grammar), used by the exchange API to judge answers that arrive as SSE.
//!
//! The parser takes chunks split anywhere and yields each block of lines ended by a blank line,
//! with everything a client relies on: `id:` (for `Last-Event-ID`), `retry:`, `event:`,
//! comments (keep-alives). It follows the grammar exactly where clients could read a stream
//! otherwise: one leading UTF-8 byte order mark is skipped (also when split across chunks),
//! lines end at CRLF, LF or a lone CR (also when the CR ends one chunk and the LF starts the
//! next), `data:` lines are joined with `\n`, one space after the colon is removed, an `id`
//! holding NUL is ignored, and a `retry` that is not all digits is ignored. Hosts never
//! forward the input bytes: they forward what [`Event::write`] makes of the parsed event, so a
//! client reads exactly what was judged.

use alloc::vec::Vec;

use crate::error::{Error, ErrorKind};

/// One block of the stream: the fields of an event, or only comments.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Event {
    /// Comment lines, without the leading `:`.
    pub comments: Vec<Vec<u8>>,
    /// `event:` (absent means `message`).
    pub event: Option<Vec<u8>>,
    /// `id:` (the last valid one in the block).
    pub id: Option<Vec<u8>>,
    /// `retry:` (digits only).
    pub retry: Option<Vec<u8>>,
    /// `data:` lines joined with `\n`; `None` when the block had no data line.
    pub data: Option<Vec<u8>>,
}

impl Event {
    /// Whether the event carries a JSON-RPC message: type `message` (or none) with data.
    pub fn is_message(&self) -> bool {
        self.data.as_ref().is_some_and(|d| !d.is_empty()) && self.is_message_type()
    }

    /// Whether the event's type is `message` (or absent, which means `message`).
    pub fn is_message_type(&self) -> bool {
        self.event.as_deref().is_none_or(|e| e == b"message")
    }

    /// Writes the event, ending with the blank line that dispatches it: comments, `event`,
    /// `id`, `retry`, then `data` (one `data:` line per line of it). Line breaks inside
    /// `data` (LF, CR or CRLF) become separate `data:` lines, which a client joins back with
    /// `\n`; the other fields cannot hold line breaks once parsed.
    pub fn write(&self, out: &mut Vec<u8>) {
        for c in &self.comments {
            out.push(b':');
            out.extend_from_slice(c);
            out.push(b'\n');
        }
        if let Some(e) = &self.event {
            field(out, b"event", e);
        }
        if let Some(i) = &self.id {
            field(out, b"id", i);
        }
        if let Some(r) = &self.retry {
            field(out, b"retry", r);
        }
        if let Some(d) = &self.data {
            write_data(out, d);
        }
        out.push(b'\n');
    }

    /// Whether writing the event would produce only its blank line.
    pub fn is_empty(&self) -> bool {
        self.comments.is_empty()
            && self.event.is_none()
            && self.id.is_none()
            && self.retry.is_none()
            && self.data.is_none()
    }
}

fn field(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.push(b':');
    if !value.is_empty() {
        out.push(b' ');
        out.extend_from_slice(value);
    }
    out.push(b'\n');
}

/// Writes `data` as `data:` lines.
pub fn write_data(out: &mut Vec<u8>, data: &[u8]) {
    let mut rest = data;
    loop {
        match next_line_break(rest, 0) {
            Some(at) => {
                field(out, b"data", rest.get(..at).unwrap_or_default());
                let skip = if rest.get(at) == Some(&b'\r') && rest.get(at + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                rest = rest.get(at + skip..).unwrap_or_default();
            }
            None => {
                field(out, b"data", rest);
                return;
            }
        }
    }
}

/// Writes one `message` event carrying `data` (with an `id` when given).
pub fn write_message(out: &mut Vec<u8>, id: Option<&[u8]>, data: &[u8]) {
    out.extend_from_slice(b"event: message\n");
    if let Some(i) = id {
        field(out, b"id", i);
    }
    write_data(out, data);
    out.push(b'\n');
}

/// The index of the first `\n` or `\r` at or after `from`. Events carry whole list results
/// (megabytes) on one line, so this is memchr's vectorised search.
#[inline]
fn next_line_break(buf: &[u8], from: usize) -> Option<usize> {
    memchr::memchr2(b'\n', b'\r', buf.get(from..)?).map(|p| from + p)
}

const BOM: &[u8; 3] = b"\xEF\xBB\xBF";

/// Incremental parser: feed chunks with [`Parser::push`], which hands over each completed
/// block, then call [`Parser::finish`] at the end of the stream.
#[derive(Debug, Clone)]
pub struct Parser {
    /// A line begun in an earlier chunk.
    line: Vec<u8>,
    pending: Event,
    /// Whether the block being read has any line yet.
    has_fields: bool,
    /// Bytes of the block being read (lines and their ends).
    block_bytes: usize,
    /// The previous chunk ended with CR; an LF starting the next one belongs to it.
    after_cr: bool,
    /// How many bytes of a leading BOM were seen; 3 once the start of the stream is past.
    bom: usize,
    max_event_bytes: usize,
}

impl Parser {
    /// A parser that refuses blocks (and lines) larger than `max_event_bytes`.
    pub fn new(max_event_bytes: usize) -> Self {
        Self {
            line: Vec::new(),
            pending: Event::default(),
            has_fields: false,
            block_bytes: 0,
            after_cr: false,
            bom: 0,
            max_event_bytes,
        }
    }

    /// Feeds one chunk. `on_event` receives each completed block in order and returns whether
    /// to go on: `false` stops the parse (the rest of the chunk is not read). An error means
    /// the stream cannot be read past this point (a block over the size limit).
    pub fn push(
        &mut self,
        mut chunk: &[u8],
        mut on_event: impl FnMut(Event) -> bool,
    ) -> Result<(), Error> {
        if self.bom < BOM.len() {
            while let Some((&b, rest)) = chunk.split_first() {
                if b != BOM[self.bom] {
                    // Not a BOM after all: the bytes taken for one belong to the first line.
                    self.line.extend_from_slice(&BOM[..self.bom]);
                    self.bom = BOM.len();
                    break;
                }
                chunk = rest;
                self.bom += 1;
                if self.bom == BOM.len() {
                    break;
                }
            }
            if self.bom < BOM.len() {
                return Ok(());
            }
        }
        if self.after_cr && !chunk.is_empty() {
            self.after_cr = false;
            if let Some(rest) = chunk.strip_prefix(b"\n") {
                chunk = rest;
            }
        }
        while let Some(at) = next_line_break(chunk, 0) {
            let (head, tail) = chunk.split_at(at);
            let go_on = if self.line.is_empty() {
                self.line_done(head, &mut on_event)?
            } else {
                let mut line = core::mem::take(&mut self.line);
                line.extend_from_slice(head);
                let r = self.line_done(&line, &mut on_event);
                line.clear();
                self.line = line;
                r?
            };
            let mut skip = 1;
            if tail.first() == Some(&b'\r') {
                match tail.get(1) {
                    Some(b'\n') => skip = 2,
                    None => self.after_cr = true,
                    Some(_) => {}
                }
            }
            chunk = tail.get(skip..).unwrap_or_default();
            if !go_on {
                return Ok(());
            }
        }
        self.line.extend_from_slice(chunk);
        if self.block_bytes + self.line.len() > self.max_event_bytes {
            return Err(self.too_large());
        }
        Ok(())
    }

    fn too_large(&self) -> Error {
        Error::new(
            ErrorKind::TooLarge,
            alloc::format!("SSE event larger than {} bytes", self.max_event_bytes),
        )
    }

    fn line_done(
        &mut self,
        line: &[u8],
        on_event: &mut impl FnMut(Event) -> bool,
    ) -> Result<bool, Error> {
        if line.is_empty() {
            if !self.has_fields {
                return Ok(true);
            }
            self.has_fields = false;
            self.block_bytes = 0;
            return Ok(on_event(core::mem::take(&mut self.pending)));
        }
        self.block_bytes += line.len() + 1;
        if self.block_bytes > self.max_event_bytes {
            return Err(self.too_large());
        }
        self.has_fields = true;
        if let Some(comment) = line.strip_prefix(b":") {
            self.pending.comments.push(comment.to_vec());
            return Ok(true);
        }
        let (name, value) = match line.iter().position(|&b| b == b':') {
            Some(p) => {
                let v = line.get(p + 1..).unwrap_or_default();
                (
                    line.get(..p).unwrap_or_default(),
                    v.strip_prefix(b" ").unwrap_or(v),
                )
            }
            None => (line, &b""[..]),
        };
        match name {
            b"data" => match &mut self.pending.data {
                Some(d) => {
                    d.push(b'\n');
                    d.extend_from_slice(value);
                }
                None => self.pending.data = Some(value.to_vec()),
            },
            b"event" => self.pending.event = Some(value.to_vec()),
            b"id" if !value.contains(&0) => self.pending.id = Some(value.to_vec()),
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                self.pending.retry = Some(value.to_vec());
            }
            _ => {}
        }
        Ok(true)
    }

    /// Whether a block is partly read (a stream ending here was cut mid-event).
    pub fn has_partial(&self) -> bool {
        self.has_fields || !self.line.is_empty() || (self.bom > 0 && self.bom < BOM.len())
    }

    /// Ends the stream. A block still without its blank line is not dispatched (as clients
    /// do) and is reported as an error, since whatever it held was never judged.
    pub fn finish(&mut self) -> Result<(), Error> {
        self.after_cr = false;
        if self.has_partial() {
            return Err(Error::new(
                ErrorKind::Syntax,
                "the event stream ended inside an event (no blank line after it)",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    const STREAM: &[u8] = b"\xEF\xBB\xBFid: p1\ndata:\n\n\
: keep-alive\n\n\
event: message\r\nid: e1\r\ndata: {\"jsonrpc\":\"2.0\",\r\ndata: \"id\":1}\r\n\r\n\
retry: 1000\rid: e2\rdata: {\"a\":1}\r\r\
event: endpoint\ndata: /x?y=1\n\n\
id\nfoo: bar\nretry: soon\nid: a\0b\ndata:  two spaces\n\n";

    fn expected() -> Vec<Event> {
        vec![
            Event {
                id: Some(b"p1".to_vec()),
                data: Some(vec![]),
                ..Default::default()
            },
            Event {
                comments: vec![b" keep-alive".to_vec()],
                ..Default::default()
            },
            Event {
                event: Some(b"message".to_vec()),
                id: Some(b"e1".to_vec()),
                data: Some(b"{\"jsonrpc\":\"2.0\",\n\"id\":1}".to_vec()),
                ..Default::default()
            },
            Event {
                retry: Some(b"1000".to_vec()),
                id: Some(b"e2".to_vec()),
                data: Some(b"{\"a\":1}".to_vec()),
                ..Default::default()
            },
            Event {
                event: Some(b"endpoint".to_vec()),
                data: Some(b"/x?y=1".to_vec()),
                ..Default::default()
            },
            Event {
                id: Some(vec![]),
                data: Some(b" two spaces".to_vec()),
                ..Default::default()
            },
        ]
    }

    fn parse_split(stream: &[u8], cuts: &[usize]) -> Vec<Event> {
        let mut p = Parser::new(1 << 16);
        let mut out = Vec::new();
        let mut last = 0;
        for &c in cuts.iter().chain(core::iter::once(&stream.len())) {
            p.push(&stream[last..c], |e| {
                out.push(e);
                true
            })
            .unwrap();
            last = c;
        }
        p.finish().unwrap();
        out
    }

    #[test]
    fn whole_stream() {
        assert_eq!(parse_split(STREAM, &[]), expected());
    }

    #[test]
    fn every_split_point_and_every_pair() {
        for a in 0..=STREAM.len() {
            assert_eq!(parse_split(STREAM, &[a]), expected(), "cut at {a}");
            for b in a..=STREAM.len() {
                assert_eq!(parse_split(STREAM, &[a, b]), expected(), "cuts {a} {b}");
            }
        }
    }

    #[test]
    fn a_bom_is_skipped_once_and_only_at_the_start() {
        let evs = parse_split(b"\xEF\xBB\xBF\xEF\xBB\xBFdata: x\n\n", &[1, 4]);
        // The second BOM is part of the first field name, which is then unknown.
        assert_eq!(evs.len(), 1);
        assert_eq!(evs[0].data, None);
        let evs = parse_split(b"\xEFdata: x\n\n", &[]);
        assert_eq!(evs[0].data, None);
    }

    #[test]
    fn round_trip() {
        let events = expected();
        let mut text = Vec::new();
        for e in &events {
            e.write(&mut text);
        }
        assert_eq!(parse_split(&text, &[]), events);
    }

    #[test]
    fn message_classification() {
        let e = expected();
        assert!(!e[0].is_message(), "priming event has empty data");
        assert!(!e[1].is_message());
        assert!(e[2].is_message() && e[3].is_message());
        assert!(!e[4].is_message(), "endpoint events are not JSON-RPC");
    }

    #[test]
    fn oversized_blocks_are_refused() {
        let mut p = Parser::new(16);
        assert!(p.push(b"data: 0123456789", |_| true).is_ok());
        assert_eq!(
            p.push(b"abcdef\n", |_| true).unwrap_err().kind(),
            ErrorKind::TooLarge
        );
        let mut p = Parser::new(24);
        assert!(p.push(b"data: 0123\ndata: 4567\n", |_| true).is_ok());
        assert!(p.push(b"data: 89\n", |_| true).is_err());
    }

    #[test]
    fn a_cut_stream_is_an_error_at_the_end() {
        let mut p = Parser::new(1024);
        p.push(b"data: {}\n", |_| true).unwrap();
        assert!(p.finish().is_err());
        let mut p = Parser::new(1024);
        p.push(b"data: {}\r\r", |_| true).unwrap();
        assert!(p.finish().is_ok());
    }

    #[test]
    fn multi_line_data_is_written_as_lines() {
        let mut out = Vec::new();
        write_message(&mut out, Some(b"9"), b"a\r\nb\rc\nd");
        assert_eq!(
            out,
            b"event: message\nid: 9\ndata: a\ndata: b\ndata: c\ndata: d\n\n"
        );
    }
}
