//! Parsing and refusing JSON-RPC messages (ARCHITECTURE.md §2.2, invariants 1, 2 and 4).

use mcp_policy::jsonrpc::{Body, Id, Kind};
use mcp_policy::mcp::{self, Method, Revision, Subject};
use mcp_policy::{ErrorKind, Limits, Message, MessageKind};

fn parse(s: &str) -> Result<Message<'_>, mcp_policy::Error> {
    Message::parse(s.as_bytes(), &Limits::default())
}

fn refused(s: &str) -> (ErrorKind, i32) {
    let e = parse(s).expect_err(s);
    (e.kind(), e.jsonrpc_code())
}

#[test]
fn reads_the_four_kinds() {
    let m = parse(r#"{"jsonrpc":"2.0","id":"a-1","method":"tools/list","params":{"cursor":"x"}}"#)
        .unwrap();
    assert_eq!(m.kind(), MessageKind::Request);
    assert_eq!(m.id().unwrap().json(), "\"a-1\"");
    let n = parse(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#).unwrap();
    assert_eq!(n.kind(), MessageKind::Notification);
    assert!(n.id().is_none());
    let r = parse(r#"{"jsonrpc":"2.0","id":12,"result":{"tools":[]}}"#).unwrap();
    assert_eq!(r.kind(), MessageKind::Response);
    assert_eq!(r.id(), Some(Id::Number("12")));
    assert_eq!(
        r.result().unwrap().get("tools").unwrap().kind(),
        Kind::Array
    );
    let e = parse(r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"x"}}"#).unwrap();
    assert_eq!(e.kind(), MessageKind::ErrorResponse);
    assert_eq!(e.id(), Some(Id::Null));
}

#[test]
fn ids_are_kept_exactly() {
    for id in [
        "1",
        "-0",
        "1.5e3",
        "\"x\\\"y\"",
        "\"\\u00e9\"",
        "12345678901234567890",
    ] {
        let body = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"ping"}}"#);
        let m = parse(&body).unwrap();
        assert_eq!(m.id().unwrap().json(), id);
    }
}

