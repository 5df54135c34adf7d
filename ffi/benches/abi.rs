//! A check through the C ABI next to the same check in Rust, in one run, on the benches'
//! 50-rule policy (`benches/src/lib.rs`): what a C, Go or Lua host pays for the boundary
//! (pointer checks, the panic guard, the decision handle and its free). Target: under 100 ns
//! extra. The exchange (`mcp_policy_exchange_new` against `Guard::client`) is measured the
//! same way.
//!
//! `cargo bench -p mcp-policy-ffi --bench abi`

use std::hint::black_box;
use std::ptr;
use std::sync::Arc;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use mcp_policy::exchange::{ClientVerdict, Guard, RequestFacts};
use mcp_policy::policy::Engine;
use mcp_policy::{Context, Limits, Message};
use mcp_policy_benches::{Identity, call_message, check_policy_json};
use mcp_policy_ffi::*;

fn attributes(id: &Identity) -> String {
    let mut claims = serde_json::Map::new();
    claims.insert("sub".into(), id.sub.into());
    for (k, v) in &id.claims {
        claims.insert((*k).into(), (*v).into());
    }
    serde_json::json!({"user": id.sub, "user.roles": id.roles, "jwt.claims": claims}).to_string()
}

fn rust_check(engine: &Engine, body: &[u8], ctx: &Context<'_>) -> bool {
    match Message::parse(body, engine.limits()) {
        Ok(m) => engine.check(&m, ctx).is_allowed(),
        Err(_) => false,
    }
}

/// # Safety
/// `engine` and `ctx` are live handles.
unsafe fn abi_check(
    engine: *const mcp_policy_engine,
    body: &[u8],
    ctx: *const mcp_policy_context,
) -> bool {
    let mut d = ptr::null_mut();
    // SAFETY: live handles, `body` is `len` bytes, `d` is writable.
    let r = unsafe { mcp_policy_engine_check(engine, body.as_ptr(), body.len(), ctx, &mut d) };
    assert_eq!(r, mcp_policy_result::Ok);
    // SAFETY: `d` is the decision just made.
    let allowed = unsafe { mcp_policy_decision_allowed(d) };
    // SAFETY: freed once.
    unsafe { mcp_policy_decision_free(d) };
    allowed
}

const JSON: mcp_policy_header = mcp_policy_header {
    name: b"content-type".as_ptr(),
    name_len: 12,
    value: b"application/json".as_ptr(),
    value_len: 16,
};

fn bench(c: &mut Criterion) {
    let policy = check_policy_json();
    let attrs = attributes(&Identity::alice());
    let limits = Limits::default();
    let engine =
        Arc::new(Engine::from_json(policy.as_bytes(), &limits).expect("the policy compiles"));
    let guard = Guard::new(engine.clone());
    let ctx = Context::from_parts(&[], Some(&attrs))
        .expect("attributes read")
        .into_owned();

    let mut e = ptr::null_mut();
    // SAFETY: the policy is `len` bytes; `e` is writable.
    let r = unsafe { mcp_policy_engine_new(policy.as_ptr(), policy.len(), ptr::null(), &mut e) };
    assert_eq!(r, mcp_policy_result::Ok);
    let mut cx = ptr::null_mut();
    // SAFETY: no headers; the attributes are `len` bytes; `cx` is writable.
    let r = unsafe { mcp_policy_context_new(ptr::null(), 0, attrs.as_ptr(), attrs.len(), &mut cx) };
    assert_eq!(r, mcp_policy_result::Ok);

    for (case, name, allowed) in [
        ("allow", "query_orders", true),
        ("deny", "drop_database", false),
    ] {
        let body = call_message(name);
        let b = body.as_bytes();
        assert_eq!(rust_check(&engine, b, &ctx), allowed);
        // SAFETY: live handles.
        let through_abi = unsafe { abi_check(e, b, cx) };
        assert_eq!(through_abi, allowed);

        let mut g = c.benchmark_group(format!("abi_check_call/{case}"));
        g.bench_function("Rust: Message::parse + Engine::check", |bn| {
            bn.iter(|| rust_check(&engine, black_box(b), black_box(&ctx)))
        });
        g.bench_function(
            "C ABI: mcp_policy_engine_check + decision_allowed + decision_free",
            |bn| {
                // SAFETY: live handles for the whole bench.
                bn.iter(|| unsafe { abi_check(e, black_box(b), cx) })
            },
        );
        let facts = RequestFacts {
            content_type: Some(b"application/json"),
            ..RequestFacts::default()
        };
        g.bench_function("Rust: Guard::client (exchange verdict)", |bn| {
            bn.iter_batched(
                || guard.session(),
                |s| {
                    matches!(
                        guard.client(black_box(b), &facts, &ctx, &s),
                        ClientVerdict::Forward(_)
                    )
                },
                BatchSize::SmallInput,
            )
        });
        g.bench_function("C ABI: mcp_policy_exchange_new + frees", |bn| {
            bn.iter_batched(
                || {
                    let mut s = ptr::null_mut();
                    // SAFETY: a live engine; `s` is writable.
                    let r = unsafe { mcp_policy_session_new(e, &mut s) };
                    assert_eq!(r, mcp_policy_result::Ok);
                    s
                },
                |s| {
                    let (mut v, mut x) = (ptr::null_mut(), ptr::null_mut());
                    // SAFETY: live handles; one header; the outs are writable.
                    let r = unsafe {
                        mcp_policy_exchange_new(
                            e,
                            s,
                            b.as_ptr(),
                            b.len(),
                            &JSON,
                            1,
                            cx,
                            &mut v,
                            &mut x,
                        )
                    };
                    assert_eq!(r, mcp_policy_result::Ok);
                    let forwarded = !x.is_null();
                    // SAFETY: each freed once (NULL is accepted).
                    unsafe {
                        mcp_policy_output_free(v);
                    }
                    // SAFETY: as above.
                    unsafe { mcp_policy_exchange_free(x) };
                    // SAFETY: as above.
                    unsafe { mcp_policy_session_free(s) };
                    forwarded
                },
                BatchSize::SmallInput,
            )
        });
        g.finish();
    }
    // SAFETY: freed once, after the last use.
    unsafe { mcp_policy_context_free(cx) };
    // SAFETY: as above.
    unsafe { mcp_policy_engine_free(e) };
}

criterion_group!(benches, bench);
criterion_main!(benches);
