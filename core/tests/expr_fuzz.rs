//! A large generated corpus through the `expr_eval` fuzz target's body (`fuzz/src/expr_eval.rs`,
//! shared by path), so "never panics, always stops" is exercised by `cargo test` beyond the
//! committed seeds (which `fuzz_replay.rs` replays).

#[path = "../../fuzz/src/expr_eval.rs"]
#[allow(unreachable_pub)] // public in the fuzz crate, where the libFuzzer binary calls it
mod entry;

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

const CONTEXTS: &[&str] = &[
    "",
    "{}",
    r#"{"request":{"headers":{"x-role":["admin","x"]},"content":"{\"a\":[1,{\"k\":2}]}"},"attributes":{"user.roles":["a","b"],"p":"{\"k\":[true,null]}"}}"#,
    r#"{"attributes":{"p":{"k":{"k":{"k":[[[[]]]]}}}},"variables":{"nothing":""}}"#,
    r#"{"request":{"headers":{"x":1}}}"#,
];

/// A small deterministic generator (xorshift), so the corpus is the same on every run.
struct Rng(u64);

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
fn generated_corpus() {
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
        entry::fuzz_one(&input);
    }
}
