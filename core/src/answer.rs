//! The one JSON answer format: decisions, filter results, evaluations, errors, client verdicts
//! and server steps as JSON values. The CLI prints them, the C ABI returns them as text, Python
//! and Node return them as objects, and the shared test cases (`cases/` in the repository)
//! state their expected outcomes in it, so every host gives the same answer to the same input.
//!
//! ```
//! use mcp_policy::{answer, Context, Limits};
//! use mcp_policy::policy::Engine;
//!
//! let engine = Engine::from_json(br#"{"authorizations":[]}"#, &Limits::default()).unwrap();
//! let call = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}}"#;
//! let a = answer::check(&engine, call, &Context::default());
//! assert_eq!(a["decision"], "deny");
//! assert_eq!(a["allowed"], false);
//! assert_eq!(a["status"], 200);
//! assert_eq!(a["error"]["code"], -32602);
//! assert_eq!(a["response"]["id"], 1);
//! ```

use alloc::string::String;
use alloc::vec::Vec;

use serde_json::{Map, Value, json};

use crate::context::Context;
use crate::error::{Error, ErrorCode};
use crate::exchange::ClientVerdict;
use crate::expr::{Env, EvalError, ExprError, McpVars, ResultType, Template};
use crate::jsonrpc::{Body, Message};
use crate::limits::Limits;
use crate::policy::{Decision, Engine, Filtered, Rewrite};

fn to_value<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// Parses a JSON text the crate wrote (a response it built), for embedding as a value.
fn json_text(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(String::from(text)))
}

/// A decision: `decision` (`allow`/`deny`), `allowed`, `reason`, `rule`, `status` (the HTTP
/// status to answer with), `audit`; a denial adds `kind`, `mode`, `requiredScopes`, `error`
/// (the JSON-RPC error object) and `response` (the whole error response).
pub fn decision(d: &Decision<'_>) -> Value {
    match d {
        Decision::Allow(reason, audit) => json!({
            "decision": "allow",
            "allowed": true,
            "reason": reason,
            "rule": audit.rule,
            "status": 200,
            "audit": audit,
        }),
        Decision::Deny(d) => {
            let response = json_text(&d.jsonrpc_response());
            json!({
                "decision": "deny",
                "allowed": false,
                "kind": d.kind,
                "reason": d.reason,
                "rule": d.audit.rule,
                "mode": d.mode,
                "status": d.http_status(),
                "requiredScopes": d.required_scopes,
                "error": response["error"],
                "response": response,
                "audit": d.audit,
            })
        }
    }
}

/// A message that cannot be read: a denial of kind `invalid_message`, with the error's `code`
/// name and the JSON-RPC error response (id `null`).
pub fn invalid(e: &Error) -> Value {
    let response = json_text(&e.to_jsonrpc_response(None));
    json!({
        "decision": "deny",
        "allowed": false,
        "kind": "invalid_message",
        "reason": alloc::format!("{e}"),
        "rule": Value::Null,
        "status": e.http_status(),
        "code": e.code().name(),
        "error": response["error"],
        "response": response,
    })
}

/// Judges a body (one message or a batch) and answers: a [`decision`], an [`invalid`] when it
/// does not parse, or for a batch `{"decision", "allowed", "batch": [decision…]}` (denied when
/// any message is).
pub fn check(engine: &Engine, body: &[u8], ctx: &Context<'_>) -> Value {
    match Body::parse(body, engine.limits()) {
        Err(e) => invalid(&e),
        Ok(Body::Single(m)) => decision(&engine.check(&m, ctx)),
        Ok(Body::Batch(ms)) => {
            let each: Vec<Value> = ms.iter().map(|m| decision(&engine.check(m, ctx))).collect();
            let allowed = each.iter().all(|d| d["allowed"] == true);
            json!({
                "decision": if allowed { "allow" } else { "deny" },
                "allowed": allowed,
                "batch": each,
            })
        }
    }
}

/// A filter result: `rewrite` (`unchanged`, `replaced`, `dropped`), `body` (the text to
/// forward: `original` for `unchanged`, `null` when dropped) and `hidden` (what was removed
/// and why).
pub fn filtered(f: &Filtered, original: &[u8]) -> Value {
    let (rewrite, body) = match &f.rewrite {
        Rewrite::Unchanged => (
            "unchanged",
            Value::String(String::from_utf8_lossy(original).into_owned()),
        ),
        Rewrite::Replaced(t) => ("replaced", Value::String(t.clone())),
        Rewrite::Dropped => ("dropped", Value::Null),
    };
    json!({ "rewrite": rewrite, "body": body, "hidden": f.hidden })
}

