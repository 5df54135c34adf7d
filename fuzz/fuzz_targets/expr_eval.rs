//! Random templates and contexts: compile, evaluate with every result type. Input: template
//! bytes, NUL, context JSON bytes. Seeds: `fuzz/seeds/expr_eval/`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../core/tests/expr_fuzz.rs"]
#[allow(dead_code)]
mod entry;

fuzz_target!(|data: &[u8]| entry::fuzz_one(data));
