//! Property: for random policies and random lists, the filtered list equals what a naive
//! reference filter (parse to `serde_json::Value`, filter, keep order) produces, and every kept
//! item is byte-identical to its input.

use mcp_policy::Context;
use mcp_policy::policy::{Engine, Rewrite};
use mcp_policy::{Limits, Message};
use proptest::prelude::*;
use serde_json::Value;

#[derive(Debug, Clone)]
enum Pat {
    Any,
    Literal(String),
    Glob(String),
    Prefix(String),
}

#[derive(Debug, Clone)]
struct Rule {
    deny: bool,
    pat: Pat,
}

fn name() -> impl Strategy<Value = String> {
    "[ab.*?-]{0,4}"
}

fn pat() -> impl Strategy<Value = Pat> {
    prop_oneof![
        Just(Pat::Any),
        name().prop_map(Pat::Literal),
        name().prop_map(Pat::Glob),
        name().prop_map(Pat::Prefix),
    ]
}

fn rule() -> impl Strategy<Value = Rule> {
    (prop::bool::weighted(0.25), pat()).prop_map(|(deny, pat)| Rule { deny, pat })
}

/// Reference glob: `*` any run, `?` one char, the rest literal (plain backtracking).
fn glob(p: &[char], s: &[char]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some(('*', rest)) => (0..=s.len()).any(|i| glob(rest, &s[i..])),
        Some(('?', rest)) => !s.is_empty() && glob(rest, &s[1..]),
        Some((c, rest)) => s.first() == Some(c) && glob(rest, &s[1..]),
    }
}

fn matches(p: &Pat, n: &str) -> bool {
    match p {
        Pat::Any => true,
        Pat::Literal(l) => l == n,
        Pat::Prefix(x) => n.starts_with(x.as_str()),
        Pat::Glob(g) => glob(
            &g.chars().collect::<Vec<_>>(),
            &n.chars().collect::<Vec<_>>(),
        ),
    }
}

fn policy_json(rules: &[Rule]) -> String {
    let auths: Vec<Value> = rules
        .iter()
        .map(|r| {
            let (t, v) = match &r.pat {
                Pat::Any => ("ANY", None),
                Pat::Literal(s) => ("LITERAL", Some(s.clone())),
                Pat::Glob(s) => ("EXPRESSION", Some(s.clone())),
                Pat::Prefix(s) => ("PREFIX", Some(s.clone())),
            };
            let mut f = serde_json::json!({"type": "TOOLS", "methods": ["TOOLS_LIST"], "patternType": t});
            if let Some(v) = v {
                f["patternValue"] = v.into();
            }
            serde_json::json!({"effect": if r.deny { "DENY" } else { "ALLOW" }, "authorizedFeatures": [f]})
        })
        .collect();
    serde_json::json!({ "authorizations": auths }).to_string()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]
    #[test]
    fn filter_equals_reference(rules in prop::collection::vec(rule(), 0..6),
                               names in prop::collection::vec(name(), 0..12),
                               pad in prop::collection::vec(0u8..3, 12)) {
        let engine = Engine::from_json(policy_json(&rules).as_bytes(), &Limits::default()).unwrap();
        // Items with varied spacing and extra members, so byte identity is meaningful.
        let items: Vec<String> = names.iter().zip(pad.iter().cycle()).map(|(n, p)| {
            let name = serde_json::to_string(n).unwrap();
            match p { 0 => format!(r#"{{"name":{name}}}"#), 1 => format!(r#"{{ "description" : "d" , "name" :{name} }}"#), _ => format!(r#"{{"name":{name},"inputSchema":{{"type":"object","properties":{{}}}}}}"#) }
        }).collect();
        let body = format!(r#"{{"jsonrpc":"2.0","id":1,"result":{{"tools":[{}],"nextCursor":"c"}}}}"#, items.join(" ,\n"));
        let req = Message::parse(br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#, engine.limits()).unwrap();
        let f = engine.filter_response(&req, body.as_bytes(), &Context::default()).unwrap();
        let out = f.apply(body.as_bytes()).unwrap();
        if f.rewrite == Rewrite::Unchanged { prop_assert_eq!(out, body.as_bytes()); }

        let allowed = |n: &str| !rules.iter().any(|r| r.deny && matches(&r.pat, n)) && rules.iter().any(|r| !r.deny && matches(&r.pat, n));
        let mut expected: Value = serde_json::from_str(&body).unwrap();
        expected["result"]["tools"].as_array_mut().unwrap().retain(|t| allowed(t["name"].as_str().unwrap()));
        let got: Value = serde_json::from_slice(out).unwrap();
        prop_assert_eq!(&got, &expected);
        // Byte identity of kept items.
        let out_text = std::str::from_utf8(out).unwrap();
        for (item, n) in items.iter().zip(&names) {
            if allowed(n) { prop_assert!(out_text.contains(item.as_str())); }
        }
    }
}
