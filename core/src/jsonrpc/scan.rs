//! A validating, non-allocating JSON scanner over a `&str` that was already checked to be UTF-8.
//!
//! It checks RFC 8259 grammar, string escapes (including surrogate pairs), nesting depth and
//! string length, and returns the exact span of each value it crosses. It never builds a tree:
//! callers that need members walk the span again with [`super::value`], which can skip
//! validation because the span is known to be good.

use crate::error::{Error, ErrorKind};
use crate::limits::{Limits, MAX_DEPTH_CEILING};

use super::value::{JsonStr, Kind, RawValue};

/// The longest text the scanner reads: positions are kept in 32 bits (a span in one word, a
/// stack frame in half a cache line), with the top bit of a span's end free for its escape flag.
pub(crate) const MAX_TEXT: usize = (1 << 31) - 1;

/// Where a string's contents sit in the input (between its quotes), and whether they hold
/// escapes: one word, so spans are copied and compared as one.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct StrSpan {
    start: u32,
    /// The end, with the escape flag in the top bit.
    end: u32,
}

const ESCAPED: u32 = 1 << 31;

impl StrSpan {
    pub(crate) const EMPTY: StrSpan = StrSpan { start: 0, end: 0 };

    /// A span of a text no longer than [`MAX_TEXT`] (which every scanner's text is).
    #[inline(always)]
    fn new(start: usize, end: usize, escaped: bool) -> Self {
        Self {
            start: start as u32,
            end: end as u32 | if escaped { ESCAPED } else { 0 },
        }
    }

    #[inline(always)]
    pub(crate) fn start(self) -> usize {
        self.start as usize
    }

    #[inline(always)]
    pub(crate) fn end(self) -> usize {
        (self.end & !ESCAPED) as usize
    }

    /// Whether the contents hold escapes.
    #[inline(always)]
    pub(crate) fn escaped(self) -> bool {
        self.end & ESCAPED != 0
    }
}

/// Cursor over the input. `Copy`, and every function that is not inlined takes it by value
/// (returning the new position): a scanner whose address escapes lives in memory, and its
/// position, stored and reloaded around every token, was the parse's critical path.
#[derive(Clone, Copy)]
pub(crate) struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pub(crate) pos: usize,
    max_depth: usize,
    max_string: usize,
}

/// One bit per open container (1 = object), so validation needs no heap.
struct BitStack {
    words: [u64; MAX_DEPTH_CEILING / 64],
    len: usize,
}

impl BitStack {
    fn new() -> Self {
        Self {
            words: [0; MAX_DEPTH_CEILING / 64],
            len: 0,
        }
    }

    fn push(&mut self, is_object: bool) -> bool {
        let Some(word) = self.words.get_mut(self.len / 64) else {
            return false;
        };
        let bit = 1u64 << (self.len % 64);
        if is_object {
            *word |= bit;
        } else {
            *word &= !bit;
        }
        self.len += 1;
        true
    }

    fn pop(&mut self) {
        self.len = self.len.saturating_sub(1);
    }

    /// Whether the innermost open container is an object.
    fn top_is_object(&self) -> bool {
        let Some(i) = self.len.checked_sub(1) else {
            return false;
        };
        self.words
            .get(i / 64)
            .is_some_and(|w| w & (1u64 << (i % 64)) != 0)
    }
}

#[inline]
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Whether any byte of an 8-byte word is `"`, `\` or below 0x20 (SWAR, no unsafe).
#[cfg(test)]
fn word_has_special(w: u64) -> bool {
    special_mask(w) != 0
}

/// High bit set in each byte lane of `w` that is `"`, `\` or below 0x20. Lanes above the
/// first such byte may be flagged spuriously (borrows), but the lowest flagged lane is exact.
#[inline]
pub(crate) fn special_mask(w: u64) -> u64 {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let has_zero = |x: u64| x.wrapping_sub(LO) & !x & HI;
    let quote = has_zero(w ^ (LO * u64::from(b'"')));
    let backslash = has_zero(w ^ (LO * u64::from(b'\\')));
    // A byte below 0x20 has, after subtracting 0x20, its top bit set where it was clear before.
    let control = w.wrapping_sub(LO * 0x20) & !w & HI;
    quote | backslash | control
}

