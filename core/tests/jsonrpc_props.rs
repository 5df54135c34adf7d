//! The one-pass parser against serde_json on generated documents: every valid message without
//! repeated keys is accepted with its members' exact text, every repeated key at any depth of
//! `params` is refused, and no mangled document is accepted that serde_json rejects.

use mcp_policy::{Limits, Message};
use proptest::prelude::*;
use serde_json::Value;

/// JSON values of bounded size: keys from a small alphabet so that objects often share them
/// across levels (repeats within one object are removed by `serde_json::Map`).
fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        "[ -~]{0,12}".prop_map(Value::String),
        "\\PC{0,6}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(("[a-f]{1,3}", inner), 0..7)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn message(arguments: &str) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{{"name":"t","arguments":{arguments}}}}}"#
    )
}

/// Inserts a copy of an object's first member right after it, at the `nth` object that has
/// one; returns `None` when there is no such object.
fn duplicate_member(v: &Value, nth: usize) -> Option<String> {
    let mut seen = 0;
    let mut out = String::new();
    let done = write_dup(v, nth, &mut seen, &mut out);
    done.then_some(out)
}

fn write_dup(v: &Value, nth: usize, seen: &mut usize, out: &mut String) -> bool {
    let mut done = false;
    match v {
        Value::Object(m) => {
            out.push('{');
            let dup_here = !m.is_empty() && *seen == nth;
            if !m.is_empty() {
                *seen += 1;
            }
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(k).unwrap());
                out.push(':');
                done |= write_dup(x, nth, seen, out);
                if i == 0 && dup_here {
                    out.push(',');
                    out.push_str(&serde_json::to_string(k).unwrap());
                    out.push_str(":null");
                    done = true;
                }
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                done |= write_dup(x, nth, seen, out);
            }
            out.push(']');
        }
        other => out.push_str(&serde_json::to_string(other).unwrap()),
    }
    done
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    #[test]
    fn valid_messages_are_accepted_with_exact_member_text(args in value(), pretty in any::<bool>()) {
        let args_text = if pretty {
            serde_json::to_string_pretty(&args).unwrap()
        } else {
            serde_json::to_string(&args).unwrap()
        };
        let body = message(&args_text);
        let msg = Message::parse(body.as_bytes(), &Limits::default());
        let msg = match msg {
            Ok(m) => m,
            Err(e) => return Err(TestCaseError::fail(format!("{e} for {body}"))),
        };
        prop_assert_eq!(msg.name(), Some("t"));
        let got = msg.arguments().map(|a| a.as_text());
        prop_assert_eq!(got, Some(args_text.as_str()));
    }

    #[test]
    fn a_repeated_key_anywhere_in_params_is_refused(args in value(), nth in 0usize..8) {
        let Some(text) = duplicate_member(&args, nth) else {
            return Ok(());
        };
        let body = message(&text);
        let err = Message::parse(body.as_bytes(), &Limits::default());
        prop_assert!(err.is_err(), "accepted a repeated key: {}", body);
        prop_assert_eq!(err.err().map(|e| e.jsonrpc_code()), Some(-32600));
    }

    #[test]
    fn mangled_documents_are_never_accepted_when_serde_rejects_them(
        args in value(),
        cut in any::<prop::sample::Index>(),
        byte in prop::sample::select(vec![b'"', b'\\', b',', b':', b'{', b'}', b'[', b']', b' ', 0u8, b'x', b'1']),
        mode in 0u8..3,
    ) {
        let body = message(&serde_json::to_string(&args).unwrap()).into_bytes();
        let i = cut.index(body.len());
        let mut mangled = body.clone();
        match mode {
            0 => mangled.truncate(i),
            1 => mangled[i] = byte,
            _ => mangled.insert(i, byte),
        }
        if Message::parse(&mangled, &Limits::default()).is_ok() {
            prop_assert!(
                serde_json::from_slice::<Value>(&mangled).is_ok(),
                "accepted invalid JSON: {}",
                String::from_utf8_lossy(&mangled)
            );
        }
    }
}

/// A key written with its first character as a `\u00XX` escape: the same key once decoded.
fn escaped_first(key: &str) -> String {
    let mut chars = key.chars();
    let first = chars.next().map_or(0, u32::from);
    format!("\\u{first:04x}{}", chars.as_str())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Repeated keys are found by hashing each key into a 64-bit filter and comparing only on a
    /// hit (sorting past 16 keys): any key, not only the first, repeated later, plainly or
    /// through an escape, in objects of 2 to 40 members and at any of three depths, is refused
    /// with the path and the key named; the same object without the repeat is accepted.
    #[test]
    fn any_repeated_key_is_refused_whatever_its_hash(
        keys in prop::collection::btree_set("[a-z_]{1,9}", 2..40),
        pick in any::<prop::sample::Index>(),
        after in any::<prop::sample::Index>(),
        escape in any::<bool>(),
        depth in 0usize..3,
    ) {
        let keys: Vec<&String> = keys.iter().collect();
        let i = pick.index(keys.len() - 1);
        let at = i + 1 + after.index(keys.len() - i - 1);
        let members = |dup: bool| {
            let mut out: Vec<String> = keys.iter().map(|k| format!("\"{k}\":1")).collect();
            if dup {
                let k = if escape { escaped_first(keys[i]) } else { keys[i].clone() };
                out.insert(at + 1, format!("\"{k}\":2"));
            }
            let mut obj = format!("{{{}}}", out.join(","));
            for _ in 0..depth {
                obj = format!("{{\"x\":[{obj}]}}");
            }
            obj
        };
        let good = message(&members(false));
        prop_assert!(Message::parse(good.as_bytes(), &Limits::default()).is_ok(), "{}", good);
        let bad = message(&members(true));
        let err = Message::parse(bad.as_bytes(), &Limits::default());
        prop_assert!(err.is_err(), "accepted a repeated key: {}", bad);
        let err = err.err().unwrap();
        prop_assert_eq!(err.jsonrpc_code(), -32600);
        let text = err.to_string();
        prop_assert!(text.contains(&format!("duplicate key `{}`", keys[i])), "{}", text);
        let path = format!("params.arguments{}.{}", ".x[0]".repeat(depth), keys[i]);
        prop_assert!(text.contains(&path), "{} lacks {}", text, path);
    }
}
