//! Borrowed views of JSON values that were already validated by the scanner.
//!
//! Walking a validated span needs no error handling for grammar, so these iterators are simple
//! and fast; they never allocate except to decode a string that contains escapes.

use alloc::borrow::Cow;
use alloc::string::String;
use core::fmt;

/// The JSON type of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `null`
    Null,
    /// `true` or `false`
    Bool,
    /// A number, kept as written.
    Number,
    /// A string.
    String,
    /// An array.
    Array,
    /// An object.
    Object,
}

impl Kind {
    /// The name used in error messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Bool => "boolean",
            Self::Number => "number",
            Self::String => "string",
            Self::Array => "array",
            Self::Object => "object",
        }
    }
}

/// The contents of a JSON string as written between its quotes, with a flag telling whether it
/// holds escapes (and so must be decoded before comparing).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct JsonStr<'a> {
    raw: &'a str,
    escaped: bool,
}

impl fmt::Debug for JsonStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.decode(), f)
    }
}

impl<'a> JsonStr<'a> {
    pub(crate) fn new(raw: &'a str, escaped: bool) -> Self {
        Self { raw, escaped }
    }

    /// The text between the quotes, escapes left as written.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// Whether the raw text contains backslash escapes.
    pub fn has_escapes(&self) -> bool {
        self.escaped
    }

    /// The decoded string; borrowed unless it contained escapes.
    pub fn decode(&self) -> Cow<'a, str> {
        if !self.escaped {
            return Cow::Borrowed(self.raw);
        }
        Cow::Owned(decode_escapes(self.raw))
    }

    /// Compares the decoded string with `s` (no allocation when there are no escapes).
    pub fn eq_str(&self, s: &str) -> bool {
        if !self.escaped {
            return self.raw == s;
        }
        // An escape makes the raw text at least as long as what it decodes to.
        if self.raw.len() < s.len() {
            return false;
        }
        decode_escapes(self.raw) == s
    }
}

/// Decodes a validated string body. Invalid sequences cannot occur here (the scanner checked
/// them); should one slip through it becomes U+FFFD rather than a panic.
fn decode_escapes(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(e) = chars.next() else { break };
        let decoded = match e {
            '"' => '"',
            '\\' => '\\',
            '/' => '/',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'u' => {
                let hi = hex4(&mut chars);
                match hi {
                    Some(hi @ 0xD800..=0xDBFF) => {
                        let lo = match (chars.next(), chars.next()) {
                            (Some('\\'), Some('u')) => hex4(&mut chars),
                            _ => None,
                        };
                        match lo {
                            Some(lo @ 0xDC00..=0xDFFF) => {
                                let cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                                char::from_u32(cp).unwrap_or('\u{FFFD}')
                            }
                            _ => '\u{FFFD}',
                        }
                    }
                    Some(cp) => char::from_u32(cp).unwrap_or('\u{FFFD}'),
                    None => '\u{FFFD}',
                }
            }
            _ => '\u{FFFD}',
        };
        out.push(decoded);
    }
    out
}

fn hex4(chars: &mut core::str::Chars<'_>) -> Option<u32> {
    let mut v = 0u32;
    for _ in 0..4 {
        v = (v << 4) | chars.next()?.to_digit(16)?;
    }
    Some(v)
}

/// A validated JSON value: its exact text and its type.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RawValue<'a> {
    text: &'a str,
    kind: Kind,
}

impl fmt::Debug for RawValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text)
    }
}

impl fmt::Display for RawValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text)
    }
}

impl<'a> RawValue<'a> {
    pub(crate) fn new(text: &'a str, kind: Kind) -> Self {
        Self { text, kind }
    }

    /// Parses and validates a standalone JSON document (default limits).
    pub fn parse(text: &'a str) -> Result<Self, crate::Error> {
        super::scan::validate_document(text, &crate::Limits::default())
    }

    /// Parses and validates a standalone JSON document under `limits`.
    pub fn parse_with(text: &'a str, limits: &crate::Limits) -> Result<Self, crate::Error> {
        super::scan::validate_document(text, limits)
    }