/// serde_json (and I-JSON) refuse a number beyond f64, so the engine does too, wherever it
/// stands; one that underflows to zero is read as zero by both and passes.
#[test]
fn numbers_beyond_a_double_are_refused() {
    let huge = format!("1{}", "0".repeat(309));
    for n in ["1e309", "-1.8e308", "1E6666", huge.as_str()] {
        for body in [
            format!(r#"{{"jsonrpc":"2.0","id":{n},"method":"ping"}}"#),
            format!(r#"{{"jsonrpc":"2.0","id":1,"result":{{"n":[{n}]}}}}"#),
        ] {
            assert!(serde_json::from_str::<serde_json::Value>(&body).is_err());
            assert_eq!(refused(&body), (ErrorKind::Syntax, -32700), "{body}");
        }
    }
    let max = format!("1{}", "0".repeat(308));
    for n in [
        "1e308",
        "-1.7e308",
        "1e-400",
        "0e999999",
        "0.5E-99999",
        max.as_str(),
    ] {
        let body = format!(r#"{{"jsonrpc":"2.0","id":{n},"method":"ping"}}"#);
        assert!(serde_json::from_str::<serde_json::Value>(&body).is_ok());
        assert_eq!(parse(&body).unwrap().id().unwrap().json(), n);
    }
}

#[test]
fn escaped_names_are_decoded_once() {
    let m = parse(
        r#"{"jsonrpc":"2.0","id":1,"method":"tools\/call","params":{"n\u0061me":"get-\u0065nv"}}"#,
    )
    .unwrap();
    assert_eq!(m.method(), Some("tools/call"));
    assert_eq!(m.name(), Some("get-env"));
    assert_eq!(
        mcp::classify(&m).unwrap().subject,
        Subject::Tool("get-env".into())
    );
}

#[test]
fn duplicate_security_keys_are_refused() {
    let cases = [
        r#"{"jsonrpc":"2.0","jsonrpc":"2.0","id":1,"method":"ping"}"#,
        r#"{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","method":"tools/call","params":{"name":"x"}}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a"},"params":{"name":"b"}}"#,
        // The case from the issue: `name` twice inside params.
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","name":"get-env"}}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"a://1","uri":"a://2"}}"#,
        // Escaped spelling of the same key is the same key.
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","n\u0061me":"get-env"}}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"p":"a","p":"b"}}}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"e","arguments":{"l":[{"k":1,"k":2}]}}}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"a","name":"b"}}}"#,
    ];
    for c in cases {
        assert_eq!(refused(c), (ErrorKind::DuplicateKey, -32600), "{c}");
    }
    let err = parse(cases[4]).unwrap_err();
    assert_eq!(err.path(), Some("params.name"));
    assert!(err.to_string().contains("duplicate key `name`"), "{err}");
}

#[test]
fn duplicate_detection_scales_to_many_keys() {
    let mut body = String::from(
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{"#,
    );
    for i in 0..5000 {
        body.push_str(&format!("\"k{i}\":{i},"));
    }
    body.push_str("\"k4321\":0}}}");
    assert_eq!(refused(&body).0, ErrorKind::DuplicateKey);
    let ok = body.replace("\"k4321\":0}", "\"unique\":0}");
    assert!(parse(&ok).is_ok());
}

#[test]
fn wrong_types_are_refused() {
    assert_eq!(
        refused(r#"{"jsonrpc":"2.0","id":1,"method":7}"#),
        (ErrorKind::InvalidRequest, -32600)
    );
    assert_eq!(
        refused(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":["echo"]}}"#),
        (ErrorKind::InvalidParams, -32602)
    );
    assert_eq!(
        refused(r#"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":{"x":1}}}"#),
        (ErrorKind::InvalidParams, -32602)
    );
    assert_eq!(
        refused(r#"{"jsonrpc":"2.0","id":[1],"method":"ping"}"#).0,
        ErrorKind::InvalidRequest
    );
    assert_eq!(
        refused(r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#).0,
        ErrorKind::InvalidRequest
    );
    assert_eq!(
        refused(r#"{"id":1,"method":"ping"}"#).0,
        ErrorKind::InvalidRequest
    );
    // The version is judged by what it decodes to: escaped, it is still "2.0"; anything
    // else that starts like it, or is not a string, is refused.
    for ok in [
        r#"{"jsonrpc":"2\u002e0","id":1,"method":"ping"}"#,
        r#"{"jsonrpc":"\u0032.0","id":1,"method":"ping"}"#,
        r#"{ "jsonrpc" : "2.0" , "id":1,"method":"ping"}"#,
    ] {
        assert!(parse(ok).is_ok(), "{ok}");
    }
    for bad in [
        r#"{"jsonrpc":"2.0 ","id":1,"method":"ping"}"#,
        r#"{"jsonrpc":"2.00","id":1,"method":"ping"}"#,
        r#"{"jsonrpc":"2\u002e1","id":1,"method":"ping"}"#,
        r#"{"jsonrpc":2.0,"id":1,"method":"ping"}"#,
        r#"{"jsonrpc":null,"id":1,"method":"ping"}"#,
    ] {
        assert_eq!(refused(bad).0, ErrorKind::InvalidRequest, "{bad}");
    }
    assert_eq!(
        refused(r#"{"jsonrpc":"2.0","id":1,"method":"ping","params":[1]}"#).0,
        ErrorKind::InvalidRequest
    );
    assert_eq!(
        refused(r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#).0,
        ErrorKind::InvalidRequest
    );
    assert_eq!(
        refused(r#"{"jsonrpc":"2.0","result":{}}"#).0,
        ErrorKind::InvalidRequest
    );
    assert_eq!(
        refused(r#"{"jsonrpc":"2.0","id":1,"result":{},"error":{}}"#).0,
        ErrorKind::InvalidRequest
    );
    assert_eq!(
        refused(r#"{"jsonrpc":"2.0","id":1,"method":"x","result":{}}"#).0,
        ErrorKind::InvalidRequest
    );
    assert_eq!(
        refused(r#"{"jsonrpc":"2.0","id":1,"method":""}"#).0,
        ErrorKind::InvalidRequest
    );
    assert_eq!(
        refused(r#"["not", "an object"]"#).0,
        ErrorKind::BatchNotAllowed
    );
    assert_eq!(refused(r#""just a string""#).0, ErrorKind::InvalidRequest);
}

#[test]
fn control_characters_in_subjects_are_refused() {
    // The case from the issue: `\u0000` in a method.
    assert_eq!(
        refused(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call\u0000","params":{"name":"x"}}"#),
        (ErrorKind::InvalidRequest, -32600)
    );
    assert_eq!(
        refused(
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo\u0000get-env"}}"#
        ),
        (ErrorKind::InvalidParams, -32602)
    );
    assert_eq!(
        refused(r#"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"a://x\n"}}"#)
            .0,
        ErrorKind::InvalidParams
    );
}

#[test]
fn encoding_errors_are_parse_errors() {
    let bad_utf8 =
        b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"\xff\"}}";
    let e = Message::parse(bad_utf8, &Limits::default()).unwrap_err();
    assert_eq!(
        (e.kind(), e.jsonrpc_code()),
        (ErrorKind::InvalidUtf8, -32700)
    );
    assert_eq!(e.offset(), bad_utf8.iter().position(|&b| b == 0xff));
    assert_eq!(
        refused(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"\ud800"}}"#),
        (ErrorKind::LoneSurrogate, -32700)
    );
    assert_eq!(
        refused(
            r#"{"jsonrpc":"2.0","id":1,"method":"ping"} {"jsonrpc":"2.0","id":2,"method":"ping"}"#
        ),
        (ErrorKind::TrailingData, -32700)
    );
    assert_eq!(
        refused(r#"{"jsonrpc":"2.0","id":1,"method":"ping""#).0,
        ErrorKind::Syntax
    );
    // A byte-order mark is not JSON whitespace.
    assert_eq!(
        refused("\u{feff}{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}").0,
        ErrorKind::Syntax
    );
}

#[test]
fn deep_nesting_is_bounded() {
    // The case from the issue: a 10,000-deep array.
    let deep = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"x","arguments":{{"a":{}{}}}}}}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let e = parse(&deep).unwrap_err();
    assert_eq!(
        (e.kind(), e.jsonrpc_code(), e.http_status()),
        (ErrorKind::TooDeep, -32700, 400)
    );
    // Depth counts the envelope (1), params (2), arguments (3).
    let limits = Limits {
        max_depth: 3,
        ..Limits::default()
    };
    let ok =
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{}}}"#;
    assert!(Message::parse(ok.as_bytes(), &limits).is_ok());
    let too = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{"a":[]}}}"#;
    assert_eq!(
        Message::parse(too.as_bytes(), &limits).unwrap_err().kind(),
        ErrorKind::TooDeep
    );
}

#[test]
fn size_limits_hold() {
    let limits = Limits {
        max_body_bytes: 64,
        ..Limits::default()
    };
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"{}"}}"#,
        "x".repeat(100)
    );
    let e = Message::parse(big.as_bytes(), &limits).unwrap_err();
    assert_eq!((e.kind(), e.http_status()), (ErrorKind::TooLarge, 413));
    let limits = Limits {
        max_string_bytes: 8,
        ..Limits::default()
    };
    let e = Message::parse(big.as_bytes(), &limits).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::StringTooLong);
}

#[test]
fn batches_follow_the_revision() {
    let body = br#"[{"jsonrpc":"2.0","id":1,"method":"tools/list"},{"jsonrpc":"2.0","method":"notifications/initialized"}]"#;
    let parsed = Body::parse(body, &Limits::default()).unwrap();
    assert!(parsed.is_batch());
    assert_eq!(parsed.messages().len(), 2);
    assert!(mcp::check_batch_allowed(true, Revision::V2025_03_26).is_ok());
    for rev in [
        Revision::V2024_11_05,
        Revision::V2025_06_18,
        Revision::V2025_11_25,
        Revision::V2026_07_28,
    ] {
        let e = mcp::check_batch_allowed(true, rev).unwrap_err();
        assert_eq!(
            (e.kind(), e.jsonrpc_code()),
            (ErrorKind::BatchNotAllowed, -32600)
        );
    }
    assert_eq!(
        Body::parse(b"[]", &Limits::default()).unwrap_err().kind(),
        ErrorKind::BatchNotAllowed
    );
    let limits = Limits {
        max_batch_len: 1,
        ..Limits::default()
    };
    assert_eq!(
        Body::parse(body, &limits).unwrap_err().kind(),
        ErrorKind::BatchTooLong
    );
    // One bad element refuses the whole batch, and says which.
    let bad = br#"[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"a","name":"b"}}]"#;
    let e = Body::parse(bad, &Limits::default()).unwrap_err();
    assert_eq!(e.path(), Some("[1].params.name"));
}

#[test]
fn classification_finds_subjects() {
    let cases: &[(&str, Method, Subject<'_>)] = &[
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}}"#,
            Method::ToolsCall,
            Subject::Tool("echo".into()),
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"simple-prompt"}}"#,
            Method::PromptsGet,
            Subject::Prompt("simple-prompt".into()),
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"demo://r/1"}}"#,
            Method::ResourcesRead,
            Subject::Resource("demo://r/1".into()),
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"resources/subscribe","params":{"uri":"demo://r/1"}}"#,
            Method::ResourcesSubscribe,
            Subject::Resource("demo://r/1".into()),
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"p"},"argument":{"name":"a","value":""}}}"#,
            Method::CompletionComplete,
            Subject::Prompt("p".into()),
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"completion/complete","params":{"ref":{"type":"ref/resource","uri":"demo://t/{id}"},"argument":{"name":"id","value":"1"}}}"#,
            Method::CompletionComplete,
            Subject::Resource("demo://t/{id}".into()),
        ),
        (
            r#"{"jsonrpc":"2.0","method":"notifications/resources/updated","params":{"uri":"demo://r/1"}}"#,
            Method::NotificationsResourcesUpdated,
            Subject::Resource("demo://r/1".into()),
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
            Method::ToolsList,
            Subject::None,
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"subscriptions/listen","params":{"notifications":{"resourceSubscriptions":["a://1","a\u003a//2"]}}}"#,
            Method::SubscriptionsListen,
            Subject::Resources(vec!["a://1".into(), "a://2".into()]),
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"tasks/get","params":{"taskId":"t1"}}"#,
            Method::TasksGet,
            Subject::Task("t1".into()),
        ),
    ];
    for (body, method, subject) in cases {
        let m = parse(body).unwrap();
        let call = mcp::classify(&m).unwrap();
        assert_eq!(call.method, Some(*method), "{body}");
        assert_eq!(&call.subject, subject, "{body}");
    }
    let unknown = parse(r#"{"jsonrpc":"2.0","id":1,"method":"vendor/thing"}"#).unwrap();
    let call = mcp::classify(&unknown).unwrap();
    assert_eq!((call.method, call.name), (None, "vendor/thing"));
    for missing in [
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call"}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"name":"x"}}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"completion/complete","params":{"ref":{"type":"ref/other"}}}"#,
    ] {
        let e = mcp::classify(&parse(missing).unwrap()).unwrap_err();
        assert_eq!(e.jsonrpc_code(), -32602, "{missing}");
    }
}