/// The string scan's sixteen-byte step, through `safe_arch`'s safe SSE2 wrappers.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod wide {
    use safe_arch::{
        bitor_m128i, cmp_eq_mask_i8_m128i, load_unaligned_m128i, min_u8_m128i, move_mask_i8_m128i,
        set_splat_i8_m128i,
    };

    /// Bit `i` set where byte `i` of `chunk` is `"`, `\` or below 0x20 (exact, no borrows
    /// between lanes), and the bits of the quotes alone.
    #[inline(always)]
    pub(super) fn special16(chunk: &[u8; 16]) -> (u32, u32) {
        let x = load_unaligned_m128i(chunk);
        let quote = cmp_eq_mask_i8_m128i(x, set_splat_i8_m128i(b'"' as i8));
        let backslash = cmp_eq_mask_i8_m128i(x, set_splat_i8_m128i(b'\\' as i8));
        // min(x, 0x1f) == x exactly for the bytes below 0x20 (unsigned).
        let control = cmp_eq_mask_i8_m128i(min_u8_m128i(x, set_splat_i8_m128i(0x1f)), x);
        let special = bitor_m128i(bitor_m128i(quote, backslash), control);
        (
            move_mask_i8_m128i(special) as u32,
            move_mask_i8_m128i(quote) as u32,
        )
    }
}

fn hex_val(b: u8) -> Option<u16> {
    match b {
        b'0'..=b'9' => Some(u16::from(b - b'0')),
        b'a'..=b'f' => Some(u16::from(b - b'a' + 10)),
        b'A'..=b'F' => Some(u16::from(b - b'A' + 10)),
        _ => None,
    }
}

impl<'a> Scanner<'a> {
    pub(crate) fn new(text: &'a str, limits: &Limits) -> Self {
        Self {
            text,
            bytes: text.as_bytes(),
            pos: 0,
            max_depth: limits.depth(),
            max_string: limits.max_string_bytes,
        }
    }

    #[cold]
    #[inline(never)]
    pub(crate) fn err(self, kind: ErrorKind, detail: &str) -> Error {
        Error::new(kind, detail).at_offset(self.pos)
    }

    #[cold]
    #[inline(never)]
    pub(crate) fn syntax(self, what: &str) -> Error {
        match self.peek() {
            None => self.err(
                ErrorKind::Syntax,
                &alloc::format!("unexpected end of input, {what}"),
            ),
            Some(b) => self.err(
                ErrorKind::Syntax,
                &alloc::format!("unexpected {}, {what}", describe_byte(b)),
            ),
        }
    }

    /// Moves the cursor `n` bytes on. Wrapping arithmetic: the cursor never passes the text's
    /// end (at most [`MAX_TEXT`]), and the release profile's overflow check on every step cost
    /// a `tools/call` parse 3 % of its instructions.
    #[inline(always)]
    pub(crate) fn bump(&mut self, n: usize) {
        self.pos = self.pos.wrapping_add(n);
    }

    #[inline(always)]
    pub(crate) fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    #[inline(always)]
    pub(crate) fn skip_ws(&mut self) {
        // Compact JSON has no whitespace: one compare settles the common case.
        while let Some(&b) = self.bytes.get(self.pos) {
            if b > b' ' || !is_ws(b) {
                break;
            }
            self.bump(1);
        }
    }