    /// The exact JSON text of the value, as it appeared in the input.
    pub fn as_text(&self) -> &'a str {
        self.text
    }

    /// The JSON type.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Whether this is `null`.
    pub fn is_null(&self) -> bool {
        self.kind == Kind::Null
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match (self.kind, self.text) {
            (Kind::Bool, "true") => Some(true),
            (Kind::Bool, _) => Some(false),
            _ => None,
        }
    }

    /// The number as an `i64`, if it is an integer that fits.
    pub fn as_i64(&self) -> Option<i64> {
        if self.kind != Kind::Number {
            return None;
        }
        self.text.parse().ok()
    }

    /// The number as an `f64`.
    pub fn as_f64(&self) -> Option<f64> {
        if self.kind != Kind::Number {
            return None;
        }
        self.text.parse().ok()
    }

    /// The string, undecoded, if this is one.
    pub fn as_json_str(&self) -> Option<JsonStr<'a>> {
        if self.kind != Kind::String {
            return None;
        }
        let inner = self.text.get(1..self.text.len().saturating_sub(1))?;
        Some(JsonStr::new(inner, inner.contains('\\')))
    }

    /// The decoded string, if this is one.
    pub fn as_str(&self) -> Option<Cow<'a, str>> {
        self.as_json_str().map(|s| s.decode())
    }

    /// Iterates the members of an object (empty for other types). Keys are yielded as written;
    /// when a key is repeated every occurrence is yielded (messages are checked for duplicates
    /// where it matters, see [`super::Message::parse`]).
    pub fn members(&self) -> Members<'a> {
        let rest = if self.kind == Kind::Object {
            self.inner()
        } else {
            ""
        };
        Members { rest }
    }

    /// Iterates the elements of an array (empty for other types).
    pub fn elements(&self) -> Elements<'a> {
        let rest = if self.kind == Kind::Array {
            self.inner()
        } else {
            ""
        };
        Elements { rest }
    }

    /// The text between the outer brackets.
    fn inner(&self) -> &'a str {
        self.text
            .get(1..self.text.len().saturating_sub(1))
            .unwrap_or("")
    }

    /// The value of the **last** member named `key` (decoded comparison), as JavaScript's and
    /// Python's JSON parsers would see it, so that reads agree with what a server acts on.
    pub fn get(&self, key: &str) -> Option<RawValue<'a>> {
        let mut found = None;
        for (k, v) in self.members() {
            if k.eq_str(key) {
                found = Some(v);
            }
        }
        found
    }

    /// The element at `index` of an array.
    pub fn index(&self, index: usize) -> Option<RawValue<'a>> {
        self.elements().nth(index)
    }

    /// Number of members (object) or elements (array); 0 for scalars.
    pub fn len(&self) -> usize {
        match self.kind {
            Kind::Object => self.members().count(),
            Kind::Array => self.elements().count(),
            _ => 0,
        }
    }

    /// Whether an object or array is empty (scalars count as empty).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Byte offset of this value inside `outer`, when it is a sub-slice of it.
    pub fn offset_in(&self, outer: &str) -> Option<usize> {
        let start = (self.text.as_ptr() as usize).checked_sub(outer.as_ptr() as usize)?;
        (start + self.text.len() <= outer.len()).then_some(start)
    }
}

#[inline]
fn trim_start_ws(s: &str) -> &str {
    // Compact JSON has none: one compare settles the usual case without the char-by-char
    // trim.
    match s.as_bytes().first() {
        Some(b' ' | b'\t' | b'\n' | b'\r') => s.trim_start_matches([' ', '\t', '\n', '\r']),
        _ => s,
    }
}

