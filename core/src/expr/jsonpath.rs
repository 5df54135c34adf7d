//! The JSONPath subset `#jsonPath` accepts: `$`, `.name`, `['name']`, `["name"]`, `[0]`,
//! `[-1]`, `.*`, `[*]`, `..name`, `..*`. A path without `$` is read as `$.` + path (as Jayway
//! does).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// One step of a path.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Step {
    /// `.name` / `['name']`.
    Key(String),
    /// `[n]` (negative counts from the end).
    Index(i64),
    /// `.*` / `[*]`: every member or element.
    Wild,
    /// `..name`: every descendant member called `name`.
    DeepKey(String),
    /// `..*` / `..[*]`: every descendant.
    DeepWild,
}

/// A parsed path.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct JsonPath {
    pub(crate) steps: Vec<Step>,
    /// A definite path yields one value (missing leaf → null); an indefinite one a list.
    pub(crate) definite: bool,
}

/// A path error: message and byte offset in the path.
pub(crate) type PathError = (String, usize);

impl JsonPath {
    /// Parses a path.
    pub(crate) fn parse(src: &str) -> Result<JsonPath, PathError> {
        let trimmed = src.trim();
        let b = trimmed.as_bytes();
        let mut steps = Vec::new();
        let mut i = 0usize;
        if b.first() == Some(&b'$') {
            i = 1;
        } else if b.is_empty() {
            return Err((String::from("empty JSONPath"), 0));
        } else if b.first() != Some(&b'[') && b.first() != Some(&b'.') {
            // Jayway reads `a.b` as `$.a.b`.
            let (name, n) = dotted_name(trimmed, 0);
            if name.is_empty() {
                return Err((String::from("a JSONPath starts with $"), 0));
            }
            steps.push(Step::Key(String::from(name)));
            i = n;
        }
        while i < b.len() {
            match b.get(i) {
                Some(b'.') => {
                    if b.get(i + 1) == Some(&b'.') {
                        i += 2;
                        match b.get(i) {
                            Some(b'*') => {
                                steps.push(Step::DeepWild);
                                i += 1;
                            }
                            Some(b'[') => {
                                let (step, n) = bracket(trimmed, i)?;
                                i = n;
                                match step {
                                    Step::Key(k) => steps.push(Step::DeepKey(k)),
                                    Step::Wild => steps.push(Step::DeepWild),
                                    _ => {
                                        return Err((
                                            String::from("`..[n]` is not supported; use `..name`"),
                                            i,
                                        ));
                                    }
                                }
                            }
                            _ => {
                                let (name, n) = dotted_name(trimmed, i);
                                if name.is_empty() {
                                    return Err((String::from("a name must follow `..`"), i));
                                }
                                steps.push(Step::DeepKey(String::from(name)));
                                i = n;
                            }
                        }
                    } else {
                        i += 1;
                        if b.get(i) == Some(&b'*') {
                            steps.push(Step::Wild);
                            i += 1;
                        } else {
                            let (name, n) = dotted_name(trimmed, i);
                            if name.is_empty() {
                                return Err((String::from("a name must follow `.`"), i));
                            }
                            steps.push(Step::Key(String::from(name)));
                            i = n;
                        }
                    }
                }
                Some(b'[') => {
                    let (step, n) = bracket(trimmed, i)?;
                    steps.push(step);
                    i = n;
                }
                _ => {
                    return Err((
                        format!(
                            "unexpected `{}` in JSONPath",
                            trimmed
                                .get(i..)
                                .and_then(|s| s.chars().next())
                                .unwrap_or('?')
                        ),
                        i,
                    ));
                }
            }
        }
        let definite = steps
            .iter()
            .all(|s| matches!(s, Step::Key(_) | Step::Index(_)));
        Ok(JsonPath { steps, definite })
    }
}

/// A name after `.`: up to the next `.` or `[`.
fn dotted_name(s: &str, start: usize) -> (&str, usize) {
    let rest = s.get(start..).unwrap_or("");
    let n = rest.find(['.', '[']).unwrap_or(rest.len());
    (rest.get(..n).unwrap_or(""), start + n)
}

/// `[…]` at `start`; returns the step and the offset after `]`.
fn bracket(s: &str, start: usize) -> Result<(Step, usize), PathError> {
    let b = s.as_bytes();
    let mut i = start + 1;
    while b.get(i) == Some(&b' ') {
        i += 1;
    }
    let step = match b.get(i) {
        Some(&q @ (b'\'' | b'"')) => {
            let body_start = i + 1;
            let rel = s
                .get(body_start..)
                .and_then(|r| r.find(char::from(q)))
                .ok_or_else(|| (String::from("unterminated quoted name"), i))?;
            let name = s.get(body_start..body_start + rel).unwrap_or("");
            i = body_start + rel + 1;
            Step::Key(String::from(name))
        }
        Some(b'*') => {
            i += 1;
            Step::Wild
        }
        Some(b'?') => return Err((String::from("filters `[?(…)]` are not supported"), i)),
        Some(b'-' | b'0'..=b'9') => {
            let ds = i;
            i += 1;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            let n: i64 = s
                .get(ds..i)
                .and_then(|t| t.parse().ok())
                .ok_or_else(|| (String::from("invalid array index"), ds))?;
            Step::Index(n)
        }
        _ => return Err((String::from("expected a quoted name, an index or `*`"), i)),
    };
    while b.get(i) == Some(&b' ') {
        i += 1;
    }
    match b.get(i) {
        Some(b']') => Ok((step, i + 1)),
        Some(b',') => Err((
            String::from("unions `[a,b]` are not supported; use two #jsonPath calls"),
            i,
        )),
        Some(b':') => Err((String::from("slices `[a:b]` are not supported"), i)),
        _ => Err((String::from("expected `]`"), i)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_subset() {
        let p = JsonPath::parse("$.a['b c'][0].*..name[-1]").unwrap();
        assert_eq!(
            p.steps,
            [
                Step::Key("a".into()),
                Step::Key("b c".into()),
                Step::Index(0),
                Step::Wild,
                Step::DeepKey("name".into()),
                Step::Index(-1)
            ]
        );
        assert!(!p.definite);
        assert!(JsonPath::parse("$.params.name").unwrap().definite);
        assert_eq!(
            JsonPath::parse("a.b").unwrap().steps,
            [Step::Key("a".into()), Step::Key("b".into())]
        );
        assert!(JsonPath::parse("$[?(@.a)]").is_err());
        assert!(JsonPath::parse("$[0:2]").is_err());
    }
}
