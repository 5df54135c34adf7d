//! libFuzzer entry of [`mcp_policy_fuzz::policy_config`], where the properties are.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mcp_policy_fuzz::policy_config::fuzz_one(data));
