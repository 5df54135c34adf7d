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
use core::ops::Range;

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
        self.view().is_message()
    }

    /// Whether the event's type is `message` (or absent, which means `message`).
    pub fn is_message_type(&self) -> bool {
        self.view().is_message_type()
    }

    /// Writes the event, ending with the blank line that dispatches it: comments, `event`,
    /// `id`, `retry`, then `data` (one `data:` line per line of it). Line breaks inside
    /// `data` (LF, CR or CRLF) become separate `data:` lines, which a client joins back with
    /// `\n`; the other fields cannot hold line breaks once parsed.
    pub fn write(&self, out: &mut Vec<u8>) {
        self.view().write(out);
    }

    /// Whether writing the event would produce only its blank line.
    pub fn is_empty(&self) -> bool {
        self.view().is_empty()
    }

    /// The event as a borrowed view.
    pub fn view(&self) -> EventRef<'_> {
        EventRef {
            comments: &self.comments,
            event: self.event.as_deref(),
            id: self.id.as_deref(),
            retry: self.retry.as_deref(),
            data: self.data.as_deref(),
        }
    }
}

/// One block of the stream, borrowed from the parser (and, when the whole block arrived in
/// one chunk, from that chunk): what [`Parser::push_ref`] hands over, so that judging an
/// event copies nothing. The fields mean what [`Event`]'s do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EventRef<'a> {
    /// Comment lines, without the leading `:`.
    pub comments: &'a [Vec<u8>],
    /// `event:` (absent means `message`).
    pub event: Option<&'a [u8]>,
    /// `id:` (the last valid one in the block).
    pub id: Option<&'a [u8]>,
    /// `retry:` (digits only).
    pub retry: Option<&'a [u8]>,
    /// `data:` lines joined with `\n`; `None` when the block had no data line.
    pub data: Option<&'a [u8]>,
}

