//! Runs the language-neutral cases of `cases/<folder>/*.json` (format: `cases/README.md`).
//!
//! Each runner (`cases_policy.rs`, `cases_expr.rs`…) only turns one case into the engine's JSON
//! answer; loading, input resolution, the file checks and the matcher live here, so that every
//! folder is read and judged by the same rules the other bindings implement.
//!
//! Every file is strict (unknown keys, missing expectations and empty folders are failures):
//! a misspelt key would otherwise make a case compare nothing and pass. All failures of all
//! files are collected and reported together, so one run shows everything that broke.

// Each test binary includes this module and uses only part of it.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{Map, Number, Value};

/// The repository root: paths in case files are relative to it, whichever crate runs them.
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("core/ has a parent")
        .to_path_buf()
}

/// Every key a folder's files may hold, beyond `description`, `cases` and a case's `name`:
/// anything else is a typo to report, not a key to ignore.
#[derive(Debug)]
pub(crate) struct Spec<'a> {
    pub(crate) folder: &'a str,
    /// Inputs a file gives as defaults for its cases (each as `X`, `XText` or `XFile`), so
    /// that a long context or a policy is written once per file.
    pub(crate) file_inputs: &'a [&'a str],
    pub(crate) case_inputs: &'a [&'a str],
    /// Case keys that are not inputs (`expression`, `type`).
    pub(crate) case_keys: &'a [&'a str],
    /// A case has exactly one: none would make it compare nothing.
    pub(crate) expects: &'a [&'a str],
}

#[derive(Debug)]
pub(crate) struct CaseFile {
    /// From the repository root, as failures name it.
    pub(crate) path: String,
    pub(crate) doc: Map<String, Value>,
}

/// A case with its file behind it, whose inputs are the case's defaults.
#[derive(Debug)]
pub(crate) struct Case<'a> {
    pub(crate) file: &'a CaseFile,
    pub(crate) name: &'a str,
    pub(crate) obj: &'a Map<String, Value>,
    /// Which of [`Spec::expects`] it has: runners judge differently by it.
    pub(crate) expect_key: &'a str,
}

impl Case<'_> {
    /// The bytes of input `key`: the case's own, else the file's default, else `None`.
    pub(crate) fn input(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        match resolve(self.obj, key)? {
            Some(b) => Ok(Some(b)),
            None => resolve(&self.file.doc, key),
        }
    }

    /// [`Case::input`] as text (contexts are read from `&str`).
    pub(crate) fn input_text(&self, key: &str) -> Result<Option<String>, String> {
        self.input(key)?
            .map(|b| String::from_utf8(b).map_err(|_| format!("`{key}` is not UTF-8")))
            .transpose()
    }

    /// Whether the case itself (not its file) gives input `key` in any form.
    pub(crate) fn gives(&self, key: &str) -> bool {
        forms(key).iter().any(|k| self.obj.contains_key(k))
    }

    /// A string member (`expression`): exact text, never re-serialized.
    pub(crate) fn str(&self, key: &str) -> Result<Option<&str>, String> {
        match self.obj.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(format!("`{key}` must be a string, not {}", show(v))),
        }
    }
}

fn forms(key: &str) -> [String; 3] {
    [key.to_owned(), format!("{key}Text"), format!("{key}File")]
}

/// Resolves `X` (a JSON value, sent compact), `XText` (exact text) or `XFile` (exact bytes of
/// a file under the root) in `obj`. Giving more than one is an error: which one wins would be
/// a guess.
pub(crate) fn resolve(obj: &Map<String, Value>, key: &str) -> Result<Option<Vec<u8>>, String> {
    let [plain, text, file] = forms(key);
    let given: Vec<&String> = [&plain, &text, &file]
        .into_iter()
        .filter(|k| obj.contains_key(k.as_str()))
        .collect();
    if given.len() > 1 {
        return Err(format!("give only one of {given:?}"));
    }
    if let Some(v) = obj.get(&plain) {
        return Ok(Some(
            serde_json::to_string(v)
                .expect("a JSON value serializes")
                .into_bytes(),
        ));
    }
    if let Some(v) = obj.get(&text) {
        return match v {
            Value::String(s) => Ok(Some(s.clone().into_bytes())),
            v => Err(format!("`{text}` must be a string, not {}", show(v))),
        };
    }
    if let Some(v) = obj.get(&file) {
        let Value::String(p) = v else {
            return Err(format!("`{file}` must be a path string, not {}", show(v)));
        };
        return std::fs::read(root().join(p))
            .map(Some)
            .map_err(|e| format!("`{file}`: cannot read {p}: {e}"));
    }
    Ok(None)
}

