//! libFuzzer entry of the gateway's HTTP/1.1 answer reader (`gateway-demo/src/serve/h1.rs`,
//! included by path: the gateway is a binary), whose `fuzz_one` holds the properties. Its seeds
//! are replayed on stable by the gateway's own tests (`serve::h1`).
#![no_main]

#[path = "../../gateway-demo/src/serve/h1.rs"]
#[allow(dead_code)] // the fields the gateway reads and this target does not
mod h1;

libfuzzer_sys::fuzz_target!(|data: &[u8]| h1::fuzz_one(data));
