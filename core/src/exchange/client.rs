//! Judging a client body: media type, parse, revision and batch rule, mirrored headers, the
//! decision per message, the batch rule for mixed verdicts, client answers to refused server
//! requests, and the requests the answer will be matched against.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::ids::IdKey;
use super::media::{self, MediaType};
use super::session::{Pending, Session};
use super::{ClientVerdict, Exchange, Forward, Guard, Reply, ReplyKind, RequestFacts, Summary};
use crate::context::Context;
use crate::error::{Error, ErrorKind};
use crate::jsonrpc::{Body, Id, Message, MessageKind, error_response};
use crate::mcp::{self, Method, Revision};
use crate::oauth::BearerChallenge;
use crate::policy::{AclMethod, Decision};

/// A reply carrying one JSON-RPC error body.
fn json_reply(status: u16, body: String, kind: ReplyKind, code: i32, summary: Summary) -> Reply {
    Reply {
        status,
        content_type: Some("application/json"),
        www_authenticate: None,
        body: body.into_bytes(),
        kind,
        error_code: Some(code),
        summary,
    }
}

fn invalid(e: &Error, id: Option<&str>, summary: Summary) -> ClientVerdict {
    ClientVerdict::Reply(json_reply(
        e.http_status(),
        e.to_jsonrpc_response(id),
        ReplyKind::Invalid,
        e.jsonrpc_code(),
        summary,
    ))
}

fn header_text<'a>(v: Option<&'a [u8]>, name: &str) -> Result<Option<&'a str>, Error> {
    v.map(|b| {
        core::str::from_utf8(b).map_err(|_| {
            Error::new(
                ErrorKind::HeaderMismatch,
                alloc::format!("the {name} header is not UTF-8"),
            )
            .at_path(String::from(name))
        })
    })
    .transpose()
}

fn summarize(body: &Body<'_>) -> Summary {
    let mut s = Summary::default();
    if let Some(m) = body.messages().first() {
        s.method = m.method().map(|name| match Method::from_name(name) {
            Some(known) => Cow::Borrowed(known.as_str()),
            None => Cow::Owned(String::from(name)),
        });
        s.subject = m.name().or(m.uri()).map(String::from);
    }
    for m in body.messages() {
        if m.kind() == MessageKind::Request {
            s.requests += 1;
            if s.first_id.is_none() {
                s.first_id = m.id().map(|i| i.json().into_owned());
            }
            if m.method() == Some("initialize") {
                s.initialize = true;
            }
        }
    }
    s
}

