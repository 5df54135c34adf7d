//! `mcp-policy filter`: policy + request + response (JSON or SSE) → the filtered response.

use std::io::Write;
use std::process::ExitCode;

use mcp_policy::policy::{Engine, Rewrite};
use mcp_policy::{Context, Message, sse};

use super::{fail, load_engine, one_stdin, read_input};

/// Arguments of `mcp-policy filter`.
#[derive(Debug, clap::Args)]
pub(crate) struct FilterArgs {
    /// Policy file; `-` for stdin.
    #[arg(long)]
    pub(crate) policy: String,
    /// The client request the response answers (e.g. a `tools/list` request); `-` for stdin.
    #[arg(long)]
    pub(crate) request: String,
    /// The server's response body: one JSON-RPC message, or a `text/event-stream` body; `-` for stdin.
    #[arg(long)]
    pub(crate) response: String,
    /// Context JSON file; `-` for stdin.
    #[arg(long)]
    pub(crate) context: Option<String>,
}

/// Runs the subcommand: the filtered response on stdout (nothing for a dropped message).
pub(crate) fn run(args: &FilterArgs) -> ExitCode {
    match filter(args) {
        Ok(bytes) => {
            let mut out = std::io::stdout().lock();
            match out.write_all(&bytes).and_then(|()| out.flush()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(&format!("cannot write the output: {e}")),
            }
        }
        Err(e) => fail(&e),
    }
}

/// Whether a body is an SSE stream rather than one JSON value.
fn looks_like_sse(body: &[u8]) -> bool {
    let start = body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(body.len());
    let rest = &body[start..];
    !rest.starts_with(b"{") && !rest.starts_with(b"[")
}

fn filter(args: &FilterArgs) -> Result<Vec<u8>, String> {
    one_stdin(&[
        Some(&args.policy),
        Some(&args.request),
        Some(&args.response),
        args.context.as_deref(),
    ])?;
    let engine: Engine = load_engine(&args.policy)?;
    let request = read_input(&args.request, "request")?;
    let response = read_input(&args.response, "response")?;
    let ctx_text = match &args.context {
        Some(p) => String::from_utf8(read_input(p, "context")?)
            .map_err(|_| format!("context `{p}` is not UTF-8"))?,
        None => String::from("{}"),
    };
    let ctx = Context::from_json(&ctx_text).map_err(|e| format!("context: {e}"))?;
    let req = Message::parse(&request, engine.limits())
        .map_err(|e| format!("request `{}`: {e}", args.request))?;
    if looks_like_sse(&response) {
        let mut f = sse::Filter::new(&engine, Some(req.text().as_bytes()));
        let mut out = Vec::new();
        f.push(&response, &ctx, &mut out)
            .map_err(|e| format!("response `{}`: {e}", args.response))?;
        let rest = f.finish(&ctx, &mut out);
        if rest.iter().any(|b| !b.is_ascii_whitespace()) {
            return Err(format!(
                "response `{}` ends inside an unterminated SSE event ({} bytes); an event ends with a blank line",
                args.response,
                rest.len()
            ));
        }
        return Ok(out);
    }
    let filtered = engine
        .filter_response(&req, &response, &ctx)
        .map_err(|e| format!("response `{}`: {e}", args.response))?;
    Ok(match filtered.rewrite {
        Rewrite::Unchanged => response,
        Rewrite::Replaced(s) => s.into_bytes(),
        Rewrite::Dropped => Vec::new(),
    })
}
