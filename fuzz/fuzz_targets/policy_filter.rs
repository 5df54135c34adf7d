//! libFuzzer entry of [`mcp_policy_fuzz::policy_filter`], where the properties are.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mcp_policy_fuzz::policy_filter::fuzz_one(data));
