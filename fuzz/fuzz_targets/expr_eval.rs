//! libFuzzer entry of [`mcp_policy_fuzz::expr_eval`], where the properties are.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mcp_policy_fuzz::expr_eval::fuzz_one(data));
