//! `mcp-policy filter`: policy + request + server answer (JSON or SSE) → what the client gets,
//! judged with the exchange API exactly as the gateway judges it: the request goes through
//! [`Guard::client`], the answer through [`Exchange::server_head`], then
//! [`Exchange::server_chunk`] and [`Exchange::finish`] for an event stream or
//! [`Exchange::server_body`] for a whole body.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use mcp_policy::answer;
use mcp_policy::exchange::{
    Answer, ClientVerdict, Exchange, Guard, Head, Reply, RequestFacts, Step,
};
use serde_json::{Value, json};

use super::{fail, load_engine, one_stdin, parse_context, read_context, read_input};

/// Arguments of `mcp-policy filter`.
#[derive(Debug, clap::Args)]
pub(crate) struct FilterArgs {
    /// Policy file; `-` for stdin.
    #[arg(long)]
    pub(crate) policy: String,
    /// The client request the response answers (e.g. a `tools/list` request); `-` for stdin.
    #[arg(long)]
    pub(crate) request: String,
    /// The server's response body: a JSON-RPC message (or batch), or a `text/event-stream` body; `-` for stdin.
    #[arg(long)]
    pub(crate) response: String,
    /// Context JSON file; `-` for stdin.
    #[arg(long)]
    pub(crate) context: Option<String>,
    /// The server's `Content-Type` [default: `text/event-stream` unless the response starts
    /// with `{` or `[`, then `application/json`].
    #[arg(long = "content-type", value_name = "TYPE")]
    pub(crate) content_type: Option<String>,
    /// Print the engine's answers as JSON (the client verdict, then the server step(s) or
    /// answer, with the messages sent back to the server) instead of the client's bytes.
    #[arg(long)]
    pub(crate) json: bool,
}

/// What the exchange gave for the server's answer.
enum Judged {
    /// The request was not forwarded: the client gets this reply.
    Refused(Reply),
    /// An event stream: everything sent for it (the step of the whole body fed as one chunk,
    /// merged with the step of its end unless the chunk ended the stream, where the gateway
    /// stops reading).
    Stream(Step),
    /// A body read whole.
    Whole(Answer),
}

/// Runs the subcommand: the bytes the client gets on stdout (exit 0), or with `--json` the
/// engine's answers. A refused request is an answer too (its reply on stdout, a note on
/// stderr); exit 2 only when an input is unusable.
pub(crate) fn run(args: &FilterArgs) -> ExitCode {
    let (verdict, judged, response) = match filter(args) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    match &judged {
        Judged::Refused(r) => {
            let code = r.error_code.map_or_else(String::new, |c| format!(" {c}"));
            eprintln!(
                "mcp-policy: the request was not forwarded ({}{code}, HTTP {}); the output is the reply the client gets",
                r.kind.as_str(),
                r.status
            );
        }
        Judged::Whole(a) if a.status != 200 => eprintln!(
            "mcp-policy: the server's answer is not delivered; the client gets HTTP {} with the output",
            a.status
        ),
        _ => {}
    }
    let bytes = if args.json {
        match serde_json::to_string_pretty(&answers(verdict, &judged)) {
            Ok(s) => format!("{s}\n").into_bytes(),
            Err(e) => return fail(&format!("cannot render the output: {e}")),
        }
    } else {
        match judged {
            Judged::Refused(r) => r.body,
            Judged::Stream(step) => step.to_client,
            Judged::Whole(a) => a.body.unwrap_or(response),
        }
    };
    let mut out = std::io::stdout().lock();
    match out.write_all(&bytes).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => fail(&format!("cannot write the output: {e}")),
    }
}

/// The engine's answers as they are: `client` (the verdict), `head`, then `step` (everything
/// sent for an event stream) or `answer` (a whole body); `toServer` repeats what the gateway
/// would send back to the server.
fn answers(verdict: Value, judged: &Judged) -> Value {
    let mut v = json!({ "client": verdict });
    match judged {
        Judged::Refused(_) => v["toServer"] = json!([]),
        Judged::Stream(step) => {
            v["head"] = "stream".into();
            v["step"] = answer::of(step);
            v["toServer"] = v["step"]["toServer"].clone();
        }
        Judged::Whole(a) => {
            v["head"] = "whole".into();
            v["answer"] = answer::of(a);
            v["toServer"] = v["answer"]["toServer"].clone();
        }
    }
    v
}

/// Whether a body is an SSE stream rather than one JSON value (the guess without
/// `--content-type`).
fn looks_like_sse(body: &[u8]) -> bool {
    let start = body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(body.len());
    let rest = &body[start..];
    !rest.starts_with(b"{") && !rest.starts_with(b"[")
}

/// The client verdict (as JSON), what the exchange made of the server's answer, and the
/// server's answer as read.
fn filter(args: &FilterArgs) -> Result<(Value, Judged, Vec<u8>), String> {
    one_stdin(&[
        Some(&args.policy),
        Some(&args.request),
        Some(&args.response),
        args.context.as_deref(),
    ])?;
    let guard = Guard::new(Arc::new(load_engine(&args.policy)?));
    let request = read_input(&args.request, "request")?;
    let response = read_input(&args.response, "response")?;
    let ctx_text = read_context(args.context.as_deref())?;
    let ctx = parse_context(
        ctx_text.as_deref(),
        args.context.as_deref(),
        guard.engine().limits(),
    )?;
    let facts = RequestFacts {
        content_type: Some(b"application/json"),
        ..RequestFacts::default()
    };
    let verdict = guard.client(&request, &facts, &ctx, &guard.session());
    let verdict_json = answer::client_verdict(&verdict);
    let mut exchange: Exchange = match verdict {
        ClientVerdict::Forward(f) => f.exchange,
        ClientVerdict::Reply(r) => return Ok((verdict_json, Judged::Refused(r), response)),
    };
    let content_type: &[u8] = match &args.content_type {
        Some(t) => t.as_bytes(),
        None if looks_like_sse(&response) => b"text/event-stream",
        None => b"application/json",
    };
    let judged = match exchange.server_head(200, Some(content_type), None) {
        Head::Stream => {
            let mut step = exchange.server_chunk(&response, &ctx);
            // `end`: the gateway stops reading and closes the client's stream.
            if !step.end {
                step.merge(exchange.finish());
            }
            Judged::Stream(step)
        }
        Head::Whole => Judged::Whole(exchange.server_body(&response, &ctx)),
    };
    Ok((verdict_json, judged, response))
}
