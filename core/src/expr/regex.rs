//! Java regular expressions (as `matches` and `String.matches` take them) mapped to
//! regex-automata: linear time, size-limited, full-match semantics.
//!
//! Java's `\d`, `\w`, `\s` are ASCII-only and are translated as such; POSIX classes
//! (`\p{Alpha}`…) are mapped; `\Q…\E` is quoted. Constructs that need backtracking
//! (look-around, back-references, atomic groups, possessive quantifiers) are refused with an
//! error rather than approximated.

use alloc::format;
use alloc::string::String;

use regex_automata::meta::Regex;
use regex_automata::util::syntax;
use regex_automata::{Anchored, Input};

/// A compiled pattern.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    full: Regex,
    fast: Fast,
}

/// Shapes common in policies that need no automaton: `lit`, `lit.*`, `.*lit`, `.*lit.*`
/// (`.` never matches `\n`, as in Java).
#[derive(Debug, Clone)]
enum Fast {
    None,
    Exact(String),
    Prefix(String),
    Suffix(String),
    Contains(String),
}

fn fast_path(java: &str) -> Fast {
    let mut p = java.strip_prefix('^').unwrap_or(java);
    if let Some(q) = p.strip_suffix('$')
        && !q.ends_with('\\')
    {
        p = q;
    }
    let (lead, p) = match p.strip_prefix(".*") {
        Some(rest) => (true, rest),
        None => (false, p),
    };
    let (trail, p) = match p.strip_suffix(".*") {
        Some(rest) if !rest.ends_with('\\') => (true, rest),
        _ => (false, p),
    };
    if p.chars().any(|c| "\\.+*?()|[]{}^$".contains(c)) {
        return Fast::None;
    }
    let lit = String::from(p);
    match (lead, trail) {
        (false, false) => Fast::Exact(lit),
        (false, true) => Fast::Prefix(lit),
        (true, false) => Fast::Suffix(lit),
        (true, true) => Fast::Contains(lit),
    }
}

/// Why a pattern was refused: the message and the byte offset inside the pattern.
pub(crate) type PatternError = (String, usize);

fn build(translated: &str, max_bytes: usize) -> Result<Regex, PatternError> {
    Regex::builder()
        .syntax(syntax::Config::new().nest_limit(64))
        .configure(
            Regex::config()
                .nfa_size_limit(Some(max_bytes))
                .onepass_size_limit(Some(max_bytes))
                .dfa_size_limit(Some(max_bytes))
                .hybrid_cache_capacity(max_bytes.clamp(1 << 16, 2 << 20)),
        )
        .build(translated)
        .map_err(|e| {
            let msg = match e.size_limit() {
                Some(limit) => format!("pattern is too large (compiled size limit {limit} bytes)"),
                None => format!("invalid regular expression: {e}"),
            };
            (msg, 0)
        })
}

impl Pattern {
    /// Compiles `java` for full matches (`String.matches`, the `matches` operator).
    pub(crate) fn full(java: &str, max_bytes: usize) -> Result<Pattern, PatternError> {
        let t = translate(java)?;
        let full = build(&format!("(?:{t})\\z"), max_bytes)?;
        Ok(Pattern {
            full,
            fast: fast_path(java),
        })
    }

    /// Whether the whole of `hay` matches.
    pub(crate) fn is_full_match(&self, hay: &str) -> bool {
        let no_nl = |s: &str| !s.contains('\n');
        match &self.fast {
            Fast::Exact(l) => hay == l,
            Fast::Prefix(l) => hay.strip_prefix(l.as_str()).is_some_and(no_nl),
            Fast::Suffix(l) => hay.strip_suffix(l.as_str()).is_some_and(no_nl),
            Fast::Contains(l) => no_nl(hay) && hay.contains(l.as_str()),
            Fast::None => self.full.is_match(Input::new(hay).anchored(Anchored::Yes)),
        }
    }
}

/// A pattern for searching (`split`).
pub(crate) fn searcher(java: &str, max_bytes: usize) -> Result<Regex, PatternError> {
    let t = translate(java)?;
    build(&t, max_bytes)
}

