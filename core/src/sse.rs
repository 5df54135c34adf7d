//! Incremental `text/event-stream` parsing and writing, and the policy filter that runs over
//! it event by event, so list results and notifications arriving as SSE are filtered without
//! buffering the stream.

use alloc::string::String;
use alloc::vec::Vec;

use crate::context::Context;
use crate::error::{Error, ErrorKind};
use crate::jsonrpc::Message;
use crate::policy::{Engine, Rewrite};

/// One complete event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Event {
    /// The exact bytes of the event, up to and including the blank line that ends it.
    pub raw: Vec<u8>,
    /// `event:` (absent means `message`).
    pub event: Option<String>,
    /// `data:` lines joined with `\n`; `None` when the event had no data line.
    pub data: Option<String>,
    /// `id:`.
    pub id: Option<String>,
    /// `retry:`.
    pub retry: Option<u64>,
}

impl Event {
    /// Whether this event carries a JSON-RPC message (type `message` or none, with data).
    pub fn is_message(&self) -> bool {
        self.data.as_deref().is_some_and(|d| !d.is_empty())
            && self.event.as_deref().is_none_or(|e| e == "message")
    }
}

/// Incremental parser: feed chunks as they arrive, take complete events out.
#[derive(Debug, Clone)]
pub struct Parser {
    buf: Vec<u8>,
    /// Bytes of `buf` already searched for an event end.
    scanned: usize,
    max_event_bytes: usize,
}

impl Parser {
    /// A parser that refuses events larger than `max_event_bytes` (bounded memory).
    pub fn new(max_event_bytes: usize) -> Self {
        Self {
            buf: Vec::new(),
            scanned: 0,
            max_event_bytes,
        }
    }

    /// Appends a chunk.
    pub fn push(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    /// Bytes received but not yet part of a complete event.
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }

    /// The next complete event, if one is buffered. An event over the size limit is an error
    /// (the stream cannot be filtered safely past it).
    pub fn next_event(&mut self) -> Option<Result<Event, Error>> {
        self.next(false)
    }

    /// At the end of the stream: the last event, when the buffer ends exactly on its blank
    /// line (a final lone CR can only then be known to be a line end).
    pub fn last_event(&mut self) -> Option<Result<Event, Error>> {
        self.next(true)
    }

    fn next(&mut self, eof: bool) -> Option<Result<Event, Error>> {
        let end = match find_event_end(&self.buf, if eof { 0 } else { self.scanned }, eof) {
            Some(end) => end,
            None => {
                self.scanned = self.buf.len().saturating_sub(3);
                if self.buf.len() > self.max_event_bytes {
                    return Some(Err(Error::new(
                        ErrorKind::TooLarge,
                        alloc::format!("SSE event larger than {} bytes", self.max_event_bytes),
                    )));
                }
                return None;
            }
        };
        let raw: Vec<u8> = self.buf.drain(..end).collect();
        self.scanned = 0;
        Some(parse_event(raw))
    }
}

