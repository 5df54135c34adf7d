//! Incremental `text/event-stream` parser and writer.
//!
//! The gateway must look at every SSE message without waiting for the stream to end, so the
//! parser takes chunks as they arrive and yields whole events as soon as their blank line is
//! seen. It keeps everything a client may rely on (`id:` for `Last-Event-ID`, `retry:`,
//! `event:`, comments used as keep-alives) so that re-serialising a parsed event is faithful.
//! The engine will get its own parser; this one only serves the gateway until then.

/// One dispatched block of the stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SseEvent {
    /// Comment lines (without the leading `:`), kept so keep-alives reach the client.
    pub(crate) comments: Vec<Vec<u8>>,
    /// `event:` field.
    pub(crate) event: Option<Vec<u8>>,
    /// `id:` field (the last one in the block).
    pub(crate) id: Option<Vec<u8>>,
    /// `retry:` field, verbatim.
    pub(crate) retry: Option<Vec<u8>>,
    /// Data lines joined with `\n`; `None` when the block had no `data:` line.
    pub(crate) data: Option<Vec<u8>>,
}

impl SseEvent {
    /// Whether the event's data is a JSON-RPC message: default or `message` type with data.
    pub(crate) fn is_message(&self) -> bool {
        self.data.as_ref().is_some_and(|d| !d.is_empty())
            && self.event.as_deref().is_none_or(|e| e == b"message")
    }

    /// A `message` event carrying `data`.
    pub(crate) fn message(id: Option<Vec<u8>>, data: Vec<u8>) -> Self {
        Self {
            event: Some(b"message".to_vec()),
            id,
            data: Some(data),
            ..Self::default()
        }
    }

    /// Serialises the event, ending with the blank line that dispatches it.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.data.as_ref().map_or(0, Vec::len) + 64);
        for c in &self.comments {
            out.push(b':');
            out.extend_from_slice(c);
            out.push(b'\n');
        }
        let mut field = |name: &[u8], value: &[u8]| {
            out.extend_from_slice(name);
            out.push(b':');
            if !value.is_empty() {
                out.push(b' ');
                out.extend_from_slice(value);
            }
            out.push(b'\n');
        };
        if let Some(e) = &self.event {
            field(b"event", e);
        }
        if let Some(i) = &self.id {
            field(b"id", i);
        }
        if let Some(r) = &self.retry {
            field(b"retry", r);
        }
        if let Some(d) = &self.data {
            // A replacement payload may contain line breaks; each line becomes one data field
            // so the client reassembles exactly the same text.
            for line in split_lines(d) {
                field(b"data", line);
            }
        }
        out.push(b'\n');
        out
    }
}

fn split_lines(data: &[u8]) -> Vec<&[u8]> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < data.len() {
        match data[i] {
            b'\n' => {
                lines.push(&data[start..i]);
                start = i + 1;
            }
            b'\r' => {
                lines.push(&data[start..i]);
                if data.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    lines.push(&data[start..]);
    lines
}

/// The stream broke the size limit for one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EventTooLarge(pub(crate) usize);

impl std::fmt::Display for EventTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SSE event larger than {} bytes", self.0)
    }
}

/// Incremental parser: feed chunks with [`SseParser::push`], collect the completed events.
#[derive(Debug)]
pub(crate) struct SseParser {
    line: Vec<u8>,
    pending: SseEvent,
    pending_bytes: usize,
    has_fields: bool,
    /// The previous chunk ended with `\r`; a `\n` starting the next one belongs to it.
    after_cr: bool,
    at_start: bool,
    max_event: usize,
}

impl SseParser {
    /// A parser refusing events (or lines) larger than `max_event` bytes.
    pub(crate) fn new(max_event: usize) -> Self {
        Self {
            line: Vec::new(),
            pending: SseEvent::default(),
            pending_bytes: 0,
            has_fields: false,
            after_cr: false,
            at_start: true,
            max_event,
        }
    }