/// The first difference, located by its JSON path in the expectation (`$.error.code`,
/// `$.bodyJson.result.tools[2].name`), since that is what a case author edits.
#[derive(Debug, PartialEq)]
pub(crate) struct Mismatch {
    pub(crate) path: String,
    pub(crate) expected: String,
    pub(crate) actual: String,
}

/// Matches `expected` against `actual` by the rules of `cases/README.md` ("Matching an
/// expectation"), naming the first difference.
pub(crate) fn matches(expected: &Value, actual: &Value) -> Result<(), Mismatch> {
    let mut path = String::from("$");
    match_at(expected, Some(actual), &mut path)
}

fn mismatch(path: &str, expected: String, actual: Option<&Value>) -> Mismatch {
    Mismatch {
        path: path.to_owned(),
        expected,
        actual: actual.map_or_else(|| "(absent)".to_owned(), show),
    }
}

fn match_at(expected: &Value, actual: Option<&Value>, path: &mut String) -> Result<(), Mismatch> {
    let Some(actual) = actual else {
        return if expected.is_null() {
            Ok(())
        } else {
            Err(mismatch(path, show(expected), None))
        };
    };
    match (expected, actual) {
        (Value::Object(exp), Value::Object(act)) => {
            for (k, v) in exp {
                let len = path.len();
                push_key(path, k);
                match k.strip_suffix("Json").filter(|base| !base.is_empty()) {
                    Some(base) => match_json_text(v, act.get(base), path)?,
                    None => match_at(v, act.get(k), path)?,
                }
                path.truncate(len);
            }
            Ok(())
        }
        (Value::Array(exp), Value::Array(act)) => {
            if exp.len() != act.len() {
                return Err(Mismatch {
                    path: path.clone(),
                    expected: format!("{} elements: {}", exp.len(), show(expected)),
                    actual: format!("{} elements: {}", act.len(), show(actual)),
                });
            }
            for (i, (e, a)) in exp.iter().zip(act).enumerate() {
                let len = path.len();
                let _ = write!(path, "[{i}]");
                match_at(e, Some(a), path)?;
                path.truncate(len);
            }
            Ok(())
        }
        (Value::Number(e), Value::Number(a)) if num_eq(e, a) => Ok(()),
        (e, a) if !e.is_number() && e == a => Ok(()),
        _ => Err(mismatch(path, show(expected), Some(actual))),
    }
}

/// `KJson`: the answer's `K` is JSON text, compared as the value it encodes (so that a body's
/// key order and spacing do not matter, only what it says). An absent or null `K` is no text,
/// which only `null` expects.
fn match_json_text(
    expected: &Value,
    actual: Option<&Value>,
    path: &mut String,
) -> Result<(), Mismatch> {
    match actual {
        None | Some(Value::Null) => match_at(expected, actual, path),
        Some(Value::String(text)) => match serde_json::from_str::<Value>(text) {
            Ok(parsed) => match_at(expected, Some(&parsed), path),
            Err(e) => Err(Mismatch {
                path: path.clone(),
                expected: format!("JSON text encoding {}", show(expected)),
                actual: format!(
                    "text that is not JSON ({e}): {}",
                    show(&Value::from(&**text))
                ),
            }),
        },
        Some(other) => Err(mismatch(
            path,
            format!("JSON text encoding {}", show(expected)),
            Some(other),
        )),
    }
}

/// Numbers by value: `200` and `200.0` are equal, and integers beyond f64's precision are
/// still compared exactly.
fn num_eq(a: &Number, b: &Number) -> bool {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return x == y;
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return x == y;
    }
    matches!((a.as_f64(), b.as_f64()), (Some(x), Some(y)) if x == y)
}

fn push_key(path: &mut String, k: &str) {
    let plain = k
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        path.push('.');
        path.push_str(k);
    } else {
        let _ = write!(path, "[{}]", Value::from(k));
    }
}

/// Compact JSON, cut short: reports quote answers, some of which hold whole list results.
fn show(v: &Value) -> String {
    const MAX: usize = 600;
    let s = v.to_string();
    if s.len() <= MAX {
        return s;
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &s[..end], s.len())
}

/// Failures are collected, not raised, so that one run lists everything that broke.
#[derive(Debug, Default)]
pub(crate) struct Failures(Vec<String>);

impl Failures {
    pub(crate) fn add(&mut self, file: &str, case: Option<&str>, what: impl std::fmt::Display) {
        match case {
            Some(c) => self.0.push(format!("{file}: case `{c}`: {what}")),
            None => self.0.push(format!("{file}: {what}")),
        }
    }

