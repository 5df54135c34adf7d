//! libFuzzer entry of [`mcp_policy_fuzz::sse_exchange`], where the properties are.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mcp_policy_fuzz::sse_exchange::fuzz_one(data));
