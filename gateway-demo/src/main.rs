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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check(args) => tools::check::run(&args),
        Command::Expr(args) => tools::expr::run(&args),
        Command::Filter(args) => tools::filter::run(&args),
        Command::Lint(args) => tools::lint::run(&args),
        Command::Serve(args) => serve::run(&args),
    }
}
