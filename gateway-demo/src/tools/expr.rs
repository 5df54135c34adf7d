//! `mcp-policy expr`: evaluate a Gravitee EL template against a context (and optionally an MCP
//! message) and print the engine's answer (`mcp_policy::answer::evaluate`): `{"value": …}` or
//! `{"error": {"code", "number", "message", "position", "hint"}}`.

use std::process::ExitCode;

use mcp_policy::expr::ResultType;
use mcp_policy::{Limits, Message, answer};

use super::{fail, one_stdin, parse_context, print_line, read_context, read_input};

/// Result type of `--type`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum TypeArg {
    /// Convert to a string (lists comma-joined), as Gravitee's `String.class`.
    String,
    /// Convert to a boolean, as a trigger condition (`null` stays `null`).
    Boolean,
    /// The value as computed.
    Auto,
}

impl From<TypeArg> for ResultType {
    fn from(t: TypeArg) -> Self {
        match t {
            TypeArg::String => Self::String,
            TypeArg::Boolean => Self::Boolean,
            TypeArg::Auto => Self::Auto,
        }
    }
}

/// Arguments of `mcp-policy expr`.
#[derive(Debug, clap::Args)]
pub(crate) struct ExprArgs {
    /// The template, e.g. "{#request.headers['x-role'][0] == 'admin'}".
    pub(crate) expr: String,
    /// Context JSON file (ARCHITECTURE.md §3 shape); `-` for stdin.
    #[arg(long)]
    pub(crate) context: Option<String>,
    /// JSON-RPC message being judged (fills #mcp, mcp_tool_name, #request.content); `-` for stdin.
    #[arg(long)]
    pub(crate) message: Option<String>,
    /// Result type.
    #[arg(long = "type", value_enum, default_value = "auto")]
    pub(crate) ty: TypeArg,
}

/// Runs the subcommand. Exit 0 with a value or an expression error; 2 when an input is
/// unusable.
pub(crate) fn run(args: &ExprArgs) -> ExitCode {
    match evaluate(args) {
        Ok(v) => print_line(&v.to_string()),
        Err(e) => fail(&e),
    }
}

fn evaluate(args: &ExprArgs) -> Result<serde_json::Value, String> {
    one_stdin(&[args.context.as_deref(), args.message.as_deref()])?;
    let limits = Limits::default();
    let ctx_text = read_context(args.context.as_deref())?;
    let ctx = parse_context(ctx_text.as_deref(), args.context.as_deref(), &limits)?;
    let msg_bytes = match &args.message {
        Some(path) => Some(read_input(path, "message")?),
        None => None,
    };
    let msg = match (&msg_bytes, &args.message) {
        (Some(b), Some(path)) => {
            Some(Message::parse(b, &limits).map_err(|e| format!("message `{path}`: {e}"))?)
        }
        _ => None,
    };
    Ok(answer::evaluate(
        &args.expr,
        &ctx,
        msg.as_ref(),
        args.ty.into(),
        &limits,
    ))
}
