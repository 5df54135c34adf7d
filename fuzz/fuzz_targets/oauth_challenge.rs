//! libFuzzer entry of [`mcp_policy_fuzz::oauth_challenge`], where the properties are.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mcp_policy_fuzz::oauth_challenge::fuzz_one(data));
