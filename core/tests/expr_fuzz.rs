//! The fuzz entry of `fuzz/fuzz_targets/expr_eval.rs` (shared by path), and a test that runs it
//! over the committed seeds plus a large generated corpus, so "never panics, always stops" is
//! exercised by `cargo test` too.

use mcp_policy::expr::{Env, McpVars, ResultType, Template};
use mcp_policy::{Context, Limits, Message};

const BODY: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_weather","arguments":{"city":"Paris","list":[1,2,{"k":"v"}]}}}"#;

/// Template bytes, a NUL, context JSON bytes. Never panics; every evaluation stops within the
/// step budget.
pub fn fuzz_one(data: &[u8]) {
    let (t, c) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b""[..]),
    };
    let src = String::from_utf8_lossy(t);
    let ctx_text = String::from_utf8_lossy(c);
    let limits = Limits {
        max_expr_steps: 5_000,
        max_regex_bytes: 256 * 1024,
        ..Limits::default()
    };
    let Ok(template) = Template::compile(&src, &limits) else {
        return;
    };
    let ctx = Context::from_json_with(&ctx_text, &limits).unwrap_or_default();
    let msg = Message::parse(BODY.as_bytes(), &limits).ok();
    let mut env = Env::new(&ctx);
    if let Some(m) = msg.as_ref().and_then(McpVars::from_message) {
        env = env.with_mcp(m);
    }
    for ty in [ResultType::Auto, ResultType::String, ResultType::Boolean] {
        if let Ok(v) = template.eval(&env, ty) {
            let _ = v.to_json();
        }
    }
    let _ = template.eval_bool(&env);
    let _ = template.is_constant();
}

#[allow(dead_code)]
const FRAGMENTS: &[&str] = &[
    "{#",
    "{(",
    "{ T(",
    "}",
    "{",
    "(",
    ")",
    "[",
    "]",
    "'",
    "\"",
    " ",
    "#request",
    "#mcp",
    ".name",
    ".headers",
    "['x-role']",
    "[0]",
    "[-1]",
    "#context.attributes['user.roles']",
    ".contains('a')",
    " matches '(a|b)*c'",
    " == ",
    " != ",
    " && ",
    " || ",
    "!",
    " ? ",
    " : ",
    " ?: ",
    "?.",
    "+",
    "*",
    "1",
    "2.5e3",
    "'s'",
    "null",
    "true",
    "#jsonPath(#request.content, '$..k')",
    ".size()",
    ".split('[,;]')",
    "{'a','b'}",
    "{a:1}",
    "#mcp.arguments",
    ".length()",
    "#nothing",
    " and ",
    " or ",
    "'xy' * 999",
    ".substring(1, 2)",
    "^",
    "-",
    "/",
    "%",
    ",",
    ":",
    "\\",
    "é",
    "😀",
    ".toSingleValueMap()",
    ".keySet()",
    "#jsonPath(#context.attributes['p'], '$.*')",
    "[*]",
];

#[allow(dead_code)]
const CONTEXTS: &[&str] = &[
    "",
    "{}",
    r#"{"request":{"headers":{"x-role":["admin","x"]},"content":"{\"a\":[1,{\"k\":2}]}"},"attributes":{"user.roles":["a","b"],"p":"{\"k\":[true,null]}"}}"#,
    r#"{"attributes":{"p":{"k":{"k":{"k":[[[[]]]]}}}},"variables":{"nothing":""}}"#,
    r#"{"request":{"headers":{"x":1}}}"#,
];

/// A small deterministic generator (xorshift), so the corpus is the same on every run.
#[allow(dead_code)]
struct Rng(u64);

#[allow(dead_code)]
impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn committed_seeds_and_generated_corpus() {
    let seeds = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/expr_eval");
    let mut n_seeds = 0;
    for entry in std::fs::read_dir(&seeds).expect("fuzz/seeds/expr_eval exists") {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        fuzz_one(&bytes);
        n_seeds += 1;
    }
    assert!(n_seeds >= 10, "{n_seeds} seeds");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let cases: usize = std::env::var("EXPR_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    for _ in 0..cases {
        let mut input = Vec::new();
        for _ in 0..rng.below(16) {
            input.extend_from_slice(FRAGMENTS[rng.below(FRAGMENTS.len())].as_bytes());
        }
        // Byte-level mutations.
        for _ in 0..rng.below(3) {
            if !input.is_empty() {
                let i = rng.below(input.len());
                input[i] = rng.next() as u8;
            }
        }
        input.push(0);
        input.extend_from_slice(CONTEXTS[rng.below(CONTEXTS.len())].as_bytes());
        fuzz_one(&input);
    }
}
