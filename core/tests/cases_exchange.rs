//! Runs `cases/exchange/*.json` (format: `cases/README.md`, "exchange"): whole exchanges through the host protocol
//! (`mcp_policy::exchange`), step by step, each answer matched against the case's expectation
//! in the JSON answer format. Every `chunks` step is also replayed with its bytes split at every
//! position (and one byte at a time): an event stream may be cut anywhere by the network, and
//! the answer must not change.

mod case_runner;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use case_runner::{Failures, load, matches, resolve, root};
use mcp_policy::exchange::{
    ClientVerdict, Exchange, Failure, Guard, Head, Options, RequestFacts, Route, Session, Step,
};
use mcp_policy::policy::Engine;
use mcp_policy::{Context, Limits, answer};
use serde_json::{Map, Value, json};

/// Inputs longer than this are not replayed at every split position (the cost is quadratic).
const MAX_SPLIT_REPLAY: usize = 16 * 1024;

const FILE_KEYS: &[&str] = &["description", "policy", "policyFile", "options", "cases"];
const CASE_KEYS: &[&str] = &["name", "resumable", "steps"];
/// Keys a step may have besides its kind and `expect`.
const STEP_KEYS: &[&str] = &[
    "body",
    "bodyText",
    "bodyFile",
    "headers",
    "context",
    "data",
    "dataText",
    "dataFile",
    "status",
    "contentType",
    "contentEncoding",
    "lastEventId",
    "failure",
    "detail",
    "streaming",
];
const STEP_KINDS: &[&str] = &[
    "client", "head", "chunks", "finish", "body", "message", "stream", "route", "fail", "failAll",
];

struct Run<'g> {
    guard: &'g Guard,
    session: Session,
    exchanges: HashMap<String, Exchange>,
    labels: HashMap<u64, String>,
}

fn context(step: &Map<String, Value>) -> Result<Context<'static>, String> {
    match step.get("context") {
        None => Ok(Context::default()),
        Some(v) => {
            let text = v.to_string();
            Context::from_json(&text)
                .map(Context::into_owned)
                .map_err(|e| format!("context: {e}"))
        }
    }
}

fn label<'s>(step: &'s Map<String, Value>, kind: &str) -> Result<&'s str, String> {
    step.get(kind)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("`{kind}` must name the exchange (a string)"))
}

fn header_bytes(v: Option<&Value>) -> Result<Option<Vec<u8>>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_bytes().to_vec())),
        Some(other) => Err(format!("a header value must be a string, found {other}")),
    }
}

/// The concatenated input of a `chunks` step, and how to cut it for a replay.
fn chunk_list(step: &Map<String, Value>) -> Result<Vec<Vec<u8>>, String> {
    let Some(Value::Array(chunks)) = step.get("chunks").and(step.get("data")) else {
        return Err("`chunks` steps give their bytes as `data`: [\"…\", …]".into());
    };
    chunks
        .iter()
        .map(|c| {
            c.as_str()
                .map(|s| s.as_bytes().to_vec())
                .ok_or_else(|| "each chunk is a string".to_string())
        })
        .collect()
}