#[test]
fn mirrored_headers_must_equal_the_body() {
    let m = parse(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}}"#)
        .unwrap();
    let rev = Revision::V2026_07_28;
    assert!(mcp::check_mirrored_headers(&m, Some("tools/call"), Some("echo"), rev).is_ok());
    assert!(
        mcp::check_mirrored_headers(&m, Some("tools/call"), Some("=?base64?ZWNobw==?="), rev)
            .is_ok()
    );
    // The case from the issue: Mcp-Name disagrees with params.name.
    let e = mcp::check_mirrored_headers(&m, Some("tools/call"), Some("get-env"), rev).unwrap_err();
    assert_eq!(
        (e.kind(), e.jsonrpc_code(), e.http_status()),
        (ErrorKind::HeaderMismatch, -32020, 400)
    );
    assert_eq!(e.path(), Some("Mcp-Name"));
    let e =
        mcp::check_mirrored_headers(&m, Some("tools/call"), Some("=?base64?Z2V0LWVudg==?="), rev)
            .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::HeaderMismatch);
    assert!(mcp::check_mirrored_headers(&m, Some("tools/list"), Some("echo"), rev).is_err());
    assert!(mcp::check_mirrored_headers(&m, None, Some("echo"), rev).is_err());
    assert!(mcp::check_mirrored_headers(&m, Some("tools/call"), None, rev).is_err());
    // Older revisions: optional, but never contradicting.
    let old = Revision::V2025_11_25;
    assert!(mcp::check_mirrored_headers(&m, None, None, old).is_ok());
    assert!(mcp::check_mirrored_headers(&m, None, Some("get-env"), old).is_err());
    let list = parse(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#).unwrap();
    assert!(mcp::check_mirrored_headers(&list, Some("tools/list"), None, rev).is_ok());
    assert!(mcp::check_mirrored_headers(&list, Some("tools/list"), Some("x"), rev).is_err());
}