    /// Feeds one chunk; returns the events it completed, in order.
    pub(crate) fn push(&mut self, mut chunk: &[u8]) -> Result<Vec<SseEvent>, EventTooLarge> {
        let mut out = Vec::new();
        if self.after_cr && !chunk.is_empty() {
            self.after_cr = false;
            if let Some(rest) = chunk.strip_prefix(b"\n") {
                chunk = rest;
            }
        }
        if self.at_start {
            // A UTF-8 byte order mark may only appear at the very start of the stream, and
            // may itself arrive split across chunks.
            self.line.extend_from_slice(chunk);
            if self.line.len() < 3 && b"\xEF\xBB\xBF".starts_with(&self.line) {
                return Ok(out);
            }
            self.at_start = false;
            let head = std::mem::take(&mut self.line);
            let body = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&head);
            return self.push_lines(body, out);
        }
        out = self.push_lines(chunk, out)?;
        Ok(out)
    }

    fn push_lines(
        &mut self,
        chunk: &[u8],
        mut out: Vec<SseEvent>,
    ) -> Result<Vec<SseEvent>, EventTooLarge> {
        let mut i = 0;
        let mut start = 0;
        while i < chunk.len() {
            let b = chunk[i];
            if b == b'\n' || b == b'\r' {
                self.line.extend_from_slice(&chunk[start..i]);
                let line = std::mem::take(&mut self.line);
                self.take_line(&line, &mut out)?;
                if b == b'\r' {
                    if i + 1 == chunk.len() {
                        self.after_cr = true;
                    } else if chunk[i + 1] == b'\n' {
                        i += 1;
                    }
                }
                start = i + 1;
            }
            i += 1;
        }
        self.line.extend_from_slice(&chunk[start..]);
        if self.line.len() + self.pending_bytes > self.max_event {
            return Err(EventTooLarge(self.max_event));
        }
        Ok(out)
    }

    fn take_line(&mut self, line: &[u8], out: &mut Vec<SseEvent>) -> Result<(), EventTooLarge> {
        if line.is_empty() {
            if self.has_fields {
                out.push(std::mem::take(&mut self.pending));
            }
            self.has_fields = false;
            self.pending_bytes = 0;
            return Ok(());
        }
        self.pending_bytes += line.len() + 1;
        if self.pending_bytes > self.max_event {
            return Err(EventTooLarge(self.max_event));
        }
        self.has_fields = true;
        if let Some(comment) = line.strip_prefix(b":") {
            self.pending.comments.push(comment.to_vec());
            return Ok(());
        }
        let (name, value) = match line.iter().position(|&b| b == b':') {
            Some(p) => {
                let v = &line[p + 1..];
                (&line[..p], v.strip_prefix(b" ").unwrap_or(v))
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
            // An id with NUL is ignored by browsers; keep that rule so resumption matches.
            b"id" if !value.contains(&0) => self.pending.id = Some(value.to_vec()),
            b"retry" => self.pending.retry = Some(value.to_vec()),
            _ => {}
        }
        Ok(())
    }

    /// Whether a partial event is buffered (a stream ending here was cut mid-event).
    pub(crate) fn has_partial(&self) -> bool {
        self.has_fields || !self.line.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &[u8] = b"\xEF\xBB\xBFid: p1\ndata:\n\n\
: keep-alive\n\n\
event: message\r\nid: e1\r\ndata: {\"jsonrpc\":\"2.0\",\r\ndata: \"id\":1}\r\n\r\n\
retry: 1000\rid: e2\rdata: {\"a\":1}\r\r\
event: endpoint\ndata: /x?y=1\n\n\
id\nfoo: bar\ndata:  two spaces\n\n";

    fn expected() -> Vec<SseEvent> {
        vec![
            SseEvent {
                id: Some(b"p1".to_vec()),
                data: Some(vec![]),
                ..Default::default()
            },
            SseEvent {
                comments: vec![b" keep-alive".to_vec()],
                ..Default::default()
            },
            SseEvent {
                event: Some(b"message".to_vec()),
                id: Some(b"e1".to_vec()),
                data: Some(b"{\"jsonrpc\":\"2.0\",\n\"id\":1}".to_vec()),
                ..Default::default()
            },
            SseEvent {
                retry: Some(b"1000".to_vec()),
                id: Some(b"e2".to_vec()),
                data: Some(b"{\"a\":1}".to_vec()),
                ..Default::default()
            },
            SseEvent {
                event: Some(b"endpoint".to_vec()),
                data: Some(b"/x?y=1".to_vec()),
                ..Default::default()
            },
            SseEvent {
                id: Some(vec![]),
                data: Some(b" two spaces".to_vec()),
                ..Default::default()
            },
        ]
    }

    fn parse_split(stream: &[u8], cuts: &[usize]) -> Vec<SseEvent> {
        let mut p = SseParser::new(1 << 16);
        let mut out = Vec::new();
        let mut last = 0;
        for &c in cuts.iter().chain(std::iter::once(&stream.len())) {
            out.extend(p.push(&stream[last..c]).unwrap());
            last = c;
        }
        assert!(!p.has_partial());
        out
    }

    #[test]
    fn whole_stream() {
        assert_eq!(parse_split(STREAM, &[]), expected());
    }

    #[test]
    fn every_single_split_point() {
        for cut in 0..=STREAM.len() {
            assert_eq!(parse_split(STREAM, &[cut]), expected(), "cut at {cut}");
        }
    }

    #[test]
    fn random_chunk_splits() {
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..2000 {
            let mut cuts = Vec::new();
            let mut pos = 0;
            loop {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                pos += (seed % 9) as usize;
                if pos >= STREAM.len() {
                    break;
                }
                cuts.push(pos);
            }
            assert_eq!(parse_split(STREAM, &cuts), expected(), "cuts {cuts:?}");
        }
    }

    #[test]
    fn round_trip() {
        let events = expected();
        let text: Vec<u8> = events.iter().flat_map(SseEvent::to_bytes).collect();
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
    fn refuses_oversized_events() {
        let mut p = SseParser::new(16);
        assert!(p.push(b"data: 0123456789").is_ok());
        assert_eq!(p.push(b"abcdef\n"), Err(EventTooLarge(16)));
        let mut p = SseParser::new(24);
        assert!(p.push(b"data: 0123\ndata: 4567\n").is_ok());
        assert!(p.push(b"data: 89\n").is_err());
    }

    #[test]
    fn multi_line_replacement_is_reassembled() {
        let e = SseEvent::message(Some(b"9".to_vec()), b"a\r\nb\rc\nd".to_vec());
        let back = parse_split(&e.to_bytes(), &[]);
        assert_eq!(back[0].data.as_deref(), Some(&b"a\nb\nc\nd"[..]));
    }
}