/// The index of the first `\n` or `\r` at or after `from`. Events carry whole list results
/// (megabytes), so this looks at eight bytes at a time.
fn next_line_break(buf: &[u8], from: usize) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let has_zero = |x: u64| x.wrapping_sub(LO) & !x & HI;
    let mut i = from;
    while let Some(chunk) = buf.get(i..).and_then(<[u8]>::first_chunk::<8>) {
        let w = u64::from_le_bytes(*chunk);
        // The lowest flagged lane is exact (borrows only flag lanes above a real match).
        let mask = has_zero(w ^ (LO * u64::from(b'\n'))) | has_zero(w ^ (LO * u64::from(b'\r')));
        if mask != 0 {
            return Some(i + (mask.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    buf.get(i..)?
        .iter()
        .position(|&b| b == b'\n' || b == b'\r')
        .map(|p| i + p)
}

/// Index just past the blank line ending the first event, searching from `from`.
fn find_event_end(buf: &[u8], from: usize, eof: bool) -> Option<usize> {
    let mut i = from;
    while let Some(at) = next_line_break(buf, i) {
        let b = buf.get(at).copied()?;
        // Length of this line terminator.
        let t1 = if b == b'\r' && buf.get(at + 1) == Some(&b'\n') {
            2
        } else {
            1
        };
        if b == b'\r' && buf.get(at + 1).is_none() && !eof {
            return None; // A lone CR at the end may be the first half of CRLF.
        }
        let j = at + t1;
        match buf.get(j) {
            Some(b'\n') => return Some(j + 1),
            Some(b'\r') => {
                return match buf.get(j + 1) {
                    Some(b'\n') => Some(j + 2),
                    Some(_) => Some(j + 1),
                    None if eof => Some(j + 1),
                    None => None,
                };
            }
            _ => i = j,
        }
    }
    None
}

/// The lines of an event, split at every `\n` and `\r` (a CRLF yields an empty line between,
/// which the caller skips like any empty line).
fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    core::iter::from_fn(move || {
        let t = rest?;
        match next_line_break(t.as_bytes(), 0) {
            Some(at) => {
                // Line breaks are ASCII, so both sides are on character boundaries.
                rest = t.get(at + 1..);
                t.get(..at)
            }
            None => {
                rest = None;
                Some(t)
            }
        }
    })
}

fn parse_event(raw: Vec<u8>) -> Result<Event, Error> {
    let text = core::str::from_utf8(&raw)
        .map_err(|_| Error::new(ErrorKind::InvalidUtf8, "SSE event is not UTF-8"))?;
    let mut ev = Event::default();
    let mut data: Option<String> = None;
    for line in lines(text) {
        if line.is_empty() || line.starts_with(':') {
            continue;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "event" => ev.event = Some(String::from(value)),
            "data" => match &mut data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => data = Some(String::from(value)),
            },
            "id" if !value.contains('\0') => ev.id = Some(String::from(value)),
            "retry" => ev.retry = value.parse().ok(),
            _ => {}
        }
    }
    ev.data = data;
    ev.raw = raw;
    Ok(ev)
}

/// Writes one event with the given fields; multi-line data becomes several `data:` lines.
pub fn write_event(
    out: &mut Vec<u8>,
    event: Option<&str>,
    id: Option<&str>,
    retry: Option<u64>,
    data: &str,
) {
    if let Some(e) = event {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(e.as_bytes());
        out.push(b'\n');
    }
    if let Some(i) = id {
        out.extend_from_slice(b"id: ");
        out.extend_from_slice(i.as_bytes());
        out.push(b'\n');
    }
    if let Some(r) = retry {
        out.extend_from_slice(alloc::format!("retry: {r}\n").as_bytes());
    }
    for line in data.split('\n') {
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    out.push(b'\n');
}

/// What the filter did with one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventAction {
    /// Passed untouched (not a message, or nothing to change).
    Passed,
    /// Its data was rewritten.
    Rewritten,
    /// Dropped (e.g. an update for a hidden resource).
    Dropped,
    /// Its data was not a JSON-RPC message; replaced by a JSON-RPC parse error.
    Invalid(Error),
}

/// Filters an SSE response stream through the policy, event by event.
#[derive(Debug)]
pub struct Filter<'e> {
    engine: &'e Engine,
    parser: Parser,
    /// Parsed once: every event of the stream is filtered as an answer to it.
    request: Option<Message<'e>>,
}

impl<'e> Filter<'e> {
    /// A filter for the response stream of `request` (the client's request body, when the
    /// stream answers one; `None` for a standalone GET stream). The body is parsed here, once,
    /// and borrowed for the life of the filter; a body that does not parse counts as `None`
    /// (the host must not have forwarded it).
    pub fn new(engine: &'e Engine, request: Option<&'e [u8]>) -> Self {
        let request = request.and_then(|r| Message::parse(r, engine.limits()).ok());
        Self::for_message(engine, request)
    }

    /// [`Filter::new`] for a request the host has already parsed.
    pub fn for_message(engine: &'e Engine, request: Option<Message<'e>>) -> Self {
        let max = engine.limits().max_body_bytes;
        Self {
            engine,
            parser: Parser::new(max),
            request,
        }
    }