#[test]
fn errors_render_as_jsonrpc_responses() {
    let e =
        parse(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","name":"b"}}"#)
            .unwrap_err();
    let resp = e.to_jsonrpc_response(Some("1"));
    let v: serde_json::Value = serde_json::from_str(&resp).unwrap();
    assert_eq!(v["id"], 1);
    assert_eq!(v["error"]["code"], -32600);
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("duplicate key `name`") && msg.contains("params.name"),
        "{msg}"
    );
    let v: serde_json::Value = serde_json::from_str(&e.to_jsonrpc_response(None)).unwrap();
    assert!(v["id"].is_null());
}

/// Past the parser's inline frames (8 levels) and inline keys (24 across the open objects),
/// repeats are still found at the right level and reported with their path.
#[test]
fn duplicates_are_found_beyond_the_inline_stack() {
    let call = |args: &str| {
        format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"x","arguments":{args}}}}}"#
        )
    };
    // 20 levels deep, the repeat at the bottom.
    let deep = |bottom: &str| {
        let mut s = String::new();
        for _ in 0..20 {
            s.push_str(r#"{"n":"#);
        }
        s.push_str(bottom);
        s.push_str(&"}".repeat(20));
        s
    };
    assert!(parse(&call(&deep(r#"{"z":1,"y":2}"#))).is_ok());
    let err = parse(&call(&deep(r#"{"z":1,"z":2}"#))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DuplicateKey);
    let path = format!("params.arguments{}.z", ".n".repeat(20));
    assert_eq!(err.path(), Some(path.as_str()));

    // Wide objects at several levels: 20 keys, then a nested object of 12, then a repeat of
    // an outer key after the inner object closed.
    let wide = |inner_extra: &str, outer_last: &str| {
        let mut s = String::from("{");
        for i in 0..20 {
            s.push_str(&format!("\"a{i}\":{i},"));
        }
        s.push_str("\"deep\":{");
        for i in 0..12 {
            s.push_str(&format!("\"b{i}\":{i},"));
        }
        s.push_str(inner_extra);
        s.push_str(&format!("\"x\":[{{\"c\":1}}]}},\"{outer_last}\":0}}"));
        s
    };
    assert!(parse(&call(&wide("", "last"))).is_ok());
    let err = parse(&call(&wide("", "a5"))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DuplicateKey);
    assert_eq!(err.path(), Some("params.arguments.a5"));
    let err = parse(&call(&wide("\"b3\":0,", "last"))).unwrap_err();
    assert_eq!(err.path(), Some("params.arguments.deep.b3"));
}
