//! `mcp-policy`: the gateway (`serve`) and the command-line tools (`check`, `filter`, `lint`,
//! `expr`) built on the `mcp-policy` engine.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod serve;
mod tools;

/// Policy engine and gateway for MCP (Model Context Protocol) traffic.
#[derive(Debug, Parser)]
#[command(name = "mcp-policy", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Judge one JSON-RPC message against a policy and print the decision as JSON.
    Check(tools::check::CheckArgs),
    /// Evaluate a Gravitee EL expression against a context and print its value as JSON.
    Expr(tools::expr::ExprArgs),
    /// Filter a server response (JSON or SSE) through a policy and print what the client gets.
    Filter(tools::filter::FilterArgs),
    /// Report likely mistakes in a policy, optionally against a real tools/list result.
    Lint(tools::lint::LintArgs),
    /// Run the MCP gateway (Streamable HTTP) described by a configuration file.
    Serve(serve::ServeArgs),
    /// Write a new random session key file (for `[sessions] key_files` of the gateway).
    Keygen(serve::seal::KeygenArgs),
}

/// The async runtime of `serve`. `MCP_POLICY_WORKER_THREADS=1` runs everything on one thread
/// (tokio's current-thread scheduler), `=N` on N worker threads; unset, one thread on machines
/// with at most two cores, tokio's default (one worker per core) above. On the 2-core build
/// machine, where the gateway shares the cores with its backend and clients, one thread spends
/// about 30 % less CPU per proxied request than two workers handing tasks and wake-ups to each
/// other (benches/README.md, "Gateway (make bench-gateway)").
pub(crate) fn serve_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let workers = std::env::var("MCP_POLICY_WORKER_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(if cores <= 2 { 1 } else { cores });
    let mut builder = if workers == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(workers);
        b
    };
    builder.enable_all().build()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check(args) => tools::check::run(&args),
        Command::Expr(args) => tools::expr::run(&args),
        Command::Filter(args) => tools::filter::run(&args),
        Command::Lint(args) => tools::lint::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Keygen(args) => serve::seal::keygen(&args),
    }
}
