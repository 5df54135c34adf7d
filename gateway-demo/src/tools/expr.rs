//! `mcp-policy expr`: evaluate a Gravitee EL template against a context (and optionally an MCP
//! message), print `{"value": …}` or `{"error": {"message", "position"}}`.

use std::process::ExitCode;

use mcp_policy::expr::{Env, McpVars, ResultType, Template};
use mcp_policy::{Context, Limits, Message};

use super::{fail, one_stdin, read_input};

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

/// Arguments of `mcp-policy expr`.
#[derive(Debug, clap::Args)]
pub(crate) struct ExprArgs {
    /// The template, e.g. "{#request.headers['x-role'][0] == 'admin'}".
    pub(crate) expr: String,
    /// Context JSON file (DESIGN §3 shape); `-` for stdin.
    #[arg(long)]
    pub(crate) context: Option<String>,
    /// JSON-RPC message being judged (fills #mcp, mcp_tool_name, #request.content); `-` for stdin.
    #[arg(long)]
    pub(crate) message: Option<String>,
    /// Result type.
    #[arg(long = "type", value_enum, default_value = "auto")]
    pub(crate) ty: TypeArg,
}

fn error_json(message: &str, position: usize, hint: &str) -> String {
    serde_json::json!({"error": {"message": message, "position": position, "hint": hint}})
        .to_string()
}

/// Runs the subcommand.
pub(crate) fn run(args: &ExprArgs) -> ExitCode {
    if let Err(e) = one_stdin(&[args.context.as_deref(), args.message.as_deref()]) {
        return fail(&e);
    }
    let limits = Limits::default();
    let ctx_bytes = match &args.context {
        Some(path) => match read_input(path, "context") {
            Ok(b) => Some((path.as_str(), b)),
            Err(e) => return fail(&e),
        },
        None => None,
    };
    let ctx_text = match &ctx_bytes {
        Some((path, b)) => match std::str::from_utf8(b) {
            Ok(t) => Some((*path, t)),
            Err(_) => return fail(&format!("context `{path}` is not UTF-8")),
        },
        None => None,
    };
    let ctx = match ctx_text {
        Some((path, t)) => match Context::from_json_with(t, &limits) {
            Ok(c) => c,
            Err(e) => return fail(&format!("context `{path}`: {e}")),
        },
        None => Context::default(),
    };
    let msg_bytes = match &args.message {
        Some(path) => match read_input(path, "message") {
            Ok(b) => Some((path.as_str(), b)),
            Err(e) => return fail(&e),
        },
        None => None,
    };
    let msg = match &msg_bytes {
        Some((path, b)) => match Message::parse(b, &limits) {
            Ok(m) => Some(m),
            Err(e) => return fail(&format!("message `{path}`: {e}")),
        },
        None => None,
    };
    let mut env = Env::new(&ctx);
    if let Some(m) = msg.as_ref().and_then(McpVars::from_message) {
        env = env.with_mcp(m);
    }
    let ty = match args.ty {
        TypeArg::String => ResultType::String,
        TypeArg::Boolean => ResultType::Boolean,
        TypeArg::Auto => ResultType::Auto,
    };
    let out = match Template::compile(&args.expr, &limits) {
        Err(e) => error_json(e.message(), e.position(), e.hint()),
        Ok(t) => match t.eval(&env, ty) {
            Ok(v) => format!("{{\"value\":{}}}", v.to_json()),
            Err(e) => error_json(e.message(), e.position(), e.hint()),
        },
    };
    super::print_line(&out)
}