    pub(crate) fn finish(self, folder: &str) {
        if !self.0.is_empty() {
            let mut out = format!("{} failure(s) in cases/{folder}:\n", self.0.len());
            for f in &self.0 {
                out.push_str("\n- ");
                out.push_str(f);
                out.push('\n');
            }
            panic!("{out}");
        }
    }
}

/// `cases/<folder>/*.json`, sorted so reports are stable (subfolders hold shared inputs, not
/// cases). An empty or missing folder is a failure: a runner that finds nothing must not pass.
pub(crate) fn load(folder: &str, failures: &mut Failures) -> Vec<CaseFile> {
    let dir = root().join("cases").join(folder);
    let shown = format!("cases/{folder}");
    let mut paths: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect(),
        Err(e) => {
            failures.add(&shown, None, format!("cannot list the folder: {e}"));
            return Vec::new();
        }
    };
    paths.sort();
    if paths.is_empty() {
        failures.add(&shown, None, "no case files (*.json) in the folder");
    }
    let mut files = Vec::new();
    for p in paths {
        let name = p
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let path = format!("{shown}/{name}");
        let text = match std::fs::read_to_string(&p) {
            Ok(t) => t,
            Err(e) => {
                failures.add(&path, None, format!("cannot read: {e}"));
                continue;
            }
        };
        match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(doc)) => files.push(CaseFile { path, doc }),
            Ok(v) => failures.add(&path, None, format!("not a JSON object: {}", show(&v))),
            Err(e) => failures.add(&path, None, format!("not JSON: {e}")),
        }
    }
    files
}

fn unknown_keys<'m>(obj: &'m Map<String, Value>, allowed: &BTreeSet<String>) -> Vec<&'m str> {
    obj.keys()
        .filter(|k| !allowed.contains(k.as_str()))
        .map(String::as_str)
        .collect()
}

fn with_forms(inputs: &[&str]) -> Vec<String> {
    inputs.iter().flat_map(|i| forms(i)).collect()
}

/// Runs every case of `spec.folder` through `judge` (which returns the engine's answer, or
/// why the case cannot be run) and matches the answer against the case's expectation. Panics
/// at the end with every failure.
pub(crate) fn run(spec: &Spec<'_>, mut judge: impl FnMut(&Case<'_>) -> Result<Value, String>) {
    let mut failures = Failures::default();
    let files = load(spec.folder, &mut failures);
    let file_keys: BTreeSet<String> = ["description", "cases"]
        .into_iter()
        .map(String::from)
        .chain(with_forms(spec.file_inputs))
        .collect();
    let case_keys: BTreeSet<String> = ["name"]
        .iter()
        .chain(spec.case_keys)
        .chain(spec.expects)
        .map(|k| (*k).to_owned())
        .chain(with_forms(spec.case_inputs))
        .collect();
    let mut count = 0usize;
    for file in &files {
        let path = file.path.as_str();
        let bad = unknown_keys(&file.doc, &file_keys);
        if !bad.is_empty() {
            failures.add(path, None, format!("unknown top-level keys {bad:?}"));
            continue;
        }
        if !file.doc.get("description").is_some_and(Value::is_string) {
            failures.add(path, None, "no `description` string");
        }
        let cases = match file.doc.get("cases") {
            Some(Value::Array(c)) if !c.is_empty() => c,
            _ => {
                failures.add(path, None, "`cases` must be a non-empty array");
                continue;
            }
        };
        let mut names = BTreeSet::new();
        for (i, c) in cases.iter().enumerate() {
            let Value::Object(obj) = c else {
                failures.add(path, None, format!("cases[{i}] is not an object"));
                continue;
            };
            let Some(name) = obj.get("name").and_then(Value::as_str) else {
                failures.add(path, None, format!("cases[{i}] has no `name` string"));
                continue;
            };
            if !names.insert(name) {
                failures.add(path, Some(name), "the name is used twice in the file");
            }
            let bad = unknown_keys(obj, &case_keys);
            if !bad.is_empty() {
                failures.add(path, Some(name), format!("unknown keys {bad:?}"));
                continue;
            }
            let given: Vec<&str> = spec
                .expects
                .iter()
                .copied()
                .filter(|k| obj.contains_key(*k))
                .collect();
            let [expect_key] = given[..] else {
                failures.add(
                    path,
                    Some(name),
                    format!("needs exactly one of {:?}, has {given:?}", spec.expects),
                );
                continue;
            };
            let case = Case {
                file,
                name,
                obj,
                expect_key,
            };
            count += 1;
            let actual = match judge(&case) {
                Ok(a) => a,
                Err(e) => {
                    failures.add(path, Some(name), format!("cannot run: {e}"));
                    continue;
                }
            };
            if let Err(m) = matches(&obj[expect_key], &actual) {
                failures.add(
                    path,
                    Some(name),
                    format!(
                        "`{expect_key}` at {}: expected {}, got {}\n  answer: {}",
                        m.path,
                        m.expected,
                        m.actual,
                        show(&actual)
                    ),
                );
            }
        }
    }
    println!(
        "cases/{}: {count} cases in {} files",
        spec.folder,
        files.len()
    );
    failures.finish(spec.folder);
}