impl Run<'_> {
    fn exchange(&mut self, name: &str) -> Result<&mut Exchange, String> {
        self.exchanges.get_mut(name).ok_or_else(|| {
            format!("no exchange named `{name}` (open it with a `client` or `stream` step first)")
        })
    }

    /// One step; `split` replaces a `chunks` step's chunks.
    fn step(
        &mut self,
        step: &Map<String, Value>,
        split: Option<&[Vec<u8>]>,
    ) -> Result<Value, String> {
        let kind = STEP_KINDS
            .iter()
            .find(|k| step.contains_key(**k))
            .ok_or_else(|| format!("a step needs one of {STEP_KINDS:?}"))?;
        let ctx = context(step)?;
        match *kind {
            "client" => {
                let name = label(step, "client")?.to_owned();
                let body = resolve(step, "body")?.ok_or("`client` needs `body` or `bodyText`")?;
                let headers: Vec<(String, Vec<u8>)> = match step.get("headers") {
                    None => vec![("content-type".into(), b"application/json".to_vec())],
                    Some(Value::Object(h)) => h
                        .iter()
                        .map(|(k, v)| Ok((k.clone(), header_bytes(Some(v))?.unwrap_or_default())))
                        .collect::<Result<_, String>>()?,
                    // Pairs, for a header sent twice.
                    Some(Value::Array(pairs)) => pairs
                        .iter()
                        .map(|p| match p.as_array().map(Vec::as_slice) {
                            Some([Value::String(k), Value::String(v)]) => {
                                Ok((k.clone(), v.as_bytes().to_vec()))
                            }
                            _ => Err(format!("a header pair is [name, value], found {p}")),
                        })
                        .collect::<Result<_, String>>()?,
                    Some(_) => {
                        return Err("`headers` is an object or a list of [name, value]".into());
                    }
                };
                let facts = RequestFacts::from_headers(
                    headers.iter().map(|(n, v)| (n.as_str(), v.as_slice())),
                );
                let verdict = self.guard.client(&body, &facts, &ctx, &self.session);
                let a = answer::client_verdict(&verdict);
                if let ClientVerdict::Forward(f) = verdict {
                    self.labels.insert(f.exchange.id(), name.clone());
                    self.exchanges.insert(name, f.exchange);
                }
                Ok(a)
            }
            "stream" => {
                let name = label(step, "stream")?.to_owned();
                let last = header_bytes(step.get("lastEventId"))?;
                let ex = self.guard.stream(&self.session, last.as_deref());
                self.labels.insert(ex.id(), name.clone());
                self.exchanges.insert(name, ex);
                Ok(json!({}))
            }
            "head" => {
                let status = step.get("status").and_then(Value::as_u64).unwrap_or(200) as u16;
                let ct = header_bytes(step.get("contentType"))?;
                let ce = header_bytes(step.get("contentEncoding"))?;
                let ex = self.exchange(label(step, "head")?)?;
                Ok(match ex.server_head(status, ct.as_deref(), ce.as_deref()) {
                    Head::Stream => json!({"head": "stream"}),
                    Head::Whole => json!({"head": "whole"}),
                })
            }
            "chunks" => {
                let chunks = match split {
                    Some(s) => s.to_vec(),
                    None => chunk_list(step)?,
                };
                let ex = self.exchange(label(step, "chunks")?)?;
                let mut all = Step::default();
                for c in &chunks {
                    let s = ex.server_chunk(c, &ctx);
                    all.merge(s);
                }
                Ok(answer::of(&all))
            }
            "finish" => {
                let ex = self.exchange(label(step, "finish")?)?;
                Ok(answer::of(&ex.finish()))
            }
            "body" => {
                let bytes =
                    resolve(step, "data")?.ok_or("`body` steps give `data` or `dataText`")?;
                let ex = self.exchange(label(step, "body")?)?;
                Ok(answer::of(&ex.server_body(&bytes, &ctx)))
            }
            "message" => {
                let bytes =
                    resolve(step, "data")?.ok_or("`message` steps give `data` or `dataText`")?;
                let ex = self.exchange(label(step, "message")?)?;
                Ok(match ex.server_message(&bytes, &ctx) {
                    Ok(d) => answer::of(&d),
                    Err(e) => answer::core_error(&e),
                })
            }
            "route" => {
                let bytes =
                    resolve(step, "data")?.ok_or("`route` steps give `data` or `dataText`")?;
                let r = self.session.route(&bytes, self.guard.engine().limits());
                Ok(json!({"route": match r {
                    Route::Exchange(id) => self.labels.get(&id).cloned().unwrap_or_else(|| format!("#{id}")),
                    Route::Unsolicited => "unsolicited".into(),
                    Route::Unreadable => "unreadable".into(),
                }}))
            }
            "fail" => {
                let failure = match step.get("failure").and_then(Value::as_str) {
                    Some("unreachable") => Failure::Unreachable,
                    Some("timeout") => Failure::Timeout,
                    Some("broken") => Failure::Broken,
                    Some("shutting_down") => Failure::ShuttingDown,
                    Some("unjudgeable") => Failure::Unjudgeable,
                    other => return Err(format!("unknown failure {other:?}")),
                };
                let detail = step
                    .get("detail")
                    .and_then(Value::as_str)
                    .unwrap_or("failed")
                    .to_owned();
                let streaming = step
                    .get("streaming")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                let ex = self.exchange(label(step, "fail")?)?;
                Ok(if streaming {
                    answer::of(&ex.fail_stream(failure, &detail))
                } else {
                    answer::of(&ex.fail_reply(failure, &detail))
                })
            }
            "failAll" => {
                let message = step
                    .get("failAll")
                    .and_then(Value::as_str)
                    .unwrap_or("failed");
                let all = self.session.fail_all(-32603, message);
                Ok(Value::Array(
                    all.into_iter()
                        .map(|(id, body)| {
                            json!([
                                self.labels.get(&id).cloned().unwrap_or_default(),
                                String::from_utf8_lossy(&body)
                            ])
                        })
                        .collect(),
                ))
            }
            _ => unreachable!(),
        }
    }
}

/// Checks a step's keys: its kind, `expect`, and the inputs steps take. A misspelt key would
/// make a step compare nothing, or drop an input, and still pass.
fn step_keys_ok(step: &Map<String, Value>) -> Result<(), String> {
    let allowed: BTreeSet<&str> = STEP_KINDS
        .iter()
        .chain(STEP_KEYS)
        .copied()
        .chain(["expect"])
        .collect();
    let bad: Vec<&String> = step
        .keys()
        .filter(|k| !allowed.contains(k.as_str()))
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(format!("unknown step keys {bad:?}"))
    }
}