/// An error of any type of the crate: `{"error": {"code": NAME, "number": n, "message": …}}`
/// plus what the type knows (`path`, `offset`, `position`, `hint`, `issues`).
pub fn error(code: ErrorCode, message: &str, extra: Map<String, Value>) -> Value {
    let mut e = Map::new();
    e.insert("code".into(), code.name().into());
    e.insert("number".into(), code.code().into());
    e.insert("message".into(), message.into());
    e.extend(extra);
    json!({ "error": e })
}

/// [`error`] for a message, context or limits error.
pub fn core_error(e: &Error) -> Value {
    let mut extra = Map::new();
    if let Some(p) = e.path() {
        extra.insert("path".into(), p.into());
    }
    if let Some(o) = e.offset() {
        extra.insert("offset".into(), o.into());
    }
    extra.insert("hint".into(), e.kind().hint().into());
    error(e.code(), &alloc::format!("{e}"), extra)
}

/// [`error`] for a policy that does not compile, with every issue and its JSON path.
pub fn policy_error(e: &crate::policy::ConfigErrors) -> Value {
    let mut extra = Map::new();
    extra.insert("issues".into(), to_value(&e.issues));
    error(e.code(), &alloc::format!("{e}"), extra)
}

fn expr_error(code: ErrorCode, message: &str, position: usize, hint: &str) -> Value {
    let mut extra = Map::new();
    extra.insert("position".into(), position.into());
    extra.insert("hint".into(), hint.into());
    error(code, message, extra)
}

/// [`error`] for a template that does not compile.
pub fn compile_error(e: &ExprError) -> Value {
    expr_error(e.code(), e.message(), e.position(), e.hint())
}

/// [`error`] for an evaluation that failed.
pub fn eval_error(e: &EvalError) -> Value {
    expr_error(e.code(), e.message(), e.position(), e.hint())
}

/// Evaluates a condition template against a context (and the message being judged, which
/// fills `#mcp`; without one, the context's request content when it is an MCP message):
/// `{"value": …}`, or an [`error`] (`INVALID_EXPRESSION`, `EVALUATION_FAILED`).
pub fn evaluate(
    expression: &str,
    ctx: &Context<'_>,
    message: Option<&Message<'_>>,
    ty: ResultType,
    limits: &Limits,
) -> Value {
    let t = match Template::compile(expression, limits) {
        Ok(t) => t,
        Err(e) => return compile_error(&e),
    };
    let mut env = Env::new(ctx);
    // Without a message, a request content that is an MCP message is the message: what a
    // check of that body would let its conditions see (`#mcp`, `mcp_tool_name`).
    let from_content = match (message, ctx.request.content.as_deref()) {
        (None, Some(text)) => Message::parse(text.as_bytes(), limits).ok(),
        _ => None,
    };
    if let Some(m) = message
        .or(from_content.as_ref())
        .and_then(McpVars::from_message)
    {
        env = env.with_mcp(m);
    }
    match t.eval(&env, ty) {
        Ok(v) => json!({ "value": json_text(&v.to_json()) }),
        Err(e) => eval_error(&e),
    }
}

/// A client verdict: `{"verdict": "forward", "contentType", "summary"}` or
/// `{"verdict": "reply", "status", "contentType", "wwwAuthenticate"?, "body", "kind",
/// "errorCode", "summary"}`.
pub fn client_verdict(v: &ClientVerdict) -> Value {
    match v {
        ClientVerdict::Forward(f) => forward(f.content_type, &f.summary),
        ClientVerdict::Reply(r) => {
            let mut a = to_value(r);
            if let Value::Object(m) = &mut a {
                m.insert("verdict".into(), "reply".into());
                m.insert("summary".into(), to_value(&r.summary));
            }
            a
        }
    }
}

/// The verdict of a forwarded body, from its parts: what [`client_verdict`] answers for a
/// [`ClientVerdict::Forward`], for hosts that have moved its exchange out already.
pub fn forward(content_type: &str, summary: &crate::exchange::Summary) -> Value {
    json!({
        "verdict": "forward",
        "contentType": content_type,
        "summary": to_value(summary),
    })
}

/// Any serializable result of the exchange API ([`crate::exchange::Step`],
/// [`crate::exchange::Answer`], [`crate::exchange::Delivery`], [`crate::exchange::Reply`]).
pub fn of<T: serde::Serialize>(v: &T) -> Value {
    to_value(v)
}
