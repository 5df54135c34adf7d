//! libFuzzer entry of [`mcp_policy_fuzz::jsonrpc_parse`], where the properties are.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mcp_policy_fuzz::jsonrpc_parse::fuzz_one(data));
