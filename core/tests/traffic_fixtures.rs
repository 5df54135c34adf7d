//! Every message of a real session (TypeScript SDK client ↔ server-everything, captured by
//! `e2e/capture/capture.mjs`) parses and classifies as what it is.

use std::collections::HashMap;

use mcp_policy::mcp::{self, Direction, Method, Revision, Subject};
use mcp_policy::{Limits, Message, MessageKind};

const SESSION: &str = include_str!("fixtures/traffic/everything-session.jsonl");

#[derive(Debug)]
struct Line {
    direction: String,
    message: String,
}

fn lines() -> Vec<Line> {
    SESSION
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            Line {
                direction: v["direction"].as_str().unwrap().to_owned(),
                message: v["message"].as_str().unwrap().to_owned(),
            }
        })
        .collect()
}

#[test]
fn every_captured_message_parses_and_classifies() {
    let lines = lines();
    assert!(lines.len() >= 60, "fixture too small: {}", lines.len());
    // Outstanding requests per sender: id text → method.
    let mut pending: HashMap<(bool, String), String> = HashMap::new();
    let mut seen_methods = std::collections::BTreeSet::new();
    let mut responses = 0;
    let mut requests = 0;
    for (i, line) in lines.iter().enumerate() {
        let from_client = line.direction == "client_to_server";
        let msg = Message::parse(line.message.as_bytes(), &Limits::default())
            .unwrap_or_else(|e| panic!("line {i}: {e}\n{}", line.message));
        assert_eq!(msg.text(), line.message.trim());
        match msg.kind() {
            MessageKind::Request | MessageKind::Notification => {
                let call = mcp::classify(&msg).unwrap_or_else(|e| panic!("line {i}: {e}"));
                let method = call
                    .method
                    .unwrap_or_else(|| panic!("unknown method {}", call.name));
                let info = method.info();
                assert!(info.in_revision(Revision::V2025_11_25), "{}", info.name);
                let expected_call = if msg.kind() == MessageKind::Request {
                    mcp::CallKind::Request
                } else {
                    mcp::CallKind::Notification
                };
                assert_eq!(info.call, expected_call, "{}", info.name);
                match info.direction {
                    Direction::ClientToServer => assert!(from_client, "{} from server", info.name),
                    Direction::ServerToClient => assert!(!from_client, "{} from client", info.name),
                    Direction::Both => {}
                }
                match (method, &call.subject) {
                    (Method::ToolsCall, Subject::Tool(n)) => assert!(!n.is_empty()),
                    (Method::PromptsGet, Subject::Prompt(n)) => assert!(!n.is_empty()),
                    (
                        Method::ResourcesRead
                        | Method::ResourcesSubscribe
                        | Method::ResourcesUnsubscribe,
                        Subject::Resource(u),
                    ) => {
                        assert!(u.starts_with("demo://"), "{u}")
                    }
                    (Method::CompletionComplete, Subject::Prompt(_) | Subject::Resource(_)) => {}
                    (m, s) => assert!(
                        m.info().subject == mcp::SubjectField::None || *s == Subject::None,
                        "{m:?} {s:?}"
                    ),
                }
                if msg.kind() == MessageKind::Request {
                    let id = msg.id().unwrap().json().into_owned();
                    pending.insert((from_client, id), info.name.to_owned());
                    requests += 1;
                }
                seen_methods.insert(info.name);
            }
            MessageKind::Response | MessageKind::ErrorResponse => {
                // A response answers a request of the other side, by id.
                let id = msg.id().unwrap().json().into_owned();
                let method = pending
                    .remove(&(!from_client, id.clone()))
                    .unwrap_or_else(|| panic!("line {i}: response {id} answers nothing"));
                if msg.kind() == MessageKind::Response && method.ends_with("/list") {
                    let key = match method.as_str() {
                        "tools/list" => "tools",
                        "prompts/list" => "prompts",
                        "resources/list" => "resources",
                        "resources/templates/list" => "resourceTemplates",
                        "roots/list" => "roots",
                        other => panic!("unexpected list {other}"),
                    };
                    assert!(
                        !msg.result().unwrap().get(key).unwrap().is_empty(),
                        "{method}"
                    );
                }
                responses += 1;
            }
        }
    }
    assert!(pending.is_empty(), "unanswered: {pending:?}");
    assert_eq!(responses, requests);
    assert!(requests >= 25, "{requests}");
    for m in [
        "initialize",
        "tools/list",
        "tools/call",
        "resources/read",
        "prompts/get",
        "sampling/createMessage",
        "elicitation/create",
        "roots/list",
        "notifications/progress",
        "notifications/message",
        "completion/complete",
        "ping",
    ] {
        assert!(seen_methods.contains(m), "fixture lacks {m}");
    }
}

#[test]
fn list_fixtures_parse() {
    for (file, key, n) in [
        (
            include_str!("fixtures/traffic/tools-list.json"),
            "tools",
            17,
        ),
        (
            include_str!("fixtures/traffic/prompts-list.json"),
            "prompts",
            4,
        ),
        (
            include_str!("fixtures/traffic/resources-list.json"),
            "resources",
            7,
        ),
        (
            include_str!("fixtures/traffic/resource-templates-list.json"),
            "resourceTemplates",
            2,
        ),
    ] {
        let msg = Message::parse(file.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(msg.kind(), MessageKind::Response);
        assert_eq!(msg.result().unwrap().get(key).unwrap().len(), n, "{key}");
    }
}