impl Guard {
    /// Judges one client POST body with the HTTP facts it came with, the context conditions
    /// read, and the session it belongs to (a fresh [`Guard::session`] when it belongs to
    /// none). Never forwards what it could not read, never panics.
    pub fn client(
        &self,
        body: &[u8],
        facts: &RequestFacts<'_>,
        ctx: &Context<'_>,
        session: &Session,
    ) -> ClientVerdict {
        if let Some(name) = facts.repeated {
            let kind = if matches!(name, "Content-Type" | "Content-Encoding") {
                ErrorKind::UnsupportedMediaType
            } else {
                ErrorKind::HeaderMismatch
            };
            let e = Error::new(
                kind,
                alloc::format!("the {name} header is sent more than once"),
            )
            .at_path(name);
            return invalid(&e, None, Summary::default());
        }
        if let Err(e) = media::require(
            facts.content_type,
            facts.content_encoding,
            Some(MediaType::Json),
        ) {
            return invalid(&e, None, Summary::default());
        }
        let parsed = match Body::parse(body, self.engine.limits()) {
            Ok(b) => b,
            Err(e) => return invalid(&e, None, Summary::default()),
        };
        let summary = summarize(&parsed);
        let rev = match header_text(facts.protocol_version, "MCP-Protocol-Version") {
            Ok(Some(v)) => match Revision::parse_header(v) {
                Ok(r) => r,
                Err(e) => return invalid(&e, None, summary),
            },
            Ok(None) => session
                .revision()
                .unwrap_or(Revision::DEFAULT_WITHOUT_HEADER),
            Err(e) => return invalid(&e, None, summary),
        };
        if let Err(e) = mcp::check_batch_allowed(parsed.is_batch(), rev) {
            return invalid(&e, None, summary);
        }
        let (h_method, h_name) = match (
            header_text(facts.mcp_method, "Mcp-Method"),
            header_text(facts.mcp_name, "Mcp-Name"),
        ) {
            (Ok(m), Ok(n)) => (m, n),
            (Err(e), _) | (_, Err(e)) => return invalid(&e, None, summary),
        };
        if let Body::Single(msg) = &parsed {
            // The common case, without the bookkeeping a batch needs.
            if let Err(e) = mcp::check_mirrored_headers(msg, h_method, h_name, rev) {
                let id = msg.id().map(|i| i.json());
                return invalid(&e, id.as_deref(), summary);
            }
            return match self.judge_client_message(msg, ctx, session, rev) {
                None => self.forward(&parsed, session, summary, rev),
                Some(d) => ClientVerdict::Reply(d.into_reply(summary)),
            };
        }
        // The answer owed for each message when something is denied: its denial, or None.
        let mut denials: Vec<Option<Denied>> = Vec::with_capacity(parsed.messages().len());
        for msg in parsed.messages() {
            if let Err(e) = mcp::check_mirrored_headers(msg, h_method, h_name, rev) {
                let id = msg.id().map(|i| i.json());
                return invalid(&e, id.as_deref(), summary);
            }
            denials.push(self.judge_client_message(msg, ctx, session, rev));
        }
        if denials.iter().all(Option::is_none) {
            return self.forward(&parsed, session, summary, rev);
        }
        // One denied message refuses the whole batch: a partial forward would leave the
        // client waiting for answers that never come. The batch is answered as its most
        // serious denial asks (403, with the step-up challenge when scopes would cure one).
        let mut all: Vec<String> = Vec::new();
        let mut first_code = None;
        let mut status = 200;
        let mut www_authenticate = None;
        for (msg, denial) in parsed.messages().iter().zip(denials) {
            match denial {
                Some(Denied::Policy {
                    status: s,
                    body,
                    code,
                    challenge,
                }) => {
                    first_code.get_or_insert(code);
                    status = status.max(s);
                    if www_authenticate.is_none() {
                        www_authenticate = challenge;
                    }
                    all.push(body);
                }
                Some(Denied::Dropped) => {}
                None if msg.kind() == MessageKind::Request => {
                    let id = msg.id().map(|i| i.json());
                    all.push(error_response(
                        id.as_deref(),
                        -32600,
                        "batch refused: another message in it was denied by policy",
                        None,
                    ));
                }
                None => {}
            }
        }
        let mut body = String::from("[");
        body.push_str(&all.join(","));
        body.push(']');
        let mut reply = json_reply(
            status,
            body,
            ReplyKind::Denied,
            first_code.unwrap_or(-32600),
            summary,
        );
        reply.www_authenticate = www_authenticate;
        ClientVerdict::Reply(reply)
    }

    fn judge_client_message(
        &self,
        msg: &Message<'_>,
        ctx: &Context<'_>,
        session: &Session,
        rev: Revision,
    ) -> Option<Denied> {
        match msg.kind() {
            MessageKind::Request | MessageKind::Notification => {}
            MessageKind::Response | MessageKind::ErrorResponse => {
                // The server already got the gateway's error for a request it refused; a
                // client answer to it would be a second answer, and its content unjudged.
                let key = msg.id().map(|id| IdKey::of(&id))?;
                return session.was_refused(&key).then_some(Denied::Dropped);
            }
        }
        let decision = match msg.task_id() {
            // A task message is judged as a call of the tool that created the task, which
            // only the session knows.
            Some(task) if self.engine.judges_tasks() && names_a_task(msg) => {
                let tool = self.tasks_of(session, rev).with(|t| t.tool(task));
                self.engine.check_task(msg, ctx, tool.as_deref())
            }
            _ => self.engine.check(msg, ctx),
        };
        match decision {
            Decision::Allow(..) => self.unknown_listened_task(msg, ctx, session, rev),
            Decision::Deny(d) => {
                let code = d.jsonrpc_error().code;
                let challenge = (!d.required_scopes.is_empty()).then(|| {
                    BearerChallenge {
                        resource_metadata: self.options().resource_metadata_url.clone(),
                        ..BearerChallenge::default()
                    }
                    .with_scope(step_up_scopes(
                        &self.options().challenge_scopes,
                        &d.required_scopes,
                    ))
                    .with_error(
                        crate::oauth::BearerErrorCode::InsufficientScope,
                        Some(String::from(
                            "The access token lacks the scopes this operation needs",
                        )),
                    )
                    .header_value()
                });
                Some(Denied::Policy {
                    status: d.http_status(),
                    body: d.jsonrpc_response(),
                    code,
                    challenge,
                })
            }
        }
    }