    /// The byte at the cursor after any whitespace (not consumed): one load and one compare
    /// when the JSON is compact.
    #[inline(always)]
    pub(crate) fn next_byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.pos)?;
        if b > b' ' {
            return Some(b);
        }
        self.skip_ws();
        self.peek()
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    /// Enters a container at nesting `depth` (1 = top level), or fails past the limit.
    #[inline(always)]
    pub(crate) fn enter(&mut self, depth: usize) -> Result<(), Error> {
        if depth > self.max_depth {
            return Err(self.too_deep());
        }
        self.bump(1);
        Ok(())
    }

    /// The validated value spanning `start..self.pos`.
    #[inline(always)]
    pub(crate) fn value_from(&self, start: usize, kind: Kind) -> Result<RawValue<'a>, Error> {
        Ok(RawValue::new(self.slice(start, self.pos)?, kind))
    }

    /// After a member or element: consumes `,` (returns `true`: another follows) or the
    /// closing bracket (returns `false`).
    #[inline(always)]
    pub(crate) fn next_or_close(&mut self, close: u8) -> Result<bool, Error> {
        self.skip_ws();
        match self.peek() {
            Some(b',') => {
                self.bump(1);
                self.skip_ws();
                Ok(true)
            }
            Some(b) if b == close => {
                self.bump(1);
                Ok(false)
            }
            _ => Err(self.syntax(if close == b'}' {
                "expected `,` or `}` after an object member"
            } else {
                "expected `,` or `]` after an array element"
            })),
        }
    }

    /// A member key and its colon, leaving the cursor on the value; returns where the key is.
    #[inline(always)]
    pub(crate) fn key_span(&mut self) -> Result<StrSpan, Error> {
        if self.peek() != Some(b'"') {
            return Err(self.syntax("expected a string key"));
        }
        let k = self.string_span()?;
        self.colon()?;
        self.skip_ws();
        Ok(k)
    }

    /// The `:` after a key.
    #[inline(always)]
    fn colon(&mut self) -> Result<(), Error> {
        if self.peek() != Some(b':') {
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.syntax("expected `:` after an object key"));
            }
        }
        self.bump(1);
        Ok(())
    }

    #[inline(always)]
    fn slice(&self, start: usize, end: usize) -> Result<&'a str, Error> {
        // Every span boundary sits on an ASCII delimiter, hence on a char boundary.
        self.text
            .get(start..end)
            .ok_or_else(|| Error::new(ErrorKind::Syntax, "span is not on a character boundary"))
    }

    /// Scans a string starting at its opening quote; returns where its contents are, without
    /// slicing the text (which costs two character-boundary checks the walk rarely needs).
    #[inline(always)]
    pub(crate) fn string_span(&mut self) -> Result<StrSpan, Error> {
        let bytes = self.bytes;
        let open = self.pos;
        if bytes.get(open) != Some(&b'"') {
            return Err(self.syntax("expected a string"));
        }
        let start = open + 1;
        let mut pos = start;
        let mut escaped = false;
        loop {
            // Sixteen bytes at a time where SSE2 is (every x86_64): the mask of the quote alone
            // tells the usual end of a string without loading its byte again.
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            if let Some(chunk) = bytes.get(pos..).and_then(<[u8]>::first_chunk::<16>) {
                let (special, quotes) = wide::special16(chunk);
                // The usual end: the first quote, with nothing special before it. Its place is
                // taken from the quote mask alone, so the next token waits on one compare and
                // one move mask, not on the whole special mask (the cursor is the parse's
                // critical path; the check runs beside it).
                let below_first_quote = quotes.wrapping_sub(1) & !quotes;
                if quotes != 0 && special & below_first_quote == 0 {
                    pos = pos.wrapping_add(quotes.trailing_zeros() as usize);
                    break;
                }
                if special == 0 {
                    pos = pos.wrapping_add(16);
                    continue;
                }
                let at = special.trailing_zeros();
                pos = pos.wrapping_add(at as usize);
                if bytes.get(pos) == Some(&b'\\') {
                    escaped = true;
                    pos = self.scan_escape(pos)?;
                    continue;
                }
                return Err(self.string_error(open, pos));
            }
            // Eight bytes at a time, jumping straight to the first special one, whose value is
            // taken from the word already in a register: loading it again put a load's latency
            // on every string (the parse's hottest line).
            let b = match bytes.get(pos..).and_then(<[u8]>::first_chunk::<8>) {
                Some(chunk) => {
                    let w = u64::from_le_bytes(*chunk);
                    let mask = special_mask(w);
                    if mask == 0 {
                        pos = pos.wrapping_add(8);
                        continue;
                    }
                    let bit = mask.trailing_zeros() & !7;
                    pos = pos.wrapping_add((bit / 8) as usize);
                    (w >> bit) as u8
                }
                None => match bytes.get(pos) {
                    Some(&b) => b,
                    None => return Err(self.string_error(open, pos)),
                },
            };
            match b {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    pos = self.scan_escape(pos)?;
                }
                0x20.. => pos = pos.wrapping_add(1),
                _ => return Err(self.string_error(open, pos)),
            }
        }
        self.pos = pos.wrapping_add(1);
        let len = pos.wrapping_sub(start);
        if len > self.max_string {
            return Err(self.string_too_long(open, len));
        }
        Ok(StrSpan::new(start, pos, escaped))
    }

    /// The text of a span found by [`Scanner::string_span`].
    #[inline]
    pub(crate) fn span_str(&self, span: StrSpan) -> JsonStr<'a> {
        JsonStr::new(
            self.text.get(span.start()..span.end()).unwrap_or(""),
            span.escaped(),
        )
    }

    /// The bytes of a span found by [`Scanner::string_span`].
    #[inline(always)]
    pub(crate) fn span_bytes(&self, span: StrSpan) -> &'a [u8] {
        self.bytes.get(span.start()..span.end()).unwrap_or_default()
    }

    #[cold]
    #[inline(never)]
    fn too_deep(self) -> Error {
        self.err(
            ErrorKind::TooDeep,
            &alloc::format!("nesting deeper than max_depth {}", self.max_depth),
        )
    }

    #[cold]
    #[inline(never)]
    fn string_error(mut self, open: usize, at: usize) -> Error {
        if at >= self.bytes.len() {
            return Error::new(ErrorKind::Syntax, "unterminated string").at_offset(open);
        }
        self.pos = at;
        self.err(
            ErrorKind::Syntax,
            "raw control character in string (escape it as \\u00XX)",
        )
    }

    #[cold]
    #[inline(never)]
    fn string_too_long(self, open: usize, len: usize) -> Error {
        Error::new(
            ErrorKind::StringTooLong,
            alloc::format!(
                "string of {len} bytes exceeds max_string_bytes {}",
                self.max_string
            ),
        )
        .at_offset(open)
    }

    fn read_hex4(&mut self) -> Result<u16, Error> {
        let mut v: u16 = 0;
        for _ in 0..4 {
            let d = self.peek().and_then(hex_val).ok_or_else(|| {
                self.err(ErrorKind::Syntax, "bad \\u escape: expected 4 hex digits")
            })?;
            v = (v << 4) | d;
            self.bump(1);
        }
        Ok(v)
    }

    /// At the backslash at `at`: checks one escape sequence, pairing surrogates; returns
    /// where it ends. By value, as its callers' scanners stay in registers.
    #[inline(never)]
    fn scan_escape(mut self, at: usize) -> Result<usize, Error> {
        self.pos = at;
        self.bump(1);
        match self.peek() {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                self.bump(1);
                Ok(self.pos)
            }
            Some(b'u') => {
                self.bump(1);
                let cu = self.read_hex4()?;
                match cu {
                    0xD800..=0xDBFF => {
                        let low_ok =
                            self.bytes.get(self.pos..self.pos + 2) == Some(b"\\u".as_slice());
                        if !low_ok {
                            return Err(Error::new(
                                ErrorKind::LoneSurrogate,
                                "high surrogate escape without a following low surrogate",
                            )
                            .at_offset(at));
                        }
                        self.bump(2);
                        let low = self.read_hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return Err(Error::new(
                                ErrorKind::LoneSurrogate,
                                "high surrogate escape followed by a non-low-surrogate escape",
                            )
                            .at_offset(at));
                        }
                        Ok(self.pos)
                    }
                    0xDC00..=0xDFFF => Err(Error::new(
                        ErrorKind::LoneSurrogate,
                        "low surrogate escape without a preceding high surrogate",
                    )
                    .at_offset(at)),
                    _ => Ok(self.pos),
                }
            }
            _ => Err(self.err(ErrorKind::Syntax, "invalid escape sequence in string")),
        }
    }

    #[inline(always)]
    fn digits(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.bump(1);
        }
        self.pos - start
    }

    #[inline(always)]
    fn scan_number(&mut self) -> Result<(), Error> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.bump(1);
        }
        let mut may_overflow = match self.peek() {
            Some(b'0') => {
                self.bump(1);
                false
            }
            // f64::MAX has 309 integer digits.
            Some(b'1'..=b'9') => self.digits() >= 309,
            _ => return Err(self.syntax("expected a digit")),
        };
        if self.peek() == Some(b'.') {
            self.bump(1);
            if self.digits() == 0 {
                return Err(self.syntax("expected a digit after the decimal point"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.bump(1);
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.bump(1);
            }
            if self.digits() == 0 {
                return Err(self.syntax("expected a digit in the exponent"));
            }
            may_overflow = true;
        }
        // A number beyond f64 is refused as serde_json and RFC 7493 (I-JSON) refuse it, so a
        // serde_json host or backend can read what passes here (found by the jsonrpc_parse fuzz
        // target; its inputs are kept in fuzz/artifacts/jsonrpc_parse). serde_json's default
        // float parsing rounds, so it also refuses a sliver just below the boundary
        // (1.7976931348623158e308, which is f64::MAX when rounded correctly); that sliver passes.
        if may_overflow
            && self
                .text
                .get(start..self.pos)
                .and_then(|n| n.parse::<f64>().ok())
                .is_none_or(f64::is_infinite)
        {
            return Err(self.syntax("number out of the range of a double"));
        }
        Ok(())
    }

    #[inline(always)]
    fn scan_literal(&mut self, lit: &'static [u8]) -> Result<(), Error> {
        if self.bytes.get(self.pos..self.pos + lit.len()) == Some(lit) {
            self.bump(lit.len());
            Ok(())
        } else {
            Err(self.syntax("expected a JSON value"))
        }
    }

    /// Scans one scalar at the cursor (no leading whitespace).
    #[inline(always)]
    pub(crate) fn scan_scalar(&mut self) -> Result<Kind, Error> {
        match self.peek() {
            Some(b'"') => self.string_span().map(|_| Kind::String),
            Some(b't') => self.scan_literal(b"true").map(|()| Kind::Bool),
            Some(b'f') => self.scan_literal(b"false").map(|()| Kind::Bool),
            Some(b'n') => self.scan_literal(b"null").map(|()| Kind::Null),
            Some(b'-' | b'0'..=b'9') => self.scan_number().map(|()| Kind::Number),
            _ => Err(self.syntax("expected a JSON value")),
        }
    }

    /// Validates one complete value (skipping leading whitespace) whose container, if any,
    /// sits at nesting depth `depth + 1`; returns its exact span.
    #[inline(always)]
    pub(crate) fn scan_value(&mut self, depth: usize) -> Result<RawValue<'a>, Error> {
        self.skip_ws();
        let start = self.pos;
        let kind = match self.peek() {
            Some(b'{') => Kind::Object,
            Some(b'[') => Kind::Array,
            _ => {
                let kind = self.scan_scalar()?;
                return Ok(RawValue::new(self.slice(start, self.pos)?, kind));
            }
        };
        self.pos = self.scan_container(depth)?;
        Ok(RawValue::new(self.slice(start, self.pos)?, kind))
    }

    /// Validates one complete value like [`Scanner::scan_value`], without slicing out its span.
    #[inline(always)]
    pub(crate) fn skip_value(&mut self, depth: usize) -> Result<(), Error> {
        self.skip_ws();
        match self.peek() {
            Some(b'{' | b'[') => {
                self.pos = self.scan_container(depth)?;
                Ok(())
            }
            _ => self.scan_scalar().map(|_| ()),
        }
    }

    #[inline(always)]
    fn open(&mut self, stack: &mut BitStack, depth: usize, is_object: bool) -> Result<(), Error> {
        if depth + stack.len + 1 > self.max_depth || !stack.push(is_object) {
            return Err(self.too_deep());
        }
        self.bump(1);
        Ok(())
    }

    /// Iterative container walk (recursion would let a deep input exhaust the stack); returns
    /// where the container ends.
    #[inline(never)]
    fn scan_container(mut self, depth: usize) -> Result<usize, Error> {
        let mut stack = BitStack::new();
        let mut in_object = self.peek() == Some(b'{');
        self.open(&mut stack, depth, in_object)?;
        // Whether the last token was `{`/`[` (so the container may close at once).
        let mut opened = true;
        loop {
            self.skip_ws();
            if opened {
                let closer = if in_object { b'}' } else { b']' };
                if self.peek() == Some(closer) {
                    self.bump(1);
                    stack.pop();
                    if stack.len == 0 {
                        return Ok(self.pos);
                    }
                    in_object = stack.top_is_object();
                    opened = false;
                    if self.after_value(&mut stack, &mut in_object)? {
                        return Ok(self.pos);
                    }
                    continue;
                }
            }
            if in_object {
                self.member_key()?;
                self.skip_ws();
            }
            match self.peek() {
                Some(b'{') => {
                    self.open(&mut stack, depth, true)?;
                    in_object = true;
                    opened = true;
                    continue;
                }
                Some(b'[') => {
                    self.open(&mut stack, depth, false)?;
                    in_object = false;
                    opened = true;
                    continue;
                }
                _ => {
                    self.scan_scalar()?;
                }
            }
            opened = false;
            if self.after_value(&mut stack, &mut in_object)? {
                return Ok(self.pos);
            }
        }
    }

    /// After a value inside a container: consumes the `,` before the next member (returns
    /// `false`), or closes containers until one continues with `,`; returns `true` when the
    /// outermost one has closed.
    #[inline]
    fn after_value(&mut self, stack: &mut BitStack, in_object: &mut bool) -> Result<bool, Error> {
        loop {
            self.skip_ws();
            let closer = if *in_object { b'}' } else { b']' };
            match self.peek() {
                Some(b',') => {
                    self.bump(1);
                    return Ok(false);
                }
                Some(b) if b == closer => {
                    self.bump(1);
                    stack.pop();
                    if stack.len == 0 {
                        return Ok(true);
                    }
                    *in_object = stack.top_is_object();
                }
                _ => {
                    return Err(self.syntax(if *in_object {
                        "expected `,` or `}` after an object member"
                    } else {
                        "expected `,` or `]` after an array element"
                    }));
                }
            }
        }
    }

    /// A member key and its colon.
    #[inline(always)]
    fn member_key(&mut self) -> Result<(), Error> {
        if self.peek() != Some(b'"') {
            return Err(self.syntax("expected a string key"));
        }
        self.string_span()?;
        self.colon()
    }
}

