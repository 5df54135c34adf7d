//! Tokens of one SpEL expression (the text between `{#` and `}` of a template).

use alloc::string::String;
use alloc::vec::Vec;

use super::error::{ExprError, ExprErrorKind};

/// One token and the byte offset (in the expression text) where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Tok<'s> {
    pub(crate) kind: T<'s>,
    pub(crate) at: usize,
}

/// Token kinds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum T<'s> {
    Int(i64),
    Float(f64),
    Str(String),
    Ident(&'s str),
    Hash,
    Dot,
    SafeDot,
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Comma,
    Colon,
    Question,
    Elvis,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Caret,
    Bang,
    EqEq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    AndAnd,
    OrOr,
    /// A token SpEL has but this engine does not support (`=`, `@`, `?[`, `![`, `++`…).
    Unsupported(&'static str),
}

impl T<'_> {
    /// How the token reads in an error message.
    pub(crate) fn describe(&self) -> String {
        let s: &str = match self {
            T::Int(i) => return alloc::format!("number {i}"),
            T::Float(f) => return alloc::format!("number {f}"),
            T::Str(s) => return alloc::format!("string '{s}'"),
            T::Ident(i) => return alloc::format!("`{i}`"),
            T::Hash => "`#`",
            T::Dot => "`.`",
            T::SafeDot => "`?.`",
            T::LParen => "`(`",
            T::RParen => "`)`",
            T::LBracket => "`[`",
            T::RBracket => "`]`",
            T::LBrace => "`{`",
            T::RBrace => "`}`",
            T::Comma => "`,`",
            T::Colon => "`:`",
            T::Question => "`?`",
            T::Elvis => "`?:`",
            T::Plus => "`+`",
            T::Minus => "`-`",
            T::Star => "`*`",
            T::Slash => "`/`",
            T::Percent => "`%`",
            T::Caret => "`^`",
            T::Bang => "`!`",
            T::EqEq => "`==`",
            T::Ne => "`!=`",
            T::Lt => "`<`",
            T::Le => "`<=`",
            T::Gt => "`>`",
            T::Ge => "`>=`",
            T::AndAnd => "`&&`",
            T::OrOr => "`||`",
            T::Unsupported(s) => return alloc::format!("`{s}`"),
        };
        String::from(s)
    }
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b'$'
}

fn is_ident_part(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$'
}

/// Splits `src` into tokens. Offsets are relative to `src`.
pub(crate) fn lex(src: &str) -> Result<Vec<Tok<'_>>, ExprError> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0usize;
    while let Some(&c) = b.get(i) {
        let start = i;
        let next = b.get(i + 1).copied();
        let (kind, len) = match c {
            b' ' | b'\t' | b'\r' | b'\n' => {
                i += 1;
                continue;
            }
            b'0'..=b'9' => {
                let (t, n) = number(src, i)?;
                (t, n)
            }
            b'\'' | b'"' => {
                let (s, n) = string(src, i, c)?;
                (T::Str(s), n)
            }
            c if is_ident_start(c) => {
                let mut j = i + 1;
                while b.get(j).is_some_and(|&c| is_ident_part(c)) {
                    j += 1;
                }
                (T::Ident(src.get(i..j).unwrap_or("")), j - i)
            }
            b'#' => (T::Hash, 1),
            b'.' => (T::Dot, 1),
            b'(' => (T::LParen, 1),
            b')' => (T::RParen, 1),
            b'[' => (T::LBracket, 1),
            b']' => (T::RBracket, 1),
            b'{' => (T::LBrace, 1),
            b'}' => (T::RBrace, 1),
            b',' => (T::Comma, 1),
            b':' => (T::Colon, 1),
            b'?' => match next {
                Some(b'.') => (T::SafeDot, 2),
                Some(b':') => (T::Elvis, 2),
                Some(b'[') => (T::Unsupported("?["), 2),
                _ => (T::Question, 1),
            },
            b'+' => match next {
                Some(b'+') => (T::Unsupported("++"), 2),
                _ => (T::Plus, 1),
            },
            b'-' => match next {
                Some(b'-') => (T::Unsupported("--"), 2),
                _ => (T::Minus, 1),
            },
            b'*' => (T::Star, 1),
            b'/' => (T::Slash, 1),
            b'%' => (T::Percent, 1),
            b'^' => match next {
                Some(b'[') => (T::Unsupported("^["), 2),
                _ => (T::Caret, 1),
            },
            b'!' => match next {
                Some(b'=') => (T::Ne, 2),
                Some(b'[') => (T::Unsupported("!["), 2),
                _ => (T::Bang, 1),
            },
            b'=' => match next {
                Some(b'=') => (T::EqEq, 2),
                _ => (T::Unsupported("="), 1),
            },
            b'<' => match next {
                Some(b'=') => (T::Le, 2),
                _ => (T::Lt, 1),
            },
            b'>' => match next {
                Some(b'=') => (T::Ge, 2),
                _ => (T::Gt, 1),
            },
            b'&' => match next {
                Some(b'&') => (T::AndAnd, 2),
                _ => (T::Unsupported("&"), 1),
            },
            b'|' => match next {
                Some(b'|') => (T::OrOr, 2),
                _ => (T::Unsupported("|"), 1),
            },
            b'@' => (T::Unsupported("@"), 1),
            _ => {
                let ch = src.get(i..).and_then(|s| s.chars().next()).unwrap_or('?');
                return Err(ExprError::new(
                    ExprErrorKind::Syntax,
                    alloc::format!("unexpected character `{ch}`"),
                    start,
                    "remove the character or quote it inside a string literal",
                ));
            }
        };
        out.push(Tok { kind, at: start });
        i = start + len;
    }
    Ok(out)
}

