//! Gravitee `mcp-acl` behaviour, case by case (reference/gravitee.md §2), and our extensions.

use mcp_policy::policy::{AllowReason, Decision, DenialKind, DenialMode, Engine, Policy, Rewrite};
use mcp_policy::{Context, Limits, Message};

fn engine(policy: &str) -> Engine {
    Engine::from_json(policy.as_bytes(), &Limits::default()).unwrap_or_else(|e| panic!("{e}"))
}

fn call(method: &str, params: &str) -> String {
    format!(r#"{{"jsonrpc":"2.0","id":7,"method":"{method}","params":{params}}}"#)
}

fn decide(e: &Engine, body: &str) -> Result<AllowReason, (DenialKind, String, u16)> {
    let msg = Message::parse(body.as_bytes(), e.limits()).unwrap();
    match e.check(&msg, &Context::default()) {
        Decision::Allow(r, _) => Ok(r),
        Decision::Deny(d) => Err((d.kind, d.jsonrpc_response(), d.http_status())),
    }
}

fn tool_call(e: &Engine, name: &str) -> bool {
    decide(e, &call("tools/call", &format!(r#"{{"name":"{name}"}}"#))).is_ok()
}

/// Names kept when filtering `list` (the real server-everything result for `method`).
fn kept(e: &Engine, method: &str, result: &str) -> Vec<String> {
    let req_text = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{method}"}}"#);
    let req = Message::parse(req_text.as_bytes(), e.limits()).unwrap();
    let f = e
        .filter_response(&req, result.as_bytes(), &Context::default())
        .unwrap();
    let out = f.apply(result.as_bytes()).unwrap().to_vec();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let (key, id) = match method {
        "tools/list" => ("tools", "name"),
        "prompts/list" => ("prompts", "name"),
        "resources/list" => ("resources", "uri"),
        _ => ("resourceTemplates", "uriTemplate"),
    };
    v["result"][key]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i[id].as_str().unwrap().to_owned())
        .collect()
}

const TOOLS: &str = include_str!("fixtures/traffic/tools-list.json");
const PROMPTS: &str = include_str!("fixtures/traffic/prompts-list.json");
const RESOURCES: &str = include_str!("fixtures/traffic/resources-list.json");
const TEMPLATES: &str = include_str!("fixtures/traffic/resource-templates-list.json");

#[test]
fn implicit_deny_empties_lists_rejects_calls_passes_lifecycle() {
    let e = engine(r#"{"authorizations":[]}"#);
    assert!(kept(&e, "tools/list", TOOLS).is_empty());
    assert!(kept(&e, "prompts/list", PROMPTS).is_empty());
    assert!(kept(&e, "resources/list", RESOURCES).is_empty());
    assert!(kept(&e, "resources/templates/list", TEMPLATES).is_empty());
    assert!(!tool_call(&e, "echo"));
    let (kind, body, status) = decide(&e, &call("tools/call", r#"{"name":"echo"}"#)).unwrap_err();
    assert_eq!(kind, DenialKind::NotGranted);
    assert_eq!(
        body,
        r#"{"jsonrpc":"2.0","id":7,"error":{"code":-32602,"message":"Unknown tool: echo"}}"#
    );
    assert_eq!(status, 200);
    for lifecycle in [
        r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#,
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        r#"{"jsonrpc":"2.0","id":3,"method":"ping"}"#,
        r#"{"jsonrpc":"2.0","id":3,"method":"logging/setLevel","params":{"level":"info"}}"#,
        r#"{"jsonrpc":"2.0","id":3,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"x"},"argument":{"name":"a","value":""}}}"#,
        r#"{"jsonrpc":"2.0","id":3,"method":"resources/unsubscribe","params":{"uri":"demo://x"}}"#,
        r#"{"jsonrpc":"2.0","id":3,"method":"vendor/extension"}"#,
    ] {
        assert_eq!(
            decide(&e, lifecycle),
            Ok(AllowReason::NotGoverned),
            "{lifecycle}"
        );
    }
    // List calls themselves are forwarded (then filtered), never blocked.
    assert_eq!(
        decide(&e, r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#),
        Ok(AllowReason::ListFiltered)
    );
}

#[test]
fn tools_list_only_with_any() {
    let e = engine(
        r#"{"authorizations":[{"authorizedFeatures":[{"type":"TOOLS","methods":["TOOLS_LIST"],"patternType":"ANY"}]}]}"#,
    );
    assert_eq!(kept(&e, "tools/list", TOOLS).len(), 17);
    assert!(!tool_call(&e, "echo"));
    assert!(!tool_call(&e, "get-sum"));
}

#[test]
fn methods_default_to_the_list_method_and_pattern_to_any() {
    let e = engine(r#"{"authorizations":[{"authorizedFeatures":[{"type":"TOOLS"}]}]}"#);
    assert_eq!(kept(&e, "tools/list", TOOLS).len(), 17);
    assert!(!tool_call(&e, "echo"));
    assert!(kept(&e, "prompts/list", PROMPTS).is_empty());
}

#[test]
fn list_and_call_one_literal_tool() {
    let e = engine(
        r#"{"authorizations":[{"authorizedFeatures":[{"type":"TOOLS","methods":["TOOLS_LIST","TOOLS_CALL"],"patternType":"LITERAL","patternValue":"get-sum"}]}]}"#,
    );
    assert_eq!(kept(&e, "tools/list", TOOLS), ["get-sum"]);
    assert!(tool_call(&e, "get-sum"));
    assert!(!tool_call(&e, "echo"));
    assert!(!tool_call(&e, "get-su"));
    assert!(!tool_call(&e, "get-sum "));
}

#[test]
fn echo_and_get_sum_against_the_real_tools_list() {
    let e = engine(include_str!("fixtures/policies/everything-echo-sum.json"));
    assert_eq!(kept(&e, "tools/list", TOOLS), ["echo", "get-sum"]);
    assert!(tool_call(&e, "echo") && tool_call(&e, "get-sum"));
    assert!(!tool_call(&e, "get-env"));
}

#[test]
fn union_of_two_rules() {
    let e = engine(
        r#"{"authorizations":[
        {"authorizedFeatures":[{"type":"TOOLS","methods":["TOOLS_LIST"],"patternType":"LITERAL","patternValue":"echo"}]},
        {"authorizedFeatures":[{"type":"TOOLS","methods":["TOOLS_CALL"],"patternType":"LITERAL","patternValue":"echo"},
                               {"type":"TOOLS","methods":["TOOLS_LIST","TOOLS_CALL"],"patternType":"LITERAL","patternValue":"get-env"}]}]}"#,
    );
    assert_eq!(kept(&e, "tools/list", TOOLS), ["echo", "get-env"]);
    assert!(tool_call(&e, "echo") && tool_call(&e, "get-env"));
    assert!(!tool_call(&e, "get-sum"));
}

#[test]
fn expression_globs() {
    let e = engine(
        r#"{"authorizations":[{"authorizedFeatures":[{"type":"TOOLS","methods":["TOOLS_LIST","TOOLS_CALL"],"patternType":"EXPRESSION","patternValue":"get-*"},{"type":"TOOLS","methods":["TOOLS_CALL"],"patternType":"EXPRESSION","patternValue":"ech?"}]}]}"#,
    );
    let mut listed = kept(&e, "tools/list", TOOLS);
    listed.sort();
    assert_eq!(
        listed,
        [
            "get-annotated-message",
            "get-env",
            "get-resource-links",
            "get-resource-reference",
            "get-roots-list",
            "get-structured-content",
            "get-sum",
            "get-tiny-image"
        ]
    );
    assert!(tool_call(&e, "echo"));
    assert!(!tool_call(&e, "echoo"));
    assert!(tool_call(&e, "get-"));
    assert!(!tool_call(&e, "xget-sum"));
    // Everything but * and ? is literal: regex metacharacters match themselves only.
    let e = engine(
        r#"{"authorizations":[{"authorizedFeatures":[{"type":"TOOLS","methods":["TOOLS_CALL"],"patternType":"EXPRESSION","patternValue":"a.b(c)+[d]*"}]}]}"#,
    );
    assert!(tool_call(&e, "a.b(c)+[d]"));
    assert!(tool_call(&e, "a.b(c)+[d]anything"));
    assert!(!tool_call(&e, "aXb(c)+[d]"));
    assert!(!tool_call(&e, "a.bcc[d]"));
}

#[test]
fn resource_and_prompt_methods() {
    let e = engine(include_str!("fixtures/policies/extended.json"));
    let read = |uri: &str| {
        decide(
            &e,
            &call("resources/read", &format!(r#"{{"uri":"{uri}"}}"#)),
        )
    };
    assert!(read("demo://resource/static/document/architecture.md").is_ok());
    let (_, body, _) = read("demo://resource/dynamic/text/1").unwrap_err();
    assert!(
        body.contains("-32010") && body.contains("no rule grants RESOURCES_READ"),
        "{body}"
    );
    assert!(
        decide(
            &e,
            &call(
                "resources/subscribe",
                r#"{"uri":"demo://resource/static/document/features.md"}"#
            )
        )
        .is_ok()
    );
    assert!(
        decide(
            &e,
            &call(
                "resources/subscribe",
                r#"{"uri":"demo://resource/dynamic/blob/2"}"#
            )
        )
        .is_err()
    );
    assert_eq!(kept(&e, "resources/list", RESOURCES).len(), 7);
    assert_eq!(
        kept(&e, "resources/templates/list", TEMPLATES),
        ["demo://resource/dynamic/text/{resourceId}"]
    );
    let mut prompts = kept(&e, "prompts/list", PROMPTS);
    prompts.sort();
    assert_eq!(prompts, ["completable-prompt", "simple-prompt"]);
    assert!(decide(&e, &call("prompts/get", r#"{"name":"simple-prompt"}"#)).is_ok());
    let (_, body, _) = decide(
        &e,
        &call(
            "prompts/get",
            r#"{"name":"args-prompt","arguments":{"city":"x"}}"#,
        ),
    )
    .unwrap_err();
    assert!(body.contains("PROMPTS_GET"), "{body}");
}

#[test]
fn explicit_deny_wins_over_grants() {
    let e = engine(include_str!("fixtures/policies/extended.json"));
    assert!(tool_call(&e, "echo"));
    let (kind, body, status) =
        decide(&e, &call("tools/call", r#"{"name":"get-env"}"#)).unwrap_err();
    assert_eq!(kind, DenialKind::DeniedByRule);
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"]["code"], -32010);
    assert_eq!(v["error"]["data"]["rule"], 1);
    assert_eq!(v["error"]["data"]["subject"], "get-env");
    assert!(
        v["error"]["data"]["reason"]
            .as_str()
            .unwrap()
            .contains("no environment dumps")
    );
    let listed = kept(&e, "tools/list", TOOLS);
    assert_eq!(listed.len(), 16);
    assert!(!listed.iter().any(|t| t == "get-env"));
}

#[test]
fn denial_modes() {
    let p = |mode: &str| format!(r#"{{"denial":"{mode}","authorizations":[]}}"#);
    let e = engine(&p("hide"));
    assert_eq!(e.denial_mode(), DenialMode::Hide);
    let (_, body, status) = decide(&e, &call("prompts/get", r#"{"name":"p"}"#)).unwrap_err();
    assert_eq!(
        (body.as_str(), status),
        (
            r#"{"jsonrpc":"2.0","id":7,"error":{"code":-32602,"message":"Unknown prompt: p"}}"#,
            200
        )
    );
    let (_, body, _) = decide(&e, &call("resources/read", r#"{"uri":"a://b"}"#)).unwrap_err();
    assert!(body.contains("Resource a://b not found"), "{body}");
    let (_, body, status) = decide(
        &engine(&p("forbid")),
        &call("tools/call", r#"{"name":"x"}"#),
    )
    .unwrap_err();
    assert!(
        body.contains(r#""code":-32010,"message":"Forbidden by policy""#) && status == 200,
        "{body}"
    );
    let (_, _, status) =
        decide(&engine(&p("http")), &call("tools/call", r#"{"name":"x"}"#)).unwrap_err();
    assert_eq!(status, 403);
    assert!(Policy::from_json(p("loud").as_bytes()).is_err());
}

#[test]
fn string_ids_are_echoed_exactly() {
    let e = engine(r#"{"authorizations":[]}"#);
    let body = r#"{"jsonrpc":"2.0","id":"req-\u00e9","method":"tools/call","params":{"name":"x"}}"#;
    let (_, out, _) = decide(&e, body).unwrap_err();
    assert!(
        out.starts_with(r#"{"jsonrpc":"2.0","id":"req-\u00e9","error""#),
        "{out}"
    );
}

#[test]
fn scopes_make_denials_step_up_challenges() {
    let e = engine(
        r#"{"authorizations":[{"scopes":["mcp:admin"],"condition":"{#context.attributes['user.roles'].contains('mcp:admin')}","authorizedFeatures":[{"type":"TOOLS","methods":["TOOLS_CALL"],"patternType":"ANY"}]}]}"#,
    );
    let (kind, _, status) = decide(&e, &call("tools/call", r#"{"name":"echo"}"#)).unwrap_err();
    assert_eq!((kind, status), (DenialKind::NotGranted, 403));
    let msg_text = call("tools/call", r#"{"name":"echo"}"#);
    let msg = Message::parse(msg_text.as_bytes(), e.limits()).unwrap();
    let Decision::Deny(d) = e.check(&msg, &Context::default()) else {
        panic!()
    };
    assert_eq!(d.required_scopes, ["mcp:admin"]);

    // The first matching grant that names scopes cures it; a grant for another tool does not.
    let e = engine(
        r#"{"authorizations":[
            {"scopes":["mcp:other"],"authorizedFeatures":[{"type":"TOOLS","methods":["TOOLS_CALL"],"patternType":"LITERAL","patternValue":"other"}]},
            {"condition":"{false}","authorizedFeatures":[{"type":"TOOLS","methods":["TOOLS_CALL"],"patternType":"ANY"}]},
            {"scopes":["mcp:write"],"condition":"{false}","authorizedFeatures":[{"type":"TOOLS","methods":["TOOLS_CALL"],"patternType":"EXPRESSION","patternValue":"ech*"}]},
            {"scopes":["mcp:later"],"condition":"{false}","authorizedFeatures":[{"type":"TOOLS","methods":["TOOLS_CALL"],"patternType":"ANY"}]}
        ]}"#,
    );
    let Decision::Deny(d) = e.check(&msg, &Context::default()) else {
        panic!()
    };
    assert_eq!(d.required_scopes, ["mcp:write"]);
    let other = call("tools/call", r#"{"name":"zzz"}"#);
    let other = Message::parse(other.as_bytes(), e.limits()).unwrap();
    let Decision::Deny(d) = e.check(&other, &Context::default()) else {
        panic!()
    };
    assert_eq!(d.required_scopes, ["mcp:later"]);
}

#[test]
fn sse_framed_lists_are_filtered_event_by_event() {
    let e = engine(include_str!("fixtures/policies/everything-echo-sum.json"));
    let sse = include_bytes!("fixtures/traffic/tools-list.sse");
    let req = br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
    for split in [1usize, 7, 64, 1000, sse.len()] {
        let mut f = mcp_policy::sse::Filter::new(&e, Some(req));
        let mut out = Vec::new();
        for chunk in sse.chunks(split) {
            f.push(chunk, &Context::default(), &mut out).unwrap();
        }
        assert!(f.finish(&Context::default(), &mut out).is_empty());
        let text = String::from_utf8(out).unwrap();
        // The priming event (id, empty data) passes untouched; the list is rewritten.
        let events: Vec<&str> = text.split("\n\n").filter(|s| !s.is_empty()).collect();
        assert_eq!(events.len(), 2, "{text}");
        assert!(
            events[0].starts_with("id: ") && events[0].ends_with("data: "),
            "{}",
            events[0]
        );
        let data = events[1]
            .lines()
            .find_map(|l| l.strip_prefix("data: "))
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(data).unwrap();
        let names: Vec<&str> = v["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["echo", "get-sum"]);
        assert!(events[1].starts_with("event: message\nid: "));
    }
}

#[test]
fn kept_items_are_byte_identical_and_cursor_kept() {
    let e = engine(include_str!("fixtures/policies/everything-echo-sum.json"));
    let page = r#"{"jsonrpc":"2.0","id":1,"result":{"tools":[ {"name":"echo","x": [1, 2]} , {"name":"get-env"},{"name" :"get-sum","d":"\u00e9"}],"nextCursor":"abc"}}"#;
    let req = Message::parse(
        br#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"cursor":"x"}}"#,
        e.limits(),
    )
    .unwrap();
    let f = e
        .filter_response(&req, page.as_bytes(), &Context::default())
        .unwrap();
    let Rewrite::Replaced(out) = &f.rewrite else {
        panic!()
    };
    assert_eq!(
        out,
        r#"{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"echo","x": [1, 2]},{"name" :"get-sum","d":"\u00e9"}],"nextCursor":"abc"}}"#
    );
    assert_eq!(f.hidden.len(), 1);
    assert_eq!(f.hidden[0].subject, "get-env");
}

#[test]
fn ambiguous_list_items_are_hidden() {
    let e = engine(include_str!("fixtures/policies/everything-echo-sum.json"));
    let page = r#"{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"echo","name":"get-env"},{"name":1},"echo",{"title":"echo"}]}}"#;
    let req = Message::parse(
        br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
        e.limits(),
    )
    .unwrap();
    let f = e
        .filter_response(&req, page.as_bytes(), &Context::default())
        .unwrap();
    assert_eq!(
        f.rewrite,
        Rewrite::Replaced(r#"{"jsonrpc":"2.0","id":1,"result":{"tools":[]}}"#.into())
    );
    assert_eq!(f.hidden.len(), 4);
    // And a result naming its list twice is refused outright.
    let twice = br#"{"jsonrpc":"2.0","id":1,"result":{"tools":[],"tools":[{"name":"get-env"}]}}"#;
    assert!(e.filter_response(&req, twice, &Context::default()).is_err());
}

#[test]
fn updates_and_links_to_hidden_resources_are_removed() {
    let e = engine(include_str!("fixtures/policies/extended.json"));
    let ctx = Context::default();
    let upd = |uri: &str| {
        let t = format!(
            r#"{{"jsonrpc":"2.0","method":"notifications/resources/updated","params":{{"uri":"{uri}"}}}}"#
        );
        let m = Message::parse(t.as_bytes(), e.limits()).unwrap();
        e.filter_message(&m, None, &ctx).rewrite
    };
    assert_eq!(
        upd("demo://resource/static/document/a.md"),
        Rewrite::Unchanged
    );
    assert_eq!(upd("demo://resource/dynamic/text/1"), Rewrite::Dropped);

    let req = Message::parse(
        br#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"get-resource-links"}}"#,
        e.limits(),
    )
    .unwrap();
    let result = r#"{"jsonrpc":"2.0","id":4,"result":{"content":[{"type":"text","text":"links:"},{"type":"resource_link","uri":"demo://resource/dynamic/text/1","name":"r1"},{"type":"resource_link","uri":"demo://resource/static/document/features.md","name":"f"},{"type":"resource","resource":{"uri":"demo://resource/dynamic/blob/2","blob":"AA=="}}]}}"#;
    let f = e.filter_response(&req, result.as_bytes(), &ctx).unwrap();
    assert_eq!(
        f.rewrite,
        Rewrite::Replaced(r#"{"jsonrpc":"2.0","id":4,"result":{"content":[{"type":"text","text":"links:"},{"type":"resource_link","uri":"demo://resource/static/document/features.md","name":"f"}]}}"#.into())
    );
    assert_eq!(f.hidden.len(), 2);
    let keep = engine(r#"{"resourceLinks":"keep","authorizations":[]}"#);
    assert_eq!(
        keep.filter_response(&req, result.as_bytes(), &ctx)
            .unwrap()
            .rewrite,
        Rewrite::Unchanged
    );
}

#[test]
fn server_to_client_requests_are_governed_only_when_named() {
    let sampling = r#"{"jsonrpc":"2.0","id":0,"method":"sampling/createMessage","params":{"messages":[],"maxTokens":10}}"#;
    let roots = r#"{"jsonrpc":"2.0","id":1,"method":"roots/list"}"#;
    let e = engine(r#"{"authorizations":[]}"#);
    assert_eq!(decide(&e, sampling), Ok(AllowReason::NotGoverned));
    let e = engine(
        r#"{"authorizations":[{"authorizedFeatures":[{"type":"ROOTS"}]},{"effect":"DENY","authorizedFeatures":[{"type":"SAMPLING"}]}]}"#,
    );
    assert_eq!(decide(&e, roots), Ok(AllowReason::Granted));
    let (kind, body, _) = decide(&e, sampling).unwrap_err();
    assert_eq!(kind, DenialKind::DeniedByRule);
    assert!(body.contains("-32601"), "{body}");
    assert_eq!(
        decide(
            &e,
            r#"{"jsonrpc":"2.0","id":2,"method":"elicitation/create","params":{}}"#
        ),
        Ok(AllowReason::NotGoverned)
    );
}

#[test]
fn gravitee_export_and_step_shapes_are_read() {
    let step = r#"{"name":"MCP ACL","enabled":true,"policy":"mcp-acl","configuration":{"authorizations":[{"authorizedFeatures":[{"type":"TOOLS","methods":["TOOLS_LIST","TOOLS_CALL"],"patternType":"LITERAL","patternValue":"echo"}]}]}}"#;
    let e = engine(step);
    assert!(tool_call(&e, "echo") && !tool_call(&e, "get-sum"));
    let p =
        Policy::from_json(include_bytes!("fixtures/policies/gravitee-api-export.json")).unwrap();
    assert_eq!(p.authorizations.len(), 2);
    assert_eq!(
        p.authorizations[1].condition.as_deref(),
        Some("{#context.attributes['user.roles'].contains('mcp:admin')}")
    );
    let disabled = step.replace(r#""enabled":true"#, r#""enabled":false"#);
    assert!(Policy::from_json(disabled.as_bytes()).is_err());
}

#[test]
fn config_errors_list_every_problem_with_its_path() {
    let bad = r#"{"denial":"loud","authorizations":[
        {"authorizedFeatures":[]},
        {"effect":"MAYBE","authorizedFeatures":[{"type":"TOOLZ"},{"type":"TOOLS","methods":["RESOURCES_READ","TOOLS_CALL","NOPE"]}]},
        {"authorizedFeatures":[{"type":"PROMPTS","patternType":"LITERAL"},{"type":"TOOLS","patternType":"REGEX","patternValue":"(unclosed"}]},
        7]}"#;
    let err = Engine::from_json(bad.as_bytes(), &Limits::default()).unwrap_err();
    let paths: Vec<&str> = err.issues.iter().map(|i| i.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "$.denial",
            "$.authorizations[0].authorizedFeatures",
            "$.authorizations[1].effect",
            "$.authorizations[1].authorizedFeatures[0].type",
            "$.authorizations[1].authorizedFeatures[1].methods[0]",
            "$.authorizations[1].authorizedFeatures[1].methods[2]",
            "$.authorizations[2].authorizedFeatures[0].patternValue",
            "$.authorizations[3]",
        ]
    );
    let shown = err.to_string();
    assert!(shown.starts_with("8 problems in the policy"), "{shown}");
    assert!(
        shown.contains("method `RESOURCES_READ` belongs to Resources"),
        "{shown}"
    );
    // Regex problems surface at compile time, with their path.
    let re = r#"{"authorizations":[{"authorizedFeatures":[{"type":"TOOLS","patternType":"REGEX","patternValue":"(unclosed"}]}]}"#;
    let err = Engine::from_json(re.as_bytes(), &Limits::default()).unwrap_err();
    assert_eq!(
        err.issues[0].path,
        "$.authorizations[0].authorizedFeatures[0].patternValue"
    );
    assert!(
        Policy::from_json(b"{not json")
            .unwrap_err()
            .to_string()
            .contains("not valid JSON")
    );
}

#[test]
fn oversized_regex_sets_are_refused() {
    let limits = Limits {
        max_regex_bytes: 10_000,
        ..Limits::default()
    };
    let p = r#"{"authorizations":[{"authorizedFeatures":[{"type":"TOOLS","patternType":"REGEX","patternValue":"(\\w{50}){50}"}]}]}"#;
    let err = Engine::from_json(p.as_bytes(), &limits).unwrap_err();
    assert!(err.to_string().contains("patternValue"), "{err}");
}

#[test]
fn misspelled_known_methods_are_refused_not_passed() {
    let e = engine(r#"{"authorizations":[]}"#);
    for m in [
        "Tools/Call",
        "TOOLS/CALL",
        " tools/call",
        r"tools/call\u0020",
        "Resources/Read",
    ] {
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"{m}","params":{{"name":"get-env","uri":"a://b"}}}}"#
        );
        let (kind, out, _) = decide(&e, &body).unwrap_err();
        assert_eq!(kind, DenialKind::InvalidMessage, "{m}");
        assert!(out.contains("-32601"), "{out}");
    }
    // Genuinely unknown methods still pass, as in Gravitee.
    assert_eq!(
        decide(&e, r#"{"jsonrpc":"2.0","id":1,"method":"tools/calls"}"#),
        Ok(AllowReason::NotGoverned)
    );
}
