//! Request ids as peers read them.
//!
//! An answer belongs to the request whose id the *client* will match it to, so ids are compared
//! the way real clients compare them, not as raw JSON text: string ids after decoding escapes
//! (`"\u0061"` is `"a"`), numbers by value (`1.0` is `1`), and, because the TypeScript SDK
//! looks its handlers up with `Number(response.id)`, any id whose JavaScript number value equals
//! a pending request's (`"1"`, `" 1 "`, `"0x1"`, `1e0` and `1` are all `1` to it; `null` is `0`),
//! and because the Python SDK turns a string id into a number with `int()` (`"1_0"` is `10`,
//! `"١"`, an Arabic-Indic one, is `1`). Whatever a client could take an answer for, it is
//! judged as.

use alloc::borrow::Cow;
use alloc::string::String;

use crate::jsonrpc::Id;

/// A request id, normalised for matching.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct IdKey {
    /// The decoded string of a string id (`None` for numbers and `null`).
    text: Option<String>,
    /// The value JavaScript's `Number()` gives the id; `None` when that is `NaN`.
    number: Option<f64>,
}

impl IdKey {
    /// The key of a parsed id.
    pub(crate) fn of(id: &Id<'_>) -> Self {
        match id {
            Id::Number(n) => Self {
                text: None,
                number: small_integer(n)
                    .or_else(|| n.parse::<f64>().ok())
                    .filter(|v| !v.is_nan()),
            },
            Id::String(s) => {
                let decoded: Cow<'_, str> = s.decode();
                // Where both readings give a number they agree (plain decimal integers):
                // their other forms (hex, fractions; underscores, non-ASCII digits) never
                // overlap, so a string has at most one number.
                Self {
                    number: js_number(&decoded).or_else(|| python_int(&decoded)),
                    text: Some(decoded.into_owned()),
                }
            }
            Id::Null => Self {
                text: None,
                number: Some(0.0),
            },
        }
    }

    /// Whether a peer could read `self` and `other` as the same id.
    pub(crate) fn matches(&self, other: &Self) -> bool {
        if let (Some(a), Some(b)) = (&self.text, &other.text)
            && a == b
        {
            return true;
        }
        // `-0 == 0` in f64 as in JavaScript's `Map` (SameValueZero).
        matches!((self.number, other.number), (Some(a), Some(b)) if a == b)
    }
}

/// The value of a JSON integer of at most 15 digits (exact in `f64`), the ids clients send,
/// without the general float parser.
fn small_integer(n: &str) -> Option<f64> {
    let (neg, digits) = match n.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, n),
    };
    if digits.is_empty() || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v = digits
        .bytes()
        .fold(0u64, |acc, b| acc * 10 + u64::from(b - b'0'));
    // At most 15 digits: below 2^53, so the conversion is exact.
    let f = v as f64;
    Some(if neg { -f } else { f })
}

/// JavaScript's `Number(string)` (ECMA-262 StringToNumber), `None` for `NaN`.
pub(crate) fn js_number(s: &str) -> Option<f64> {
    let t = s.trim_matches(is_js_whitespace);
    if t.is_empty() {
        return Some(0.0);
    }
    let radix = |prefix_lower: &str, prefix_upper: &str, radix: u32| {
        t.strip_prefix(prefix_lower)
            .or_else(|| t.strip_prefix(prefix_upper))
            .map(|digits| parse_radix(digits, radix))
    };
    if let Some(v) = radix("0x", "0X", 16)
        .or_else(|| radix("0o", "0O", 8))
        .or_else(|| radix("0b", "0B", 2))
    {
        return v;
    }
    let (sign, unsigned) = match t.as_bytes().first() {
        Some(b'-') => (-1.0, &t[1..]),
        Some(b'+') => (1.0, &t[1..]),
        _ => (1.0, t),
    };
    if unsigned == "Infinity" {
        return Some(sign * f64::INFINITY);
    }
    if !is_decimal_literal(unsigned) {
        return None;
    }
    unsigned.parse::<f64>().ok().map(|v| sign * v)
}