    /// Feeds a chunk; appends to `out` the bytes to send downstream for every event it
    /// completes, and returns what happened to each. Bytes of an incomplete event stay
    /// buffered until its end arrives.
    pub fn push(
        &mut self,
        chunk: &[u8],
        ctx: &Context<'_>,
        out: &mut Vec<u8>,
    ) -> Result<Vec<EventAction>, Error> {
        self.parser.push(chunk);
        let mut actions = Vec::new();
        while let Some(ev) = self.parser.next_event() {
            let ev = ev?;
            actions.push(self.event(ev, ctx, out));
        }
        Ok(actions)
    }

    /// Ends the stream: filters an event completed only by the end of input, appending to
    /// `out`, and returns the bytes left over (an unterminated event), which a host must not
    /// forward unfiltered.
    pub fn finish(mut self, ctx: &Context<'_>, out: &mut Vec<u8>) -> Vec<u8> {
        while let Some(Ok(ev)) = self.parser.last_event() {
            self.event(ev, ctx, out);
        }
        self.parser.buf
    }

    fn event(&self, ev: Event, ctx: &Context<'_>, out: &mut Vec<u8>) -> EventAction {
        if !ev.is_message() {
            out.extend_from_slice(&ev.raw);
            return EventAction::Passed;
        }
        let data = ev.data.as_deref().unwrap_or("");
        let filtered = match self
            .engine
            .filter_body(self.request.as_ref(), data.as_bytes(), ctx)
        {
            Ok((_, f)) => f,
            Err(e) => {
                write_event(
                    out,
                    ev.event.as_deref(),
                    ev.id.as_deref(),
                    ev.retry,
                    &e.to_jsonrpc_response(None),
                );
                return EventAction::Invalid(e);
            }
        };
        match filtered.rewrite {
            Rewrite::Unchanged => {
                out.extend_from_slice(&ev.raw);
                EventAction::Passed
            }
            Rewrite::Replaced(text) => {
                write_event(out, ev.event.as_deref(), ev.id.as_deref(), ev.retry, &text);
                EventAction::Rewritten
            }
            Rewrite::Dropped => EventAction::Dropped,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(input: &[u8], split: usize) -> Vec<Event> {
        let mut p = Parser::new(1 << 20);
        let mut out = Vec::new();
        for chunk in input.chunks(split.max(1)) {
            p.push(chunk);
            while let Some(e) = p.next_event() {
                out.push(e.unwrap());
            }
        }
        while let Some(e) = p.last_event() {
            out.push(e.unwrap());
        }
        assert!(p.pending().is_empty());
        out
    }

    #[test]
    fn parses_fields_across_any_split() {
        let input = b"id: 1\ndata: \n\nevent: message\nid: 2\ndata: {\"a\":1}\n\n: comment\r\nretry: 500\r\ndata: x\r\ndata: y\r\n\r\nevent: other\rdata: z\r\r";
        for split in 1..input.len() {
            let evs = events(input, split);
            assert_eq!(evs.len(), 4, "split {split}");
            assert_eq!(evs[0].id.as_deref(), Some("1"));
            assert_eq!(evs[0].data.as_deref(), Some(""));
            assert!(!evs[0].is_message());
            assert_eq!(evs[1].data.as_deref(), Some("{\"a\":1}"));
            assert!(evs[1].is_message());
            assert_eq!(evs[2].retry, Some(500));
            assert_eq!(evs[2].data.as_deref(), Some("x\ny"));
            assert_eq!(evs[3].event.as_deref(), Some("other"));
            assert!(!evs[3].is_message());
            let joined: Vec<u8> = evs.iter().flat_map(|e| e.raw.clone()).collect();
            assert_eq!(joined, input.to_vec());
        }
    }

    #[test]
    fn oversized_events_are_refused() {
        let mut p = Parser::new(16);
        p.push(b"data: 0123456789012345678901234567890");
        assert_eq!(
            p.next_event().unwrap().unwrap_err().kind(),
            ErrorKind::TooLarge
        );
    }

    #[test]
    fn writes_multiline_data() {
        let mut out = Vec::new();
        write_event(&mut out, Some("message"), Some("7"), None, "a\nb");
        assert_eq!(out, b"event: message\nid: 7\ndata: a\ndata: b\n\n");
    }
}