/// Runs one case; `split` = (index of a `chunks` step, the chunks to use for it instead).
/// Failures are reported under `file`, `case`, with `variant` saying which replay failed.
fn run_case(
    guard: &Guard,
    case: &Map<String, Value>,
    split: Option<(usize, &[Vec<u8>])>,
    f: &mut Failures,
    (file, name, variant): (&str, &str, &str),
) {
    let session = guard.session();
    if case.get("resumable").and_then(Value::as_bool) == Some(true) {
        session.set_resumable(true);
    }
    let mut run = Run {
        guard,
        session,
        exchanges: HashMap::new(),
        labels: HashMap::new(),
    };
    let Some(Value::Array(steps)) = case.get("steps") else {
        f.add(file, Some(name), "a case needs `steps` (an array)");
        return;
    };
    for (i, step) in steps.iter().enumerate() {
        let Some(step) = step.as_object() else {
            f.add(file, Some(name), format!("step {i} is not an object"));
            return;
        };
        if let Err(e) = step_keys_ok(step) {
            f.add(file, Some(name), format!("step {i}: {e}"));
            return;
        }
        let cut = split.filter(|(at, _)| *at == i).map(|(_, c)| c);
        match run.step(step, cut) {
            Err(e) => {
                f.add(
                    file,
                    Some(name),
                    format!("step {i}{variant}: cannot run: {e}"),
                );
                return;
            }
            Ok(actual) => match step.get("expect") {
                Some(expect) => {
                    if let Err(m) = matches(expect, &actual) {
                        f.add(
                            file,
                            Some(name),
                            format!(
                                "step {i}{variant}: `expect` at {}: expected {}, got {}\n  answer: {actual}",
                                m.path, m.expected, m.actual
                            ),
                        );
                        return;
                    }
                }
                None if step.contains_key("stream") => {}
                None => {
                    f.add(file, Some(name), format!("step {i} needs `expect`"));
                    return;
                }
            },
        }
    }
}

fn engine(doc: &Map<String, Value>) -> Result<Engine, String> {
    let bytes = match (doc.get("policy"), doc.get("policyFile")) {
        (Some(p), None) => p.to_string().into_bytes(),
        (None, Some(Value::String(path))) => {
            std::fs::read(root().join(path)).map_err(|e| format!("{path}: {e}"))?
        }
        _ => return Err("give `policy` or `policyFile`".into()),
    };
    Engine::from_json(&bytes, &Limits::default()).map_err(|e| e.to_string())
}

#[test]
fn exchange_cases() {
    let mut f = Failures::default();
    let mut count = 0;
    let files = load("exchange", &mut f);
    for file in &files {
        let path = file.path.as_str();
        let bad: Vec<&String> = file
            .doc
            .keys()
            .filter(|k| !FILE_KEYS.contains(&k.as_str()))
            .collect();
        if !bad.is_empty() {
            f.add(path, None, format!("unknown top-level keys {bad:?}"));
            continue;
        }
        let engine = match engine(&file.doc) {
            Ok(e) => e,
            Err(e) => {
                f.add(path, None, e);
                continue;
            }
        };
        let options = file.doc.get("options").and_then(Value::as_object);
        let opt = |k: &str| options.and_then(|o| o.get(k));
        let guard = Guard::with_options(
            Arc::new(engine),
            Options {
                resource_metadata_url: opt("resourceMetadataUrl")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                max_pending: opt("maxPending")
                    .and_then(Value::as_u64)
                    .map_or(1024, |n| n as usize),
                challenge_scopes: opt("challengeScopes")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default(),
            },
        );
        let Some(Value::Array(cases)) = file.doc.get("cases") else {
            f.add(path, None, "`cases` must be an array");
            continue;
        };
        for case in cases {
            let Some(case) = case.as_object() else {
                f.add(path, None, "a case is not an object");
                continue;
            };
            let Some(name) = case.get("name").and_then(Value::as_str) else {
                f.add(path, None, "a case has no `name`");
                continue;
            };
            let bad: Vec<&String> = case
                .keys()
                .filter(|k| !CASE_KEYS.contains(&k.as_str()))
                .collect();
            if !bad.is_empty() {
                f.add(path, Some(name), format!("unknown keys {bad:?}"));
                continue;
            }
            count += 1;
            run_case(&guard, case, None, &mut f, (path, name, ""));
            let Some(Value::Array(steps)) = case.get("steps") else {
                continue;
            };
            for (i, step) in steps.iter().enumerate() {
                let Some(step) = step.as_object().filter(|s| s.contains_key("chunks")) else {
                    continue;
                };
                let Ok(chunks) = chunk_list(step) else {
                    continue;
                };
                let whole: Vec<u8> = chunks.concat();
                if whole.len() > MAX_SPLIT_REPLAY {
                    continue;
                }
                for at in 0..=whole.len() {
                    let cut = [whole[..at].to_vec(), whole[at..].to_vec()];
                    let variant = format!(" (cut at byte {at})");
                    run_case(
                        &guard,
                        case,
                        Some((i, &cut)),
                        &mut f,
                        (path, name, &variant),
                    );
                }
                let bytes: Vec<Vec<u8>> = whole.iter().map(|b| vec![*b]).collect();
                run_case(
                    &guard,
                    case,
                    Some((i, &bytes)),
                    &mut f,
                    (path, name, " (one byte at a time)"),
                );
            }
        }
    }
    println!("cases/exchange: {count} cases in {} files", files.len());
    f.finish("exchange");
}