#[test]
fn matcher_accepts_subsets_absent_nulls_numbers_by_value_and_json_text() {
    let answer = serde_json::json!({
        "decision": "deny", "status": 200, "rule": null, "extra": [1],
        "body": "{\"result\":{\"tools\":[{\"name\":\"echo\",\"d\":1}]},\"id\":1}"
    });
    let expect = serde_json::json!({
        "decision": "deny", "status": 200.0, "rule": null, "mode": null,
        "bodyJson": {"result": {"tools": [{"name": "echo"}]}}
    });
    assert_eq!(matches(&expect, &answer), Ok(()));
}

#[test]
fn matcher_rejects_a_wrong_scalar() {
    let m = matches(
        &serde_json::json!({"error": {"code": -32602}}),
        &serde_json::json!({"error": {"code": -32601, "message": "x"}}),
    )
    .unwrap_err();
    assert_eq!(m.path, "$.error.code");
    assert_eq!(
        (m.expected.as_str(), m.actual.as_str()),
        ("-32602", "-32601")
    );
    // A string is not the number it spells, nor null the string "null".
    assert!(
        matches(
            &serde_json::json!({"s": 200}),
            &serde_json::json!({"s": "200"})
        )
        .is_err()
    );
    assert!(matches(&serde_json::json!("null"), &Value::Null).is_err());
}

#[test]
fn matcher_rejects_a_missing_key() {
    let m = matches(
        &serde_json::json!({"audit": {"rule": 1}}),
        &serde_json::json!({"audit": {}}),
    )
    .unwrap_err();
    assert_eq!(m.path, "$.audit.rule");
    assert_eq!(m.actual, "(absent)");
    // A non-null expectation is not met by an explicit null either.
    assert!(
        matches(
            &serde_json::json!({"k": false}),
            &serde_json::json!({"k": null})
        )
        .is_err()
    );
}

#[test]
fn matcher_rejects_an_array_of_another_length() {
    let m = matches(
        &serde_json::json!({"requiredScopes": ["a"]}),
        &serde_json::json!({"requiredScopes": ["a", "b"]}),
    )
    .unwrap_err();
    assert_eq!(m.path, "$.requiredScopes");
    assert!(
        matches(&serde_json::json!([1, 2]), &serde_json::json!([1])).is_err(),
        "shorter"
    );
    // Elements are matched in order.
    let m = matches(
        &serde_json::json!(["a", "b"]),
        &serde_json::json!(["b", "a"]),
    )
    .unwrap_err();
    assert_eq!(m.path, "$[0]");
}

#[test]
fn matcher_rejects_a_wrong_nested_body_json_value() {
    let answer = serde_json::json!({
        "rewrite": "replaced",
        "body": "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"tools\":[{\"name\":\"echo\"},{\"name\":\"get-sum\"}]}}"
    });
    let expect = serde_json::json!({
        "bodyJson": {"result": {"tools": [{"name": "echo"}, {"name": "get-env"}]}}
    });
    let m = matches(&expect, &answer).unwrap_err();
    assert_eq!(m.path, "$.bodyJson.result.tools[1].name");
    assert_eq!(
        (m.expected.as_str(), m.actual.as_str()),
        ("\"get-env\"", "\"get-sum\"")
    );
    // Text that is not JSON, or no text at all, meets no JSON expectation.
    let not_json = serde_json::json!({"body": "{nope"});
    assert!(matches(&serde_json::json!({"bodyJson": {}}), &not_json).is_err());
    let dropped = serde_json::json!({"body": null});
    assert!(matches(&serde_json::json!({"bodyJson": {}}), &dropped).is_err());
    assert_eq!(
        matches(&serde_json::json!({"bodyJson": null}), &dropped),
        Ok(())
    );
}