fn unsupported(what: &str, at: usize) -> PatternError {
    (
        format!("{what} is not supported (patterns run in linear time, without backtracking)"),
        at,
    )
}

/// Characters that need a backslash to be literal.
fn push_literal(out: &mut String, c: char) {
    if "\\.+*?()|[]{}^$#&-~ ".contains(c) {
        out.push('\\');
    }
    out.push(c);
}

fn posix(name: &str) -> Option<&'static str> {
    Some(match name {
        "Lower" => "a-z",
        "Upper" => "A-Z",
        "ASCII" => "\\x00-\\x7F",
        "Alpha" => "A-Za-z",
        "Digit" => "0-9",
        "Alnum" => "0-9A-Za-z",
        "Punct" => "!-/:-@\\[-`{-~",
        "Graph" => "!-~",
        "Print" => " -~",
        "Blank" => " \\t",
        "Cntrl" => "\\x00-\\x1F\\x7F",
        "XDigit" => "0-9a-fA-F",
        "Space" => "\\t\\n\\x0B\\x0C\\r ",
        "javaLowerCase" => "\\p{Ll}",
        "javaUpperCase" => "\\p{Lu}",
        "javaWhitespace" => "\\s",
        _ => return None,
    })
}

/// Rewrites Java syntax into regex-syntax syntax.
pub(crate) fn translate(java: &str) -> Result<String, PatternError> {
    let mut out = String::with_capacity(java.len() + 8);
    let mut class_depth = 0usize;
    let mut it = java.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        match c {
            '\\' => {
                let Some((_, e)) = it.next() else {
                    return Err((String::from("pattern ends with a lone backslash"), i));
                };
                let in_class = class_depth > 0;
                let set = |body: &str, neg: bool| -> String {
                    match (in_class, neg) {
                        (true, false) => String::from(body),
                        (_, true) => format!("[^{body}]"),
                        (false, false) => format!("[{body}]"),
                    }
                };
                match e {
                    'd' => out.push_str(&set("0-9", false)),
                    'D' => out.push_str(&set("0-9", true)),
                    'w' => out.push_str(&set("0-9A-Za-z_", false)),
                    'W' => out.push_str(&set("0-9A-Za-z_", true)),
                    's' => out.push_str(&set("\\t\\n\\x0B\\x0C\\r ", false)),
                    'S' => out.push_str(&set("\\t\\n\\x0B\\x0C\\r ", true)),
                    'h' => out.push_str(&set(" \\t\\xA0", false)),
                    'p' | 'P' => {
                        let mut name = String::new();
                        if it.peek().map(|p| p.1) == Some('{') {
                            it.next();
                            loop {
                                match it.next() {
                                    Some((_, '}')) => break,
                                    Some((_, ch)) => name.push(ch),
                                    None => {
                                        return Err((String::from("unterminated \\p{…}"), i));
                                    }
                                }
                            }
                        } else if let Some((_, ch)) = it.next() {
                            name.push(ch);
                        }
                        let neg = e == 'P';
                        let stripped = name.strip_prefix("Is").unwrap_or(&name);
                        match posix(&name).or_else(|| posix(stripped)) {
                            Some(body) if body.starts_with("\\p") || body == "\\s" => {
                                if neg {
                                    out.push_str(&set(body, true));
                                } else {
                                    out.push_str(body);
                                }
                            }
                            Some(body) => out.push_str(&set(body, neg)),
                            None => {
                                if name.starts_with("In") {
                                    return Err(unsupported("a Unicode block (\\p{In…})", i));
                                }
                                out.push('\\');
                                out.push(e);
                                out.push('{');
                                out.push_str(stripped);
                                out.push('}');
                            }
                        }
                    }
                    'Q' => {
                        // Literal text up to \E (or the end).
                        loop {
                            match it.next() {
                                None => break,
                                Some((_, '\\')) if it.peek().map(|p| p.1) == Some('E') => {
                                    it.next();
                                    break;
                                }
                                Some((_, ch)) => push_literal(&mut out, ch),
                            }
                        }
                    }
                    'E' => {}
                    'A' => out.push_str("\\A"),
                    'z' => out.push_str("\\z"),
                    'Z' => out.push_str("(?:\\n?\\z)"),
                    'a' => out.push_str("\\x07"),
                    'e' => out.push_str("\\x1B"),
                    'f' => out.push_str("\\x0C"),
                    '0' => {
                        let mut v = 0u32;
                        let mut n = 0;
                        while n < 3 {
                            match it.peek().and_then(|p| p.1.to_digit(8)) {
                                Some(d) if v * 8 + d <= 0o377 => {
                                    v = v * 8 + d;
                                    it.next();
                                    n += 1;
                                }
                                _ => break,
                            }
                        }
                        if n == 0 {
                            return Err((String::from("illegal octal escape \\0"), i));
                        }
                        out.push_str(&format!("\\x{{{v:X}}}"));
                    }
                    '1'..='9' => return Err(unsupported("a back-reference", i)),
                    'k' => return Err(unsupported("a named back-reference", i)),
                    'G' => return Err(unsupported("\\G", i)),
                    'R' | 'X' => return Err(unsupported("\\R / \\X", i)),
                    'c' => return Err(unsupported("a control escape \\c", i)),
                    other => {
                        out.push('\\');
                        out.push(other);
                    }
                }
            }
            '[' => {
                class_depth += 1;
                out.push('[');
                // A `]` or `^]` right after the opening bracket is literal in both syntaxes.
            }
            ']' if class_depth > 0 => {
                class_depth -= 1;
                out.push(']');
            }
            '(' if class_depth == 0 && it.peek().map(|p| p.1) == Some('?') => {
                let rest = java.get(i + 1..).unwrap_or("");
                if rest.starts_with("?=")
                    || rest.starts_with("?!")
                    || rest.starts_with("?<=")
                    || rest.starts_with("?<!")
                {
                    return Err(unsupported("look-around", i));
                }
                if rest.starts_with("?>") {
                    return Err(unsupported("an atomic group", i));
                }
                out.push('(');
            }
            '+' | '*' | '?' | '}' if class_depth == 0 && it.peek().map(|p| p.1) == Some('+') => {
                return Err(unsupported("a possessive quantifier", i + c.len_utf8()));
            }
            _ => out.push(c),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_classes_are_ascii_and_full_match() {
        let p = Pattern::full("get_.*", 1 << 20).unwrap();
        assert!(p.is_full_match("get_weather"));
        assert!(!p.is_full_match("xget_weather"));
        let d = Pattern::full("\\d+", 1 << 20).unwrap();
        assert!(d.is_full_match("123"));
        assert!(!d.is_full_match("١٢٣"));
        let a = Pattern::full("a|ab", 1 << 20).unwrap();
        assert!(a.is_full_match("ab"));
        assert!(
            Pattern::full("\\Q.*\\E", 1 << 20)
                .unwrap()
                .is_full_match(".*")
        );
        assert!(
            Pattern::full("\\p{Alpha}+", 1 << 20)
                .unwrap()
                .is_full_match("abC")
        );
        assert!(
            Pattern::full("^\\/user", 1 << 20)
                .unwrap()
                .is_full_match("/user")
        );
        assert!(Pattern::full("(?=a)a", 1 << 20).is_err());
        let pre = Pattern::full("^get_.*$", 1 << 20).unwrap();
        assert!(matches!(pre.fast, Fast::Prefix(_)));
        assert!(
            pre.is_full_match("get_x")
                && !pre.is_full_match("get_\nx")
                && !pre.is_full_match("xget_")
        );
        let suf = Pattern::full(".*_x", 1 << 20).unwrap();
        assert!(
            suf.is_full_match("a_x") && !suf.is_full_match("a\n_x") && !suf.is_full_match("a_xy")
        );
        let con = Pattern::full(".*weather.*", 1 << 20).unwrap();
        assert!(con.is_full_match("get_weather_now") && !con.is_full_match("get\nweather"));
        assert!(Pattern::full("get", 1 << 20).unwrap().is_full_match("get"));
        assert!(matches!(
            Pattern::full("a.b", 1 << 20).unwrap().fast,
            Fast::None
        ));
        assert!(Pattern::full("a++", 1 << 20).is_err());
        assert!(Pattern::full("(a)\\1", 1 << 20).is_err());
    }
}