/// Length of the validated value at the start of `s` (no leading whitespace).
fn value_len(s: &str) -> usize {
    let b = s.as_bytes();
    match b.first() {
        Some(b'"') => string_len(b).0,
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            let mut i = 0;
            while let Some(&c) = b.get(i) {
                match c {
                    b'"' => {
                        i += string_len(b.get(i..).unwrap_or(&[])).0;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return i + 1;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            b.len()
        }
        _ => b
            .iter()
            .position(|&c| matches!(c, b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r'))
            .unwrap_or(b.len()),
    }
}

/// Length of the string token (quotes included) at the start of `b`, and whether it holds an
/// escape (found on the way, so a key needs no second pass to tell).
fn string_len(b: &[u8]) -> (usize, bool) {
    let mut i = 1;
    let mut escaped = false;
    loop {
        // Validated strings hold no raw control bytes, so the mask finds `"` or `\\` only.
        while let Some(chunk) = b.get(i..i + 8) {
            let word = u64::from_le_bytes(<[u8; 8]>::try_from(chunk).unwrap_or_default());
            let mask = super::scan::special_mask(word);
            if mask != 0 {
                i += (mask.trailing_zeros() / 8) as usize;
                break;
            }
            i += 8;
        }
        match b.get(i) {
            Some(b'\\') => {
                escaped = true;
                i += 2;
            }
            Some(b'"') => return (i + 1, escaped),
            Some(_) => i += 1,
            None => return (b.len(), escaped),
        }
    }
}

fn kind_of(s: &str) -> Kind {
    match s.as_bytes().first() {
        Some(b'{') => Kind::Object,
        Some(b'[') => Kind::Array,
        Some(b'"') => Kind::String,
        Some(b't' | b'f') => Kind::Bool,
        Some(b'n') => Kind::Null,
        _ => Kind::Number,
    }
}

/// Splits the first value off `s`; returns it and the rest after it.
fn take_value(s: &str) -> Option<(RawValue<'_>, &str)> {
    let s = trim_start_ws(s);
    if s.is_empty() {
        return None;
    }
    let n = value_len(s);
    let text = s.get(..n)?;
    Some((RawValue::new(text, kind_of(text)), s.get(n..)?))
}

/// Skips whitespace and one optional separator byte (ASCII).
fn skip_sep(s: &str, sep: u8) -> &str {
    let s = trim_start_ws(s);
    if s.as_bytes().first() == Some(&sep) {
        s.get(1..).unwrap_or(s)
    } else {
        s
    }
}

/// Splits the member key at the start of `s` (after any whitespace) off; returns it and the
/// rest after it.
fn take_key(s: &str) -> Option<(JsonStr<'_>, &str)> {
    let s = trim_start_ws(s);
    if s.as_bytes().first() != Some(&b'"') {
        return None;
    }
    let (n, escaped) = string_len(s.as_bytes());
    Some((JsonStr::new(s.get(1..n - 1)?, escaped), s.get(n..)?))
}

/// Iterator over an object's members.
#[derive(Debug, Clone)]
pub struct Members<'a> {
    rest: &'a str,
}

impl<'a> Iterator for Members<'a> {
    type Item = (JsonStr<'a>, RawValue<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let (key, rest) = take_key(self.rest)?;
        let rest = skip_sep(rest, b':');
        let (value, rest) = take_value(rest)?;
        self.rest = skip_sep(rest, b',');
        Some((key, value))
    }
}

/// Iterator over an array's elements.
#[derive(Debug, Clone)]
pub struct Elements<'a> {
    rest: &'a str,
}

impl<'a> Iterator for Elements<'a> {
    type Item = RawValue<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        let (value, rest) = take_value(self.rest)?;
        self.rest = skip_sep(rest, b',');
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn navigates_validated_values() {
        let v =
            RawValue::parse(r#" { "a" : [1, "x\"y", {"b": null}] , "c":true, "a": 2 } "#).unwrap();
        assert_eq!(v.kind(), Kind::Object);
        assert_eq!(v.len(), 3);
        // The last duplicate wins, like JSON.parse.
        assert_eq!(v.get("a").unwrap().as_i64(), Some(2));
        let first = v.members().next().unwrap().1;
        assert_eq!(first.index(1).unwrap().as_str().unwrap(), "x\"y");
        assert!(first.index(2).unwrap().get("b").unwrap().is_null());
        assert_eq!(v.get("c").unwrap().as_bool(), Some(true));
        assert!(v.get("zz").is_none());
    }

    #[test]
    fn decodes_escapes_and_pairs() {
        let v = RawValue::parse(r#""n\u0061me \ud83d\ude00 \t\/""#).unwrap();
        assert_eq!(v.as_str().unwrap(), "name \u{1F600} \t/");
        assert!(v.as_json_str().unwrap().eq_str("name \u{1F600} \t/"));
        let k = RawValue::parse(r#"{"n\u0061me": 1}"#).unwrap();
        assert_eq!(k.get("name").unwrap().as_i64(), Some(1));
    }
}
