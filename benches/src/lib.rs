//! Inputs shared by the benches in `benches/` (see README.md): the 50-rule `tools/call` policy
//! and its messages, the synthetic large `tools/list` result, policies of any size for the
//! scale bench, and a small deterministic random generator for chunk sizes.
//!
//! Everything here is plain string building so that the bench targets measure engines, not
//! fixture generation.

use std::fmt::Write as _;

/// Verbs of the literal tool names of the 50-rule policy.
pub const VERBS: [&str; 5] = ["create", "update", "delete", "list", "get"];
/// Nouns of the literal tool names of the 50-rule policy.
pub const NOUNS: [&str; 8] = [
    "issue",
    "pull_request",
    "comment",
    "branch",
    "file",
    "release",
    "label",
    "milestone",
];

/// The 40 literal names (`verb_noun`) granted by rules 0 to 39.
pub fn literal_names() -> Vec<String> {
    let mut out = Vec::with_capacity(VERBS.len() * NOUNS.len());
    for v in VERBS {
        for n in NOUNS {
            out.push(format!("{v}_{n}"));
        }
    }
    out
}

/// Shape of one rule of the 50-rule policy, from which every engine's version is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleShape {
    /// `LITERAL` name.
    Literal(String),
    /// `EXPRESSION` glob `prefix*`.
    Prefix(&'static str),
    /// `EXPRESSION` glob `*suffix`.
    Suffix(&'static str),
    /// `EXPRESSION` glob `*infix*`.
    Contains(&'static str),
    /// `REGEX` with a finite language: `(?:a|b)_(?:c|d)s?`, also given as its expansion.
    RegexFinite {
        /// The regex as written in the policy.
        regex: &'static str,
        /// Every name it matches.
        names: Vec<String>,
    },
    /// `REGEX` `(?:a|b)_(?s:.*)`: any name starting with one of the prefixes.
    RegexPrefixes {
        /// The regex as written in the policy.
        regex: &'static str,
        /// The alternatives it starts with.
        prefixes: [&'static str; 2],
    },
    /// `EXPRESSION` glob `prefix*` granted only when `user.roles` contains the role.
    PrefixWithRole {
        /// Glob prefix.
        prefix: &'static str,
        /// Required role.
        role: &'static str,
    },
    /// `LITERAL` name granted only when the JWT claim has the value.
    LiteralWithClaim {
        /// Tool name.
        name: &'static str,
        /// Claim name (in `jwt.claims`).
        claim: &'static str,
        /// Required value.
        value: &'static str,
    },
}

/// The 50 rules of the `check_call` policy, in order: 40 literals, one more literal (`echo`),
/// five globs, two regexes, a glob with a role condition and a literal with a claim condition.
pub fn check_rules() -> Vec<RuleShape> {
    let mut rules: Vec<RuleShape> = literal_names()
        .into_iter()
        .map(RuleShape::Literal)
        .collect();
    rules.push(RuleShape::Literal("echo".into()));
    rules.push(RuleShape::Prefix("docs_"));
    rules.push(RuleShape::Suffix("_readonly"));
    rules.push(RuleShape::Contains("_search_"));
    rules.push(RuleShape::Prefix("weather_"));
    rules.push(RuleShape::Prefix("k8s_get_"));
    let mut finite = Vec::new();
    for a in ["read", "list", "stat"] {
        for b in ["file", "dir"] {
            finite.push(format!("{a}_{b}"));
            finite.push(format!("{a}_{b}s"));
        }
    }
    rules.push(RuleShape::RegexFinite {
        regex: "(?:read|list|stat)_(?:file|dir)s?",
        names: finite,
    });
    rules.push(RuleShape::RegexPrefixes {
        regex: "(?:search|query)_(?s:.*)",
        prefixes: ["search_", "query_"],
    });
    rules.push(RuleShape::PrefixWithRole {
        prefix: "admin_",
        role: "mcp:admin",
    });
    rules.push(RuleShape::LiteralWithClaim {
        name: "billing_invoice",
        claim: "org",
        value: "acme",
    });
    rules
}

fn feature(methods: &str, pattern_type: &str, value: &str) -> String {
    let mut v = String::new();
    json_string(&mut v, value);
    format!(
        r#"{{"type":"TOOLS","methods":[{methods}],"patternType":"{pattern_type}","patternValue":{v}}}"#
    )
}

/// Appends `s` as a JSON string (quotes, backslashes and control characters escaped).
pub fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The `check_call` policy as a Gravitee `mcp-acl` document (every rule grants `TOOLS_CALL`).
pub fn check_policy_json() -> String {
    let m = r#""TOOLS_CALL""#;
    let auths: Vec<String> = check_rules()
        .iter()
        .map(|r| {
            let (f, cond) = match r {
                RuleShape::Literal(n) => (feature(m, "LITERAL", n), None),
                RuleShape::Prefix(p) => (feature(m, "EXPRESSION", &format!("{p}*")), None),
                RuleShape::Suffix(s) => (feature(m, "EXPRESSION", &format!("*{s}")), None),
                RuleShape::Contains(s) => (feature(m, "EXPRESSION", &format!("*{s}*")), None),
                RuleShape::RegexFinite { regex, .. } | RuleShape::RegexPrefixes { regex, .. } => {
                    (feature(m, "REGEX", regex), None)
                }
                RuleShape::PrefixWithRole { prefix, role } => (
                    feature(m, "EXPRESSION", &format!("{prefix}*")),
                    Some(format!(
                        "{{#context.attributes['user.roles'].contains('{role}')}}"
                    )),
                ),
                RuleShape::LiteralWithClaim { name, claim, value } => (
                    feature(m, "LITERAL", name),
                    Some(format!(
                        "{{#context.attributes['jwt.claims']['{claim}'] == '{value}'}}"
                    )),
                ),
            };
            match cond {
                Some(c) => {
                    let mut cj = String::new();
                    json_string(&mut cj, &c);
                    format!(r#"{{"condition":{cj},"authorizedFeatures":[{f}]}}"#)
                }
                None => format!(r#"{{"authorizedFeatures":[{f}]}}"#),
            }
        })
        .collect();
    format!(r#"{{"authorizations":[{}]}}"#, auths.join(","))
}

/// A `tools/call` request of about 300 bytes (arguments and `_meta` included, no escapes).
pub fn call_message(name: &str) -> String {
    format!(
        concat!(
            r#"{{"jsonrpc":"2.0","id":4711,"method":"tools/call","params":{{"name":"{}","#,
            r#""arguments":{{"table":"orders","columns":["id","customer","total","status"],"#,
            r#""where":{{"status":"shipped","total_gt":100,"region":"eu-west-1"}},"#,
            r#""limit":50,"order_by":"created_at","descending":true}},"#,
            r#""_meta":{{"progressToken":"c0ffee-42"}}}}}}"#
        ),
        name
    )
}

/// An identity: what a host knows about the caller (from its token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Subject.
    pub sub: &'static str,
    /// Roles (`user.roles`).
    pub roles: Vec<&'static str>,
    /// String claims other than `sub` (`jwt.claims`).
    pub claims: Vec<(&'static str, &'static str)>,
}

impl Identity {
    /// The caller of the benches: no admin role, `org` = `acme`.
    pub fn alice() -> Self {
        Self {
            sub: "alice",
            roles: vec!["mcp:tools", "mcp:read"],
            claims: vec![
                ("org", "acme"),
                ("tier", "gold"),
                ("iss", "https://idp.example"),
            ],
        }
    }

    /// An administrator of another organisation.
    pub fn bob() -> Self {
        Self {
            sub: "bob",
            roles: vec!["mcp:tools", "mcp:admin"],
            claims: vec![
                ("org", "globex"),
                ("tier", "silver"),
                ("iss", "https://idp.example"),
            ],
        }
    }
}

/// Tool names for the decision-agreement test: allowed by each kind of rule, denied by
/// pattern, and (for some identities) denied by condition.
pub const PROBE_NAMES: &[&str] = &[
    "create_issue",
    "get_milestone",
    "echo",
    "docs_lookup",
    "team_readonly",
    "x_search_y",
    "weather_paris",
    "k8s_get_pods",
    "read_file",
    "stat_dirs",
    "list_dir",
    "query_orders",
    "search_",
    "admin_reset",
    "admin_",
    "billing_invoice",
    // denied by pattern
    "drop_database",
    "create_issues",
    "docs",
    "_readonly_x",
    "read_filez",
    "stat_dirss",
    "queryorders",
    "billing_invoices",
    "Echo",
    "",
];

/// A synthetic `tools/list` result of `n` tools whose input schemas look like large real
/// servers' (nested objects, enums, arrays of objects, long descriptions). Tool `i` is named
/// `<family>_<verb>_<i>`; families are `repo`, `issue`, `deploy`, `billing`, `search`.
pub fn synthetic_tools_list(n: usize) -> String {
    const FAMILIES: [&str; 5] = ["repo", "issue", "deploy", "billing", "search"];
    const VERBS: [&str; 4] = ["get", "list", "update", "delete"];
    let mut s = String::with_capacity(n * 2100 + 64);
    s.push_str(r#"{"jsonrpc":"2.0","id":2,"result":{"tools":["#);
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        let fam = FAMILIES[i % FAMILIES.len()];
        let verb = VERBS[(i / FAMILIES.len()) % VERBS.len()];
        let _ = write!(
            s,
            concat!(
                r#"{{"name":"{fam}_{verb}_{i}","title":"{Verb} {fam} ({i})","#,
                r#""description":"{Verb}s a {fam} resource in the organisation's workspace. Requires the {fam}:{verb} permission. "#,
                r#"Results are paginated; pass the cursor from a previous response to continue. Rate limited to 100 calls per minute per token.","#,
                r#""inputSchema":{{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","#,
                r#""properties":{{"owner":{{"type":"string","description":"Account or organisation that owns the {fam}","minLength":1,"maxLength":39,"pattern":"^[A-Za-z0-9-]+$"}},"#,
                r#""id":{{"type":"integer","description":"Identifier of the {fam}","minimum":1}},"#,
                r#""state":{{"type":"string","enum":["open","closed","all","draft","archived"],"default":"open","description":"Filter by state"}},"#,
                r#""labels":{{"type":"array","items":{{"type":"string"}},"description":"Labels to filter by; all must match","maxItems":20}},"#,
                r#""sort":{{"type":"object","properties":{{"field":{{"type":"string","enum":["created","updated","name","priority"]}},"#,
                r#""direction":{{"type":"string","enum":["asc","desc"],"default":"desc"}}}},"required":["field"],"additionalProperties":false}},"#,
                r#""filters":{{"type":"array","items":{{"type":"object","properties":{{"key":{{"type":"string"}},"op":{{"type":"string","enum":["eq","ne","lt","gt","in","contains"]}},"#,
                r#""value":{{"anyOf":[{{"type":"string"}},{{"type":"number"}},{{"type":"boolean"}},{{"type":"array","items":{{"type":"string"}}}}]}}}},"required":["key","op","value"]}}}},"#,
                r#""pagination":{{"type":"object","properties":{{"cursor":{{"type":"string","description":"Opaque cursor from a previous page"}},"perPage":{{"type":"integer","minimum":1,"maximum":100,"default":30}}}}}},"#,
                r#""dryRun":{{"type":"boolean","default":false,"description":"Validate the request and report what would change without applying it"}},"#,
                r#""fields":{{"type":"array","items":{{"type":"string","enum":["id","name","owner","state","labels","created","updated"]}},"description":"Fields to include in each returned {fam}"}}}},"#,
                r#""required":["owner"],"additionalProperties":false}},"#,
                r#""annotations":{{"readOnlyHint":{ro},"destructiveHint":{de},"idempotentHint":true,"openWorldHint":false}}}}"#
            ),
            fam = fam,
            verb = verb,
            Verb = capitalise(verb),
            i = i,
            ro = verb == "get" || verb == "list",
            de = verb == "delete",
        );
    }
    s.push_str(r#"],"nextCursor":"eyJwYWdlIjoyfQ=="}}"#);
    s
}

/// The `tools/list` request that [`synthetic_tools_list`] answers (id 2).
pub const LIST_REQUEST: &[u8] = br#"{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{}}"#;

/// The `tools/list` request that server-everything's recorded answer
/// (`core/tests/fixtures/traffic/tools-list.*`) answers (id 1).
pub const EVERYTHING_LIST_REQUEST: &[u8] =
    br#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}"#;

/// An event stream answering [`LIST_REQUEST`] as a long-running server would: a priming
/// event (id, empty data), 20 progress notifications, then `list` (a JSON-RPC answer) as the
/// last event.
pub fn synthetic_list_stream(list: &str) -> Vec<u8> {
    let mut s = String::from("id: prime-0\ndata: \n\n");
    for i in 0..20 {
        let _ = write!(
            s,
            "event: message\nid: ev-{i}\ndata: {{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{{\"progressToken\":\"t\",\"progress\":{i},\"total\":20}}}}\n\n"
        );
    }
    s.push_str("event: message\nid: ev-final\ndata: ");
    s.push_str(list);
    s.push_str("\n\n");
    s.into_bytes()
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// A `TOOLS_LIST` policy for the list benches: a few literals (some of server-everything's
/// tools), globs keeping the `repo_*` and `*_list_*` tools of the synthetic list, and a regex
/// keeping the `search_get_…` ones. Keeps 8 of server-everything's 17 tools and 225 of the
/// synthetic 500.
pub fn list_policy_json() -> String {
    let m = r#""TOOLS_LIST""#;
    let features = [
        feature(m, "LITERAL", "echo"),
        feature(m, "LITERAL", "get-sum"),
        feature(m, "LITERAL", "get-env"),
        feature(m, "LITERAL", "get-tiny-image"),
        feature(m, "EXPRESSION", "get-resource-*"),
        feature(m, "EXPRESSION", "trigger-*-request"),
        feature(m, "EXPRESSION", "repo_*"),
        feature(m, "EXPRESSION", "*_list_*"),
        feature(m, "REGEX", "search_get_[0-9]+"),
    ];
    let auths: Vec<String> = features
        .iter()
        .map(|f| format!(r#"{{"authorizedFeatures":[{f}]}}"#))
        .collect();
    format!(r#"{{"authorizations":[{}]}}"#, auths.join(","))
}

/// A `TOOLS_CALL` policy of `n` rules: three literals for every glob (`svc<i>_*`), one rule
/// per tool; `n` ≥ 4.
pub fn scale_policy_json(n: usize) -> String {
    let m = r#""TOOLS_CALL""#;
    let mut auths = Vec::with_capacity(n);
    for i in 0..n {
        let f = if i % 4 == 3 {
            feature(m, "EXPRESSION", &format!("svc{i}_*"))
        } else {
            feature(m, "LITERAL", &format!("tool_{i}_run"))
        };
        auths.push(format!(r#"{{"authorizedFeatures":[{f}]}}"#));
    }
    format!(r#"{{"authorizations":[{}]}}"#, auths.join(","))
}

/// xorshift64*: a tiny deterministic generator for chunk sizes (no external crate needed).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a non-zero seed.
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    /// The next value in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
        lo + (x % (hi - lo + 1) as u64) as usize
    }
}

/// Splits `bytes` into chunks of random sizes in `lo..=hi` (deterministic for a seed).
pub fn random_chunks(bytes: &[u8], seed: u64, lo: usize, hi: usize) -> Vec<&[u8]> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let n = rng.range(lo, hi).min(rest.len());
        let (a, b) = rest.split_at(n);
        out.push(a);
        rest = b;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixtures_have_the_advertised_shape() {
        assert_eq!(check_rules().len(), 50);
        let len = call_message("query_orders").len();
        assert!((250..=350).contains(&len), "{len}");
        let list = synthetic_tools_list(500);
        assert!(
            (900_000..=1_200_000).contains(&list.len()),
            "{}",
            list.len()
        );
        let v: serde_json::Value = serde_json::from_str(&list).unwrap();
        assert_eq!(v["result"]["tools"].as_array().unwrap().len(), 500);
        let _: serde_json::Value = serde_json::from_str(&check_policy_json()).unwrap();
        let _: serde_json::Value = serde_json::from_str(&list_policy_json()).unwrap();
        let _: serde_json::Value = serde_json::from_str(&scale_policy_json(10)).unwrap();
        let chunks = random_chunks(list.as_bytes(), 7, 1, 4096);
        assert_eq!(chunks.concat(), list.as_bytes());
    }
}