/// `StrUnsignedDecimalLiteral`: digits with an optional fraction and exponent; `.5` and `5.`
/// are allowed, a lone `.` is not. Rust's float parser accepts more (`inf`, `nan`), hence this.
fn is_decimal_literal(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    let int = digits(&mut i);
    let mut frac = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        frac = digits(&mut i);
    }
    if int + frac == 0 {
        return false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

fn parse_radix(digits: &str, radix: u32) -> Option<f64> {
    if digits.is_empty() {
        return None;
    }
    let mut v = 0.0f64;
    for c in digits.chars() {
        v = v * f64::from(radix) + f64::from(c.to_digit(radix)?);
    }
    Some(v)
}

/// Python's `int(string)` (base 10), as `f64`; `None` where Python raises `ValueError`.
pub(crate) fn python_int(s: &str) -> Option<f64> {
    let t = s.trim_matches(is_python_space);
    let (sign, digits) = match t.as_bytes().first() {
        Some(b'-') => (-1.0, &t[1..]),
        Some(b'+') => (1.0, &t[1..]),
        _ => (1.0, t),
    };
    let mut v = 0.0f64;
    let mut any = false;
    // An underscore only between two digits.
    let mut after_underscore = false;
    for c in digits.chars() {
        if c == '_' {
            if !any || after_underscore {
                return None;
            }
            after_underscore = true;
            continue;
        }
        v = v * 10.0 + f64::from(decimal_digit(c)?);
        any = true;
        after_underscore = false;
    }
    (any && !after_underscore).then_some(sign * v)
}

/// The first code point of each run of ten Unicode decimal digits (`Nd`, values 0 to 9), as
/// Python's `int()` reads them (Unicode 14, CPython 3.11's `unicodedata`).
const DECIMAL_ZEROS: [u32; 66] = [
    0x30, 0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66,
    0xDE6, 0xE50, 0xED0, 0xF20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90,
    0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10,
    0x104A0, 0x10D30, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0, 0x11650,
    0x116C0, 0x11730, 0x118E0, 0x11950, 0x11C50, 0x11D50, 0x11DA0, 0x16A60, 0x16AC0, 0x16B50,
    0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0, 0x1E950, 0x1FBF0,
];

fn decimal_digit(c: char) -> Option<u32> {
    let cp = u32::from(c);
    DECIMAL_ZEROS
        .iter()
        .find(|&&zero| (zero..zero + 10).contains(&cp))
        .map(|zero| cp - zero)
}

/// What Python's `str.strip()` removes (`str.isspace`).
fn is_python_space(c: char) -> bool {
    matches!(c, '\u{1C}'..='\u{1F}') || c.is_whitespace()
}

/// JavaScript's `WhiteSpace` and `LineTerminator` (what `String.prototype.trim` removes).
fn is_js_whitespace(c: char) -> bool {
    matches!(
        c,
        '\u{9}' | '\u{A}' | '\u{B}' | '\u{C}' | '\u{D}' | ' ' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202F}'
                | '\u{205F}'
                | '\u{3000}'
                | '\u{FEFF}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jsonrpc::JsonStr;

    #[test]
    fn javascript_number_conversion() {
        for (s, want) in [
            ("1", Some(1.0)),
            (" 1 ", Some(1.0)),
            ("\u{a0}1\n", Some(1.0)),
            ("1.0", Some(1.0)),
            ("1e0", Some(1.0)),
            (".5", Some(0.5)),
            ("5.", Some(5.0)),
            ("0x1", Some(1.0)),
            ("0X1f", Some(31.0)),
            ("0o17", Some(15.0)),
            ("0b11", Some(3.0)),
            ("+7", Some(7.0)),
            ("-7", Some(-7.0)),
            ("", Some(0.0)),
            ("   ", Some(0.0)),
            ("-Infinity", Some(f64::NEG_INFINITY)),
            ("inf", None),
            ("nan", None),
            ("0x", None),
            ("-0x1", None),
            ("1_0", None),
            ("1e", None),
            (".", None),
            ("abc", None),
        ] {
            assert_eq!(js_number(s), want, "{s:?}");
        }
    }

    #[test]
    fn python_int_conversion() {
        for (s, want) in [
            ("1", Some(1.0)),
            (" 1\n", Some(1.0)),
            ("\u{85}1", Some(1.0)),
            ("\u{1c}1", Some(1.0)),
            ("1_0", Some(10.0)),
            ("-7", Some(-7.0)),
            ("+7", Some(7.0)),
            ("\u{661}", Some(1.0)),
            ("\u{ff11}\u{ff10}", Some(10.0)),
            ("\u{1d7ce}", Some(0.0)),
            ("01", Some(1.0)),
            ("_1", None),
            ("1_", None),
            ("1__0", None),
            ("0x1", None),
            ("1.0", None),
            ("", None),
            ("- 1", None),
            ("\u{b2}", None),
        ] {
            assert_eq!(python_int(s), want, "{s:?}");
        }
    }

    fn string(raw: &'static str) -> IdKey {
        IdKey::of(&Id::String(JsonStr::new(raw, raw.contains('\\'))))
    }

    #[test]
    fn keys_match_as_clients_read_them() {
        let one = IdKey::of(&Id::Number("1"));
        assert!(one.matches(&IdKey::of(&Id::Number("1.0"))));
        assert!(one.matches(&string("1")));
        assert!(one.matches(&string("0x1")));
        assert!(string("a").matches(&string("\\u0061")));
        assert!(!string("a").matches(&string("b")));
        assert!(!string("a").matches(&string("A")));
        // NaN never matches, not even itself.
        assert!(!string("a").matches(&IdKey::of(&Id::Number("1"))));
        assert!(IdKey::of(&Id::Null).matches(&IdKey::of(&Id::Number("0"))));
        // The Python SDK's `int()` reading.
        assert!(one.matches(&string(r"\u0661")));
        assert!(one.matches(&string("0_1")));
        assert!(IdKey::of(&Id::Number("10")).matches(&string("1_0")));
        assert!(IdKey::of(&Id::Number("-0")).matches(&IdKey::of(&Id::Number("0"))));
    }
}