    /// A `subscriptions/listen` that asks for status notifications of tasks (`taskIds` in its
    /// filter) may name only tasks the caller could follow by `tasks/get`: bound in this
    /// session to a tool it may call. The first other one refuses the listen as unknown.
    fn unknown_listened_task(
        &self,
        msg: &Message<'_>,
        ctx: &Context<'_>,
        session: &Session,
        rev: Revision,
    ) -> Option<Denied> {
        if msg.method() != Some("subscriptions/listen") || !self.engine.judges_tasks() {
            return None;
        }
        let ids = msg
            .params()
            .and_then(|p| p.get("notifications"))
            .and_then(|n| n.get("taskIds"))?;
        let refuse = |what: &str| {
            let id = msg.id().map(|i| i.json());
            Some(Denied::Policy {
                status: 200,
                body: error_response(
                    id.as_deref(),
                    -32602,
                    &alloc::format!("Unknown task: {what}"),
                    None,
                ),
                code: -32602,
                challenge: None,
            })
        };
        if ids.kind() != crate::jsonrpc::Kind::Array {
            return refuse("params.notifications.taskIds is not an array");
        }
        let tasks = self.tasks_of(session, rev);
        for el in ids.elements() {
            let Some(task) = el.as_str() else {
                return refuse("params.notifications.taskIds holds a non-string");
            };
            let callable = tasks
                .with(|t| t.tool(&task))
                .is_some_and(|tool| self.engine.allows(AclMethod::ToolsCall, &tool, ctx));
            if !callable {
                return refuse(&task);
            }
        }
        None
    }

    /// Records the body's requests in the session and hands back the exchange that will judge
    /// their answers.
    fn forward(
        &self,
        parsed: &Body<'_>,
        session: &Session,
        summary: Summary,
        rev: Revision,
    ) -> ClientVerdict {
        let mut entries = Vec::with_capacity(summary.requests);
        for m in parsed.messages() {
            if m.kind() != MessageKind::Request {
                continue;
            }
            let Some(rid) = m.id() else { continue };
            let text: Arc<str> = Arc::from(m.text());
            let id_span = match rid {
                Id::Number(n) => span(m.text(), n),
                // The raw contents and the quotes around them.
                Id::String(s) => span(m.text(), s.raw()).map(|r| r.start - 1..r.end + 1),
                Id::Null => None,
            };
            entries.push(Pending {
                key: IdKey::of(&rid),
                method: m.method().and_then(Method::from_name),
                id: id_span.unwrap_or(0..0),
                progress: m
                    .meta()
                    .and_then(|meta| meta.get("progressToken"))
                    .and_then(|t| span(m.text(), t.as_text())),
                request: text,
                // Set by `register`, which numbers the exchange under the same lock.
                exchange: 0,
                live: true,
            });
        }
        let own = entries.len();
        let id = match session.register(entries) {
            Ok(id) => id,
            Err((e, raw)) => return invalid(&e, Some(raw.as_str()), summary),
        };
        ClientVerdict::Forward(Forward {
            exchange: Exchange::new(self.clone(), session.clone(), id, own, parsed.is_batch())
                .speaking(rev),
            content_type: MediaType::Json.content_type(),
            summary,
        })
    }
}

/// Whether `msg` is a task request or notification (its subject is `params.taskId`).
/// The scopes of a step-up challenge: the resource's own, then the rule's, each once, in that
/// order.
fn step_up_scopes(base: &[String], rule: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(base.len() + rule.len());
    for s in base.iter().chain(rule) {
        if !out.contains(s) {
            out.push(s.clone());
        }
    }
    out
}

pub(crate) fn names_a_task(msg: &Message<'_>) -> bool {
    msg.method()
        .and_then(mcp::lookup)
        .is_some_and(|i| i.subject == mcp::SubjectField::TaskId)
}

/// Where `inner`, a slice of `outer`, sits in it.
fn span(outer: &str, inner: &str) -> Option<core::ops::Range<usize>> {
    let start = (inner.as_ptr() as usize).checked_sub(outer.as_ptr() as usize)?;
    let end = start + inner.len();
    (end <= outer.len()).then_some(start..end)
}

/// Why one message of a client body is not forwarded.
enum Denied {
    /// The policy denied it: the error response owed for it.
    Policy {
        status: u16,
        body: String,
        code: i32,
        challenge: Option<String>,
    },
    /// A client answer to a server request the policy refused.
    Dropped,
}

impl Denied {
    fn into_reply(self, summary: Summary) -> Reply {
        match self {
            Self::Policy {
                status,
                body,
                code,
                challenge,
            } => Reply {
                status,
                content_type: Some("application/json"),
                www_authenticate: challenge,
                body: body.into_bytes(),
                kind: ReplyKind::Denied,
                error_code: Some(code),
                summary,
            },
            Self::Dropped => Reply {
                status: 202,
                content_type: None,
                www_authenticate: None,
                body: Vec::new(),
                kind: ReplyKind::Dropped,
                error_code: None,
                summary,
            },
        }
    }
}