impl EventRef<'_> {
    /// Whether the event carries a JSON-RPC message: type `message` (or none) with data.
    pub fn is_message(&self) -> bool {
        self.data.is_some_and(|d| !d.is_empty()) && self.is_message_type()
    }

    /// Whether the event's type is `message` (or absent, which means `message`).
    pub fn is_message_type(&self) -> bool {
        self.event.is_none_or(|e| e == b"message")
    }

    /// Writes the event as [`Event::write`] does.
    pub fn write(&self, out: &mut Vec<u8>) {
        // One growth of `out` for the whole event (more only for data of several lines):
        // each field adds its name, `: ` and a line end.
        let fields = [self.event, self.id, self.retry, self.data];
        let size = self.comments.iter().map(|c| c.len() + 2).sum::<usize>()
            + fields.iter().flatten().map(|f| f.len() + 8).sum::<usize>()
            + 1;
        out.reserve(size);
        for c in self.comments {
            out.push(b':');
            out.extend_from_slice(c);
            out.push(b'\n');
        }
        if let Some(e) = self.event {
            field(out, b"event", e);
        }
        if let Some(i) = self.id {
            field(out, b"id", i);
        }
        if let Some(r) = self.retry {
            field(out, b"retry", r);
        }
        if let Some(d) = self.data {
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

    /// The event with its own copies of the fields.
    pub fn to_event(&self) -> Event {
        Event {
            comments: self.comments.to_vec(),
            event: self.event.map(<[u8]>::to_vec),
            id: self.id.map(<[u8]>::to_vec),
            retry: self.retry.map(<[u8]>::to_vec),
            data: self.data.map(<[u8]>::to_vec),
        }
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
    out.reserve(data.len() + id.map_or(0, <[u8]>::len) + 32);
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

/// The room a data line begun in one chunk and ended in a later one starts with: a list
/// result of a few dozen tools, so that such a line is not copied again each time it
/// outgrows its buffer.
const LINE_START_BYTES: usize = 16 << 10;
/// Buffers larger than this are freed after their block instead of kept for the next one:
/// a stream that once carried a large event does not hold its size for the rest of its life.
const KEEP_BYTES: usize = 64 << 10;

/// The longest field value a [`Slot`] holds without allocating: event types, retry digits and
/// the usual event ids (UUIDs, counters, cursors) fit.
const SLOT_INLINE: usize = 64;

/// A field of the block being read (`event`, `id`, `retry`). A short value is kept inline, so
/// reading it allocates nothing; a longer one goes to a buffer kept from block to block, which
/// then allocates once per stream, not once per event.
#[derive(Debug, Clone)]
struct Slot {
    inline: [u8; SLOT_INLINE],
    /// The value's length, inline, or `None` when it is in `heap`.
    len: Option<usize>,
    heap: Vec<u8>,
    set: bool,
}

impl Default for Slot {
    fn default() -> Self {
        Self {
            inline: [0; SLOT_INLINE],
            len: Some(0),
            heap: Vec::new(),
            set: false,
        }
    }
}

impl Slot {
    fn set(&mut self, v: &[u8]) {
        self.set = true;
        if let Some(room) = self.inline.get_mut(..v.len()) {
            room.copy_from_slice(v);
            self.len = Some(v.len());
        } else {
            self.heap.clear();
            self.heap.extend_from_slice(v);
            self.len = None;
        }
    }

    fn get(&self) -> Option<&[u8]> {
        if !self.set {
            return None;
        }
        Some(match self.len {
            Some(n) => self.inline.get(..n).unwrap_or_default(),
            None => &self.heap,
        })
    }

    fn clear(&mut self) {
        self.set = false;
        if self.heap.capacity() > KEEP_BYTES {
            self.heap = Vec::new();
        }
    }
}

/// Where the data of the block being read is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Data {
    /// The block has no data line (yet).
    None,
    /// One data line, still inside the chunk being read: borrowed from it, not copied, when
    /// the block ends in the same chunk.
    InChunk(Range<usize>),
    /// `data_buf[start..]`: a line that spanned chunks (the buffer is that line, moved rather
    /// than copied), or several data lines joined.
    Owned { start: usize },
}

/// What one complete line asks of the block being read.
enum LineKind {
    /// The blank line that ends the block.
    Blank,
    /// A data line; its value starts at this offset of the line.
    Data(usize),
    /// Anything else (already taken into the block).
    Other,
}

/// Incremental parser: feed chunks with [`Parser::push`] (or [`Parser::push_ref`]), which
/// hands over each completed block, then call [`Parser::finish`] at the end of the stream.
#[derive(Debug, Clone)]
pub struct Parser {
    /// A line begun in an earlier chunk.
    line: Vec<u8>,
    comments: Vec<Vec<u8>>,
    event: Slot,
    id: Slot,
    retry: Slot,
    data: Data,
    /// The data of [`Data::Owned`].
    data_buf: Vec<u8>,
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
            comments: Vec::new(),
            event: Slot::default(),
            id: Slot::default(),
            retry: Slot::default(),
            data: Data::None,
            data_buf: Vec::new(),
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
        chunk: &[u8],
        mut on_event: impl FnMut(Event) -> bool,
    ) -> Result<(), Error> {
        self.push_ref(chunk, |e| on_event(e.to_event()))
    }

    /// [`Parser::push`] handing over borrowed blocks: a block that arrived whole in `chunk`
    /// with one data line is not copied at all, one that spanned chunks is assembled once.
    pub fn push_ref(
        &mut self,
        mut chunk: &[u8],
        mut on_event: impl FnMut(EventRef<'_>) -> bool,
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
        let read = self.read_lines(chunk, &mut on_event);
        // Data borrowed from the chunk outlives it only as a copy.
        self.own_data(chunk);
        let rest = read?;
        if self.line.is_empty() && rest.starts_with(b"data:") {
            self.line
                .reserve(LINE_START_BYTES.min(self.max_event_bytes).max(rest.len()));
        }
        self.line.extend_from_slice(rest);
        if self.block_bytes + self.line.len() > self.max_event_bytes {
            return Err(self.too_large());
        }
        Ok(())
    }

    /// Reads the complete lines of `buf`; returns what is left of it (the start of a line),
    /// empty when `on_event` stopped the parse.
    fn read_lines<'c>(
        &mut self,
        buf: &'c [u8],
        on_event: &mut impl FnMut(EventRef<'_>) -> bool,
    ) -> Result<&'c [u8], Error> {
        let mut pos = 0;
        while let Some(at) = next_line_break(buf, pos) {
            let go_on = if self.line.is_empty() {
                let line = buf.get(pos..at).unwrap_or_default();
                match self.take_line(line)? {
                    LineKind::Blank => self.dispatch(buf, on_event),
                    LineKind::Data(v) => {
                        self.add_data_in_chunk(buf, pos + v..at);
                        true
                    }
                    LineKind::Other => true,
                }
            } else {
                self.line
                    .extend_from_slice(buf.get(pos..at).unwrap_or_default());
                self.buffered_line_done(buf, on_event)?
            };
            let mut skip = 1;
            if buf.get(at) == Some(&b'\r') {
                match buf.get(at + 1) {
                    Some(b'\n') => skip = 2,
                    None => self.after_cr = true,
                    Some(_) => {}
                }
            }
            pos = at + skip;
            if !go_on {
                return Ok(&[]);
            }
        }
        Ok(buf.get(pos..).unwrap_or_default())
    }

    fn too_large(&self) -> Error {
        Error::new(
            ErrorKind::TooLarge,
            alloc::format!("SSE event larger than {} bytes", self.max_event_bytes),
        )
    }

    /// Takes one complete line into the block, except data, which the caller places (where
    /// it is depends on where the line is).
    fn take_line(&mut self, line: &[u8]) -> Result<LineKind, Error> {
        if line.is_empty() {
            return Ok(LineKind::Blank);
        }
        self.block_bytes += line.len() + 1;
        if self.block_bytes > self.max_event_bytes {
            return Err(self.too_large());
        }
        self.has_fields = true;
        if let Some(comment) = line.strip_prefix(b":") {
            self.comments.push(comment.to_vec());
            return Ok(LineKind::Other);
        }
        let (name, at) = match line.iter().position(|&b| b == b':') {
            Some(p) => {
                let after = p + 1;
                let at = if line.get(after) == Some(&b' ') {
                    after + 1
                } else {
                    after
                };
                (line.get(..p).unwrap_or_default(), at)
            }
            None => (line, line.len()),
        };
        let value = line.get(at..).unwrap_or_default();
        match name {
            b"data" => return Ok(LineKind::Data(at)),
            b"event" => self.event.set(value),
            b"id" if !value.contains(&0) => self.id.set(value),
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                self.retry.set(value);
            }
            _ => {}
        }
        Ok(LineKind::Other)
    }

    /// The line in `self.line` is complete (its end in `buf`, the chunk being read).
    fn buffered_line_done(
        &mut self,
        buf: &[u8],
        on_event: &mut impl FnMut(EventRef<'_>) -> bool,
    ) -> Result<bool, Error> {
        let mut line = core::mem::take(&mut self.line);
        let kind = self.take_line(&line);
        let go_on = match kind {
            Ok(LineKind::Data(v)) if self.data == Data::None => {
                // The first data line: it becomes the data buffer as it is, uncopied.
                line = core::mem::replace(&mut self.data_buf, line);
                self.data = Data::Owned { start: v };
                Ok(true)
            }
            Ok(LineKind::Data(v)) => {
                self.append_data(buf, line.get(v..).unwrap_or_default());
                Ok(true)
            }
            Ok(LineKind::Blank) => Ok(self.dispatch(buf, on_event)),
            Ok(LineKind::Other) => Ok(true),
            Err(e) => Err(e),
        };
        line.clear();
        if line.capacity() > KEEP_BYTES {
            line = Vec::new();
        }
        self.line = line;
        go_on
    }

    /// A data line wholly inside `buf`, its value at `value`.
    fn add_data_in_chunk(&mut self, buf: &[u8], value: Range<usize>) {
        if self.data == Data::None {
            self.data = Data::InChunk(value);
        } else {
            self.append_data(buf, buf.get(value).unwrap_or_default());
        }
    }

    /// Data borrowed from `buf` (the chunk being read) copied into the data buffer.
    fn own_data(&mut self, buf: &[u8]) {
        if let Data::InChunk(r) = &self.data {
            self.data_buf.clear();
            self.data_buf
                .extend_from_slice(buf.get(r.clone()).unwrap_or_default());
            self.data = Data::Owned { start: 0 };
        }
    }

    /// A further data line: joined to the data with `\n`.
    fn append_data(&mut self, buf: &[u8], value: &[u8]) {
        self.own_data(buf);
        match self.data {
            Data::Owned { .. } => self.data_buf.push(b'\n'),
            _ => {
                self.data_buf.clear();
                self.data = Data::Owned { start: 0 };
            }
        }
        self.data_buf.extend_from_slice(value);
    }

    /// The blank line: hands the block over (if it has any line) and starts the next one.
    fn dispatch(&mut self, buf: &[u8], on_event: &mut impl FnMut(EventRef<'_>) -> bool) -> bool {
        if !self.has_fields {
            return true;
        }
        let data = match &self.data {
            Data::None => None,
            Data::InChunk(r) => Some(buf.get(r.clone()).unwrap_or_default()),
            Data::Owned { start } => Some(self.data_buf.get(*start..).unwrap_or_default()),
        };
        let go_on = on_event(EventRef {
            comments: &self.comments,
            event: self.event.get(),
            id: self.id.get(),
            retry: self.retry.get(),
            data,
        });
        self.has_fields = false;
        self.block_bytes = 0;
        self.comments.clear();
        self.event.clear();
        self.id.clear();
        self.retry.clear();
        self.data = Data::None;
        if self.data_buf.capacity() > KEEP_BYTES {
            self.data_buf = Vec::new();
        }
        go_on
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

    /// A list result on one data line, longer than the room a split line starts with, with
    /// an event before and after it.
    fn long_stream() -> (Vec<u8>, Vec<u8>) {
        let data: Vec<u8> = (0..(LINE_START_BYTES * 2 + 77))
            .map(|i| b'a' + (i % 26) as u8)
            .collect();
        let mut s = b"id: 1\ndata: x\n\nevent: message\nid: 2\ndata: ".to_vec();
        s.extend_from_slice(&data);
        s.extend_from_slice(b"\r\ndata: tail\r\n\r\n: ping\n\n");
        (s, data)
    }

    #[test]
    fn a_long_data_line_in_any_pieces() {
        let (stream, data) = long_stream();
        let whole = parse_split(&stream, &[]);
        assert_eq!(whole.len(), 3);
        let mut joined = data.clone();
        joined.extend_from_slice(b"\ntail");
        assert_eq!(whole[1].data.as_deref(), Some(&joined[..]));
        let around_the_room = [LINE_START_BYTES - 1, LINE_START_BYTES + 1];
        for step in [1, 2, 3, 7, 100, 4096].into_iter().chain(around_the_room) {
            let cuts: Vec<usize> = (step..stream.len()).step_by(step).collect();
            assert_eq!(parse_split(&stream, &cuts), whole, "pieces of {step}");
        }
        // Cut just before, inside and after each line end and the data's value.
        let data_at = stream.windows(6).position(|w| w == b"data: ").unwrap();
        for a in [data_at, data_at + 1, data_at + 5, data_at + 6, data_at + 7] {
            for b in (stream.len() - 30)..=stream.len() {
                assert_eq!(parse_split(&stream, &[a, b]), whole, "cuts {a} {b}");
            }
        }
    }

    #[test]
    fn a_block_inside_one_chunk_is_not_copied() {
        let chunk = b"id: 7\ndata: {\"a\":1}\n\ndata: two\ndata: lines\n\n";
        let mut p = Parser::new(1024);
        let mut seen = Vec::new();
        p.push_ref(chunk, |e| {
            let d = e.data.unwrap();
            seen.push((d.to_vec(), chunk.as_ptr_range().contains(&d.as_ptr())));
            true
        })
        .unwrap();
        p.finish().unwrap();
        assert_eq!(
            seen,
            [
                (b"{\"a\":1}".to_vec(), true),
                (b"two\nlines".to_vec(), false)
            ]
        );
    }

    #[test]
    fn buffers_do_not_keep_the_size_of_a_large_event() {
        let mut p = Parser::new(1 << 20);
        let mut big = b"id: ".to_vec();
        big.resize(KEEP_BYTES * 2, b'i');
        big.extend_from_slice(b"\ndata: ");
        let data_at = big.len();
        big.resize(data_at + KEEP_BYTES * 2, b'd');
        big.extend_from_slice(b"\ndata: x\n\n");
        let mut n = 0;
        for piece in big.chunks(1000) {
            p.push_ref(piece, |e| {
                assert_eq!(e.data.map(<[u8]>::len), Some(KEEP_BYTES * 2 + 2));
                n += 1;
                true
            })
            .unwrap();
        }
        assert_eq!(n, 1);
        assert!(!p.has_partial());
        for cap in [
            p.line.capacity(),
            p.data_buf.capacity(),
            p.id.heap.capacity(),
        ] {
            assert!(cap <= KEEP_BYTES, "{cap}");
        }
    }

    #[test]
    fn fields_either_side_of_the_inline_size_read_back_whole() {
        let long_type = vec![b't'; SLOT_INLINE + 1];
        let lens = [SLOT_INLINE, SLOT_INLINE + 1, 2, SLOT_INLINE + 40, 0];
        let mut stream = Vec::new();
        for (i, n) in lens.iter().enumerate() {
            let id: Vec<u8> = (0..*n).map(|k| b'a' + ((k + i) % 26) as u8).collect();
            stream.extend_from_slice(b"id: ");
            stream.extend_from_slice(&id);
            stream.extend_from_slice(b"\nevent: ");
            stream.extend_from_slice(if i % 2 == 0 { &long_type } else { b"message" });
            stream.extend_from_slice(b"\ndata: x\n\n");
        }
        let whole = parse_split(&stream, &[]);
        assert_eq!(whole.len(), lens.len());
        for (i, (e, n)) in whole.iter().zip(lens).enumerate() {
            let id: Vec<u8> = (0..n).map(|k| b'a' + ((k + i) % 26) as u8).collect();
            assert_eq!(e.id.as_deref(), Some(&id[..]), "event {i}");
            let ty: &[u8] = if i % 2 == 0 { &long_type } else { b"message" };
            assert_eq!(e.event.as_deref(), Some(ty), "event {i}");
        }
        for cut in 1..stream.len() {
            assert_eq!(parse_split(&stream, &[cut]), whole, "cut at {cut}");
        }
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
