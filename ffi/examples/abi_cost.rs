//! Runs one check `N` times, in Rust or through the C ABI, for instruction counts that do not
//! depend on how busy the machine is:
//!
//! ```sh
//! cargo build --release -p mcp-policy-ffi --example abi_cost
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/examples/abi_cost rust allow 10000
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/examples/abi_cost abi allow 10000
//! ```
//!
//! (Run each with N and 2N: the difference over N is the cost of one call, set-up excluded.)

use std::hint::black_box;
use std::ptr;

use mcp_policy::policy::Engine;
use mcp_policy::{Context, Limits, Message};
use mcp_policy_benches::{call_message, check_policy_json};
use mcp_policy_ffi::*;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, mode, case, n] = &args[..] else {
        eprintln!("usage: abi_cost rust|rust-answer|abi allow|deny N");
        std::process::exit(2);
    };
    let n: usize = n.parse().expect("N is a number");
    let name = if case == "allow" {
        "query_orders"
    } else {
        "drop_database"
    };
    let body = call_message(name);
    let policy = check_policy_json();
    let attrs = r#"{"user":"alice","user.roles":["mcp:tools","mcp:read"]}"#;
    let mut allowed = 0usize;
    if mode == "rust" || mode == "rust-answer" {
        // `rust-answer` also renders what the C ABI's decision carries for a denial (its
        // reason and JSON-RPC error response), which a host needs to answer.
        let answer = mode == "rust-answer";
        let engine = Engine::from_json(policy.as_bytes(), &Limits::default()).expect("compiles");
        let ctx = Context::from_parts(&[], Some(attrs))
            .expect("reads")
            .into_owned();
        for _ in 0..n {
            let m = Message::parse(black_box(body.as_bytes()), engine.limits()).expect("parses");
            match engine.check(&m, &ctx) {
                mcp_policy::policy::Decision::Allow(..) => allowed += 1,
                mcp_policy::policy::Decision::Deny(d) if answer => {
                    black_box((d.reason.to_string(), d.jsonrpc_response()));
                }
                mcp_policy::policy::Decision::Deny(_) => {}
            }
        }
    } else {
        let (mut e, mut cx) = (ptr::null_mut(), ptr::null_mut());
        // SAFETY: the inputs are their lengths of bytes; the outs are writable.
        let r =
            unsafe { mcp_policy_engine_new(policy.as_ptr(), policy.len(), ptr::null(), &mut e) };
        assert_eq!(r, mcp_policy_result::Ok);
        // SAFETY: as above.
        let r =
            unsafe { mcp_policy_context_new(ptr::null(), 0, attrs.as_ptr(), attrs.len(), &mut cx) };
        assert_eq!(r, mcp_policy_result::Ok);
        for _ in 0..n {
            let b = black_box(body.as_bytes());
            let mut d = ptr::null_mut();
            // SAFETY: live handles; `d` is writable.
            let r = unsafe { mcp_policy_engine_check(e, b.as_ptr(), b.len(), cx, &mut d) };
            assert_eq!(r, mcp_policy_result::Ok);
            // SAFETY: the decision just made.
            allowed += usize::from(unsafe { mcp_policy_decision_allowed(d) });
            // SAFETY: freed once.
            unsafe { mcp_policy_decision_free(d) };
        }
        // SAFETY: freed once.
        unsafe { mcp_policy_context_free(cx) };
        // SAFETY: freed once.
        unsafe { mcp_policy_engine_free(e) };
    }
    println!("{allowed} of {n} allowed");
}
