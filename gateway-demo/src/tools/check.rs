//! `mcp-policy check`: policy + message + context → decision JSON.

use std::process::ExitCode;

/// Arguments of `mcp-policy check`.
#[derive(Debug, clap::Args)]
pub(crate) struct CheckArgs {
    /// Policy file (Gravitee mcp-acl configuration, exported API, or our format); `-` for stdin.
    #[arg(long)]
    pub(crate) policy: String,
    /// JSON-RPC message file; `-` for stdin.
    #[arg(long)]
    pub(crate) message: String,
    /// Context JSON file (DESIGN §3 shape); `-` for stdin.
    #[arg(long)]
    pub(crate) context: Option<String>,
}

/// Runs the subcommand.
pub(crate) fn run(_args: &CheckArgs) -> ExitCode {
    eprintln!("mcp-policy check: the policy engine is not wired in yet");
    ExitCode::from(2)
}
