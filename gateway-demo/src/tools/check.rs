//! `mcp-policy check`: policy + message + context → decision JSON.

use std::process::ExitCode;

use mcp_policy::jsonrpc::Body;
use mcp_policy::policy::{Decision, Engine};
use mcp_policy::{Context, Message};
use serde_json::{Value, json};

use super::{fail, load_engine, one_stdin, print_json, read_input};

/// Arguments of `mcp-policy check`.
#[derive(Debug, clap::Args)]
pub(crate) struct CheckArgs {
    /// Policy file (Gravitee mcp-acl configuration, policy step, exported API, or our format); `-` for stdin.
    #[arg(long)]
    pub(crate) policy: String,
    /// JSON-RPC message file (one message or a batch); `-` for stdin.
    #[arg(long)]
    pub(crate) message: String,
    /// Context JSON file (DESIGN §3 shape: request, attributes, api...); `-` for stdin.
    #[arg(long)]
    pub(crate) context: Option<String>,
}

/// Runs the subcommand. Exit 0 on a decision either way; 2 when an input is unusable.
pub(crate) fn run(args: &CheckArgs) -> ExitCode {
    match check(args) {
        Ok(v) => print_json(&v),
        Err(e) => fail(&e),
    }
}

fn check(args: &CheckArgs) -> Result<Value, String> {
    one_stdin(&[
        Some(&args.policy),
        Some(&args.message),
        args.context.as_deref(),
    ])?;
    let engine = load_engine(&args.policy)?;
    let message = read_input(&args.message, "message")?;
    let ctx_text = match &args.context {
        Some(p) => String::from_utf8(read_input(p, "context")?)
            .map_err(|_| format!("context `{p}` is not UTF-8"))?,
        None => String::from("{}"),
    };
    let ctx = Context::from_json(&ctx_text)
        .map_err(|e| format!("context `{}`: {e}", args.context.as_deref().unwrap_or("-")))?;
    // An unparseable message is a verdict (never forwarded), not an unusable input.
    let body = match Body::parse(&message, engine.limits()) {
        Ok(b) => b,
        Err(e) => {
            let response: Value =
                serde_json::from_str(&e.to_jsonrpc_response(None)).unwrap_or(Value::Null);
            return Ok(json!({
                "decision": "deny",
                "kind": "invalid_message",
                "reason": e.to_string(),
                "httpStatus": e.http_status(),
                "error": response["error"],
                "response": response,
            }));
        }
    };
    match &body {
        Body::Single(m) => Ok(decision_json(&engine, m, &ctx)),
        Body::Batch(ms) => {
            let each: Vec<Value> = ms.iter().map(|m| decision_json(&engine, m, &ctx)).collect();
            let any_deny = each.iter().any(|d| d["decision"] == "deny");
            Ok(json!({ "decision": if any_deny { "deny" } else { "allow" }, "batch": each }))
        }
    }
}

fn decision_json(engine: &Engine, msg: &Message<'_>, ctx: &Context<'_>) -> Value {
    match engine.check(msg, ctx) {
        Decision::Allow(reason, audit) => json!({
            "decision": "allow",
            "reason": reason,
            "audit": audit,
        }),
        Decision::Deny(d) => {
            let response: Value =
                serde_json::from_str(&d.jsonrpc_response()).unwrap_or(Value::Null);
            json!({
                "decision": "deny",
                "kind": d.kind,
                "reason": d.reason,
                "mode": d.mode,
                "httpStatus": d.http_status(),
                "requiredScopes": d.required_scopes,
                "error": response["error"],
                "response": response,
                "audit": d.audit,
            })
        }
    }
}