fn describe_byte(b: u8) -> alloc::string::String {
    if b.is_ascii_graphic() {
        alloc::format!("`{}`", char::from(b))
    } else {
        alloc::format!("byte 0x{b:02x}")
    }
}

/// Refuses a text longer than the scanner reads ([`MAX_TEXT`]).
pub(crate) fn check_len(len: usize) -> Result<(), Error> {
    if len > MAX_TEXT {
        return Err(Error::new(
            ErrorKind::TooLarge,
            alloc::format!(
                "{len} bytes of JSON exceed the {MAX_TEXT} bytes a message may have; split the data"
            ),
        ));
    }
    Ok(())
}

/// Validates that `text` is exactly one JSON value (with optional surrounding whitespace).
pub(crate) fn validate_document<'a>(text: &'a str, limits: &Limits) -> Result<RawValue<'a>, Error> {
    check_len(text.len())?;
    let mut sc = Scanner::new(text, limits);
    let v = sc.scan_value(0)?;
    sc.skip_ws();
    if !sc.at_end() {
        return Err(sc.err(ErrorKind::TrailingData, "data after the JSON value"));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Kind {
        validate_document(s, &Limits::default())
            .map(|v| v.kind())
            .unwrap()
    }
    fn bad(s: &str) -> ErrorKind {
        validate_document(s, &Limits::default()).unwrap_err().kind()
    }

    #[test]
    fn accepts_rfc8259_values() {
        assert_eq!(
            ok(" {\"a\": [1, -0.5e+3, true, false, null, \"x\\u00e9\\n\"]} "),
            Kind::Object
        );
        assert_eq!(ok("[]"), Kind::Array);
        assert_eq!(ok("{}"), Kind::Object);
        assert_eq!(ok("\"\\ud83d\\ude00\""), Kind::String);
        assert_eq!(ok("0"), Kind::Number);
        assert_eq!(ok("[[[]],{}]"), Kind::Array);
    }

    #[test]
    fn rejects_bad_grammar() {
        for s in [
            "",
            "{",
            "[1,]",
            "{\"a\":1,}",
            "[01]",
            "1.",
            "-",
            "1e",
            "tru",
            "{\"a\" 1}",
            "{1:2}",
            "[1 2]",
            "\"abc",
            "\"a\tb\"",
            "\"\\x\"",
            "\"\\u12g4\"",
            "{]",
            "[}",
            "nul",
            "+1",
        ] {
            assert!(matches!(bad(s), ErrorKind::Syntax), "{s:?}");
        }
        assert_eq!(bad("{} {}"), ErrorKind::TrailingData);
        assert_eq!(bad("1 x"), ErrorKind::TrailingData);
        assert_eq!(bad("01"), ErrorKind::TrailingData);
    }

    #[test]
    fn rejects_lone_surrogates() {
        assert_eq!(bad("\"\\ud800\""), ErrorKind::LoneSurrogate);
        assert_eq!(bad("\"\\udc00\""), ErrorKind::LoneSurrogate);
        assert_eq!(bad("\"\\ud800\\u0041\""), ErrorKind::LoneSurrogate);
        assert_eq!(bad("\"\\ud800x\""), ErrorKind::LoneSurrogate);
    }

    #[test]
    fn depth_is_capped_without_recursion() {
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        assert_eq!(bad(&deep), ErrorKind::TooDeep);
        let limits = Limits {
            max_depth: 3,
            ..Limits::default()
        };
        assert!(validate_document("[[[1]]]", &limits).is_ok());
        assert_eq!(
            validate_document("[[[[1]]]]", &limits).unwrap_err().kind(),
            ErrorKind::TooDeep
        );
        assert_eq!(
            validate_document("{\"a\":{\"b\":{\"c\":{}}}}", &limits)
                .unwrap_err()
                .kind(),
            ErrorKind::TooDeep
        );
    }

    #[test]
    fn string_length_is_capped() {
        let limits = Limits {
            max_string_bytes: 4,
            ..Limits::default()
        };
        assert!(validate_document("\"abcd\"", &limits).is_ok());
        assert_eq!(
            validate_document("\"abcde\"", &limits).unwrap_err().kind(),
            ErrorKind::StringTooLong
        );
    }

    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    #[test]
    fn sse2_step_flags_exactly_the_specials_in_every_lane() {
        for lane in 0..16 {
            for (byte, special) in [
                (b'"', true),
                (b'\\', true),
                (0x00, true),
                (0x1f, true),
                (0x20, false),
                (0x7f, false),
                (0x80, false),
                (0xff, false),
            ] {
                let mut c = [b'a'; 16];
                c[lane] = byte;
                let (mask, quotes) = wide::special16(&c);
                assert_eq!(
                    mask,
                    u32::from(special) << lane,
                    "byte {byte:#x} in lane {lane}"
                );
                assert_eq!(quotes, u32::from(byte == b'"') << lane);
            }
        }
    }

    /// Every special byte at every offset of strings up to three SIMD steps long, with up to
    /// twenty bytes after them: the sixteen-byte step, the eight-byte one and the byte loop
    /// near the end of the text must agree with serde_json wherever a string starts and ends.
    #[test]
    fn strings_agree_with_serde_at_every_offset_and_distance_from_the_end() {
        let limits = Limits::default();
        for len in 0..40 {
            for at in 0..=len {
                for insert in [
                    "\"", "\\\"", "\\", "\\n", "\\u00e9", "\u{1}", "\u{1f}", "\u{7f}", "é", "\\x",
                ] {
                    let mut content = "a".repeat(len);
                    if at < len {
                        content.replace_range(at..=at, insert);
                    }
                    for pad in 0..20 {
                        let doc = alloc::format!("[\"{content}\"{}]", " ".repeat(pad));
                        let ours = validate_document(&doc, &limits);
                        let serde = serde_json::from_str::<serde_json::Value>(&doc);
                        assert_eq!(ours.is_ok(), serde.is_ok(), "{doc:?}");
                        // Where both accept it, the string ends where serde_json says.
                        if let (Ok(v), Ok(s)) = (ours, serde) {
                            let decoded = v.index(0).and_then(|e| e.as_str());
                            assert_eq!(decoded.as_deref(), s[0].as_str(), "{doc:?}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn swar_detects_specials_in_every_lane() {
        for lane in 0..8 {
            for special in [b'"', b'\\', 0x00, 0x1f] {
                let mut w = [b'a'; 8];
                w[lane] = special;
                assert!(word_has_special(u64::from_le_bytes(w)));
            }
            let mut w = [b'a'; 8];
            w[lane] = 0x20;
            assert!(!word_has_special(u64::from_le_bytes(w)));
            w[lane] = 0xff;
            assert!(!word_has_special(u64::from_le_bytes(w)));
        }
    }
}
