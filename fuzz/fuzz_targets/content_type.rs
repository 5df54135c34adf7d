//! libFuzzer entry of [`mcp_policy_fuzz::content_type`], where the properties are.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mcp_policy_fuzz::content_type::fuzz_one(data));
