//! `Message::parse` + `Engine::check` of a `tools/call` without escaped strings allocates
//! nothing once the engine is compiled and the host's context is built (ARCHITECTURE.md §2: "evaluation
//! does not allocate on the common path").
//!
//! Counting is per thread (`allocation-counter` installs a counting global allocator whose
//! counters are thread-local), so tests running in parallel do not disturb each other.

use mcp_policy::policy::{Decision, Engine};
use mcp_policy::{Context, Limits, Message};

fn engine(policy: &str) -> Engine {
    Engine::from_json(policy.as_bytes(), &Limits::default()).unwrap_or_else(|e| panic!("{e}"))
}

fn context() -> Context<'static> {
    Context::builder()
        .header("x-tenant", "acme")
        .attribute("user", "alice")
        .attribute("user.roles", ["mcp:tools", "mcp:read"])
        .build()
}

fn call(name: &str) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":12,"method":"tools/call","params":{{"name":"{name}","arguments":{{"city":"Paris","days":3,"units":["metric"],"detail":{{"hourly":true}}}},"_meta":{{"progressToken":"p-1"}}}}}}"#
    )
}

/// Allocations made by parsing and checking `body`, and whether it was allowed.
fn measure(engine: &Engine, ctx: &Context<'_>, body: &str) -> (u64, bool) {
    // Warm once: lazily initialised state (none expected) is not the common path.
    let msg = Message::parse(body.as_bytes(), engine.limits()).unwrap();
    let _ = engine.check(&msg, ctx);
    drop(msg);
    let mut allowed = false;
    let info = allocation_counter::measure(|| {
        let msg = Message::parse(std::hint::black_box(body.as_bytes()), engine.limits()).unwrap();
        allowed = matches!(engine.check(&msg, ctx), Decision::Allow(..));
    });
    (info.count_total, allowed)
}

fn assert_no_allocation(engine: &Engine, cases: &[(&str, String)]) {
    let ctx = context();
    let mut failures = Vec::new();
    for (what, body) in cases {
        let (count, allowed) = measure(engine, &ctx, body);
        assert!(allowed, "{what}: expected an allowed call");
        if count != 0 {
            failures.push(format!("{what}: {count} allocation(s)"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn the_counter_counts() {
    let info = allocation_counter::measure(|| {
        std::hint::black_box(Vec::<u8>::with_capacity(8));
    });
    assert_eq!(info.count_total, 1);
}

#[test]
fn literal_any_prefix_and_condition_rules_allocate_nothing() {
    let e = engine(
        r#"{"authorizations":[
        {"authorizedFeatures":[{"type":"TOOLS","methods":["TOOLS_CALL"],"patternType":"LITERAL","patternValue":"get_weather"}]},
        {"authorizedFeatures":[{"type":"TOOLS","methods":["TOOLS_CALL"],"patternType":"LITERAL","patternValue":"get_forecast"}]},
        {"authorizedFeatures":[{"type":"TOOLS","methods":["TOOLS_CALL"],"patternType":"PREFIX","patternValue":"docs_"}]},
        {"authorizedFeatures":[{"type":"PROMPTS","methods":["PROMPTS_GET"],"patternType":"ANY"}]},
        {"condition":"{#context.attributes['user.roles'].contains('mcp:tools') && #request.headers['x-tenant'][0] == 'acme'}",
         "authorizedFeatures":[{"type":"TOOLS","methods":["TOOLS_CALL"],"patternType":"LITERAL","patternValue":"book_flight"}]},
        {"condition":"{#context.attributes['user.roles'].contains('mcp:admin')}",
         "authorizedFeatures":[{"type":"TOOLS","methods":["TOOLS_CALL"],"patternType":"LITERAL","patternValue":"cancel_flight"}]},
        {"authorizedFeatures":[{"type":"TOOLS","methods":["TOOLS_CALL"],"patternType":"LITERAL","patternValue":"cancel_flight"}]}
    ]}"#,
    );
    assert_no_allocation(
        &e,
        &[
            ("literal", call("get_forecast")),
            ("prefix", call("docs_search")),
            ("condition true", call("book_flight")),
            ("condition false, then a literal", call("cancel_flight")),
            (
                "ANY (prompts/get)",
                r#"{"jsonrpc":"2.0","id":"a-1","method":"prompts/get","params":{"name":"summarise","arguments":{"style":"short"}}}"#.to_string(),
            ),
        ],
    );
}

const GLOBS: &str = r#"{"authorizations":[
    {"authorizedFeatures":[{"type":"TOOLS","methods":["TOOLS_CALL"],"patternType":"LITERAL","patternValue":"echo"}]},
    {"authorizedFeatures":[{"type":"TOOLS","methods":["TOOLS_CALL"],"patternType":"EXPRESSION","patternValue":"get_*"}]},
    {"authorizedFeatures":[{"type":"TOOLS","methods":["TOOLS_CALL"],"patternType":"EXPRESSION","patternValue":"*_readonly"}]},
    {"authorizedFeatures":[{"type":"TOOLS","methods":["TOOLS_CALL"],"patternType":"REGEX","patternValue":"(?:read|list)_(?:file|dir)s?"}]},
    {"condition":"{#context.attributes['user.roles'].contains('mcp:admin')}",
     "authorizedFeatures":[{"type":"TOOLS","methods":["TOOLS_CALL"],"patternType":"EXPRESSION","patternValue":"admin_*"}]},
    {"authorizedFeatures":[{"type":"TOOLS","methods":["TOOLS_CALL"],"patternType":"REGEX","patternValue":"admin_(?:status|health)"}]}
]}"#;

#[test]
fn glob_and_regex_rules_allocate_nothing() {
    let e = engine(GLOBS);
    assert_no_allocation(
        &e,
        &[
            ("glob prefix", call("get_weather")),
            ("glob suffix", call("team_readonly")),
            ("regex", call("list_dirs")),
        ],
    );
}

/// When the first matching glob/regex rule does not apply (its condition is false), the
/// other matching patterns are enumerated.
#[test]
fn a_later_pattern_after_a_false_condition_allocates_nothing() {
    let e = engine(GLOBS);
    assert_no_allocation(
        &e,
        &[(
            "first match's condition false, a later regex matches",
            call("admin_status"),
        )],
    );
}
