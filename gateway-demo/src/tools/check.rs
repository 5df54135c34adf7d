//! `mcp-policy check`: policy + message + context → the engine's decision
//! (`mcp_policy::answer::check`).

use std::process::ExitCode;

use mcp_policy::answer;

use super::{fail, load_engine, one_stdin, parse_context, print_json, read_context, read_input};

/// Arguments of `mcp-policy check`.
#[derive(Debug, clap::Args)]
pub(crate) struct CheckArgs {
    /// Policy file (Gravitee mcp-acl configuration, policy step, exported API, or our format); `-` for stdin.
    #[arg(long)]
    pub(crate) policy: String,
    /// JSON-RPC message file (one message or a batch); `-` for stdin.
    #[arg(long)]
    pub(crate) message: String,
    /// Context JSON file (ARCHITECTURE.md §3 shape: request, attributes, api...); `-` for stdin.
    #[arg(long)]
    pub(crate) context: Option<String>,
}

/// Runs the subcommand. Exit 0 on a decision either way (an unreadable message is a denial);
/// 2 when an input is unusable.
pub(crate) fn run(args: &CheckArgs) -> ExitCode {
    match check(args) {
        Ok(v) => print_json(&v),
        Err(e) => fail(&e),
    }
}

fn check(args: &CheckArgs) -> Result<serde_json::Value, String> {
    one_stdin(&[
        Some(&args.policy),
        Some(&args.message),
        args.context.as_deref(),
    ])?;
    let engine = load_engine(&args.policy)?;
    let message = read_input(&args.message, "message")?;
    let ctx_text = read_context(args.context.as_deref())?;
    let ctx = parse_context(
        ctx_text.as_deref(),
        args.context.as_deref(),
        engine.limits(),
    )?;
    Ok(answer::check(&engine, &message, &ctx))
}
