//! Command-line tools: each turns files into engine calls and prints the engine's answers
//! (`mcp_policy::answer`, the format every binding returns). No rule is decided here.

use std::io::{Read, Write};
use std::process::ExitCode;

pub(crate) mod check;
pub(crate) mod expr;
pub(crate) mod filter;
pub(crate) mod lint;

/// Reads a file, or standard input for `-`.
pub(crate) fn read_input(path: &str, what: &str) -> Result<Vec<u8>, String> {
    if path == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| format!("cannot read the {what} from standard input: {e}"))?;
        return Ok(buf);
    }
    std::fs::read(path).map_err(|e| format!("cannot read the {what} file `{path}`: {e}"))
}

/// Refuses two inputs on standard input: only one of them could get it.
pub(crate) fn one_stdin(paths: &[Option<&str>]) -> Result<(), String> {
    if paths.iter().filter(|p| **p == Some("-")).count() > 1 {
        return Err(String::from("only one input can be `-` (standard input)"));
    }
    Ok(())
}

/// Prints a JSON value on stdout.
pub(crate) fn print_json(v: &serde_json::Value) -> ExitCode {
    match serde_json::to_string_pretty(v) {
        Ok(s) => print_line(&s),
        Err(e) => fail(&format!("cannot render the output: {e}")),
    }
}

/// Writes one line on stdout. A reader that went away (`mcp-policy lint … | head`) ends the
/// output quietly, as for any Unix filter; `println!` would panic there.
pub(crate) fn print_line(s: &str) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{s}").and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => fail(&format!("cannot write the output: {e}")),
    }
}

/// Reports unusable inputs: message on stderr, exit status 2.
pub(crate) fn fail(message: &str) -> ExitCode {
    eprintln!("mcp-policy: {message}");
    ExitCode::from(2)
}

/// Reads a context file (ARCHITECTURE.md §3 shape) as text; `None` when there is none.
pub(crate) fn read_context(path: Option<&str>) -> Result<Option<String>, String> {
    let Some(path) = path else { return Ok(None) };
    String::from_utf8(read_input(path, "context")?)
        .map(Some)
        .map_err(|_| format!("context `{path}` is not UTF-8"))
}

/// Parses the text [`read_context`] read (the empty context without one).
pub(crate) fn parse_context<'a>(
    text: Option<&'a str>,
    path: Option<&str>,
    limits: &mcp_policy::Limits,
) -> Result<mcp_policy::Context<'a>, String> {
    match text {
        Some(t) => mcp_policy::Context::from_json_with(t, limits)
            .map_err(|e| format!("context `{}`: {e}", path.unwrap_or("-"))),
        None => Ok(mcp_policy::Context::default()),
    }
}

/// Reads the policy file and compiles it, with a message naming the file on failure.
pub(crate) fn load_engine(path: &str) -> Result<mcp_policy::policy::Engine, String> {
    let bytes = read_input(path, "policy")?;
    mcp_policy::policy::Engine::from_json(&bytes, &mcp_policy::Limits::default())
        .map_err(|e| format!("policy `{path}`: {e}"))
}