/// A number literal: decimal or hex integer (optional `L`), or a real with `.digits`,
/// an exponent and an optional `d`/`f` suffix.
fn number(src: &str, start: usize) -> Result<(T<'static>, usize), ExprError> {
    let b = src.as_bytes();
    let mut i = start;
    let bad = |msg: &str, at: usize| {
        ExprError::new(
            ExprErrorKind::Syntax,
            String::from(msg),
            at,
            "write integers as 123 or 0x7B, reals as 1.5 or 1e3",
        )
    };
    if b.get(i) == Some(&b'0') && matches!(b.get(i + 1), Some(b'x' | b'X')) {
        i += 2;
        let ds = i;
        while b.get(i).is_some_and(u8::is_ascii_hexdigit) {
            i += 1;
        }
        let digits = src.get(ds..i).unwrap_or("");
        let v = i64::from_str_radix(digits, 16).map_err(|_| bad("invalid hex literal", start))?;
        if matches!(b.get(i), Some(b'L' | b'l')) {
            i += 1;
        }
        return Ok((T::Int(v), i - start));
    }
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    let mut real = false;
    if b.get(i) == Some(&b'.') && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
        real = true;
        i += 1;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(b.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        if b.get(j).is_some_and(u8::is_ascii_digit) {
            real = true;
            i = j;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
    }
    let text = src.get(start..i).unwrap_or("");
    if matches!(b.get(i), Some(b'd' | b'D' | b'f' | b'F')) {
        i += 1;
        real = true;
    } else if !real && matches!(b.get(i), Some(b'L' | b'l')) {
        i += 1;
    }
    if b.get(i).is_some_and(|&c| is_ident_start(c)) {
        return Err(bad("a number cannot be followed by letters", i));
    }
    if real {
        let v: f64 = text
            .parse()
            .map_err(|_| bad("invalid real literal", start))?;
        Ok((T::Float(v), i - start))
    } else {
        let v: i64 = text
            .parse()
            .map_err(|_| bad("integer literal is too large", start))?;
        Ok((T::Int(v), i - start))
    }
}

/// A string literal quoted with `q`; a doubled quote stands for one (SpEL has no backslash
/// escapes: `'\d'` is a backslash and a `d`).
fn string(src: &str, start: usize, q: u8) -> Result<(String, usize), ExprError> {
    let b = src.as_bytes();
    let mut out = String::new();
    let mut i = start + 1;
    let mut seg = i;
    loop {
        match b.get(i) {
            None => {
                return Err(ExprError::new(
                    ExprErrorKind::Syntax,
                    String::from("unterminated string literal"),
                    start,
                    "close the string with the quote it was opened with",
                ));
            }
            Some(&c) if c == q => {
                out.push_str(src.get(seg..i).unwrap_or(""));
                if b.get(i + 1) == Some(&q) {
                    out.push(char::from(q));
                    i += 2;
                    seg = i;
                } else {
                    return Ok((out, i + 1 - start));
                }
            }
            Some(_) => i += 1,
        }
    }
}
