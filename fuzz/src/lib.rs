//! The bodies of the fuzz targets, one module per target, each with `fuzz_one(&[u8])`: it panics
//! when a property of the target fails. The libFuzzer binaries (`fuzz_targets/`, nightly) only
//! call them, and `core/tests/fuzz_replay.rs` includes this file by path to replay every seed
//! and past crash on stable, so both always run the same code.

pub mod content_type;
pub mod expr_eval;
pub mod jsonrpc_parse;
pub mod oauth_challenge;
pub mod oauth_metadata;
pub mod policy_config;
pub mod policy_filter;
pub mod sse_exchange;
