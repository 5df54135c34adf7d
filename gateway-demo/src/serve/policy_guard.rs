//! The guard backed by the policy engine: every decision is the engine's; this file only
//! converts HTTP facts into a [`Context`] and engine answers into transport verdicts.

use bytes::Bytes;
use mcp_policy::jsonrpc::{Body, MessageKind};
use mcp_policy::mcp::{self, Revision};
use mcp_policy::policy::{Decision, Engine, Rewrite};
use mcp_policy::{Context, Limits, Message};

use super::guard::{
    ClientVerdict, Guard, Parsed, RequestMeta, ServerVerdict, jsonrpc_error, unreadable_client_body,
};
use super::proxy::id_key;

/// A guard enforcing one compiled policy.
#[derive(Debug)]
pub(crate) struct PolicyGuard {
    engine: Engine,
}

impl PolicyGuard {
    /// Wraps a compiled engine.
    pub(crate) fn new(engine: Engine) -> Self {
        Self { engine }
    }
}

/// The context of an exchange: HTTP facts the conditions may read. Header values that are
/// not visible ASCII are skipped rather than guessed at.
fn context(meta: &RequestMeta) -> Context<'_> {
    let mut b = Context::builder()
        .method(meta.http_method.as_str())
        .path(meta.path.as_str())
        .remote_address(&*meta.remote_ip)
        .attribute("api", &*meta.api);
    for (name, value) in &meta.headers {
        if name == http::header::AUTHORIZATION || name == http::header::COOKIE {
            // Credentials are validated by the plan, never exposed to conditions.
            continue;
        }
        if let Ok(v) = value.to_str() {
            b = b.header(name.as_str(), v);
        }
    }
    b.build()
}

fn reply(status: u16, body: String, decision: &'static str) -> ClientVerdict {
    ClientVerdict::Reply {
        status,
        content_type: Some("application/json"),
        body: Bytes::from(body),
        decision,
    }
}

impl Guard for PolicyGuard {
    fn limits(&self) -> &Limits {
        self.engine.limits()
    }

    fn context<'m>(&self, meta: &'m RequestMeta) -> Context<'m> {
        context(meta)
    }

    fn client_body(
        &self,
        body: &Bytes,
        parsed: &Parsed<'_>,
        meta: &RequestMeta,
        ctx: &Context<'_>,
    ) -> ClientVerdict {
        let parsed = match parsed {
            Ok(b) => b,
            Err(e) => return unreadable_client_body(e),
        };
        let rev = match meta.protocol_version.as_deref() {
            Some(v) => match Revision::parse_header(v) {
                Ok(r) => r,
                Err(e) => return reply(400, e.to_jsonrpc_response(None), "invalid"),
            },
            None => Revision::DEFAULT_WITHOUT_HEADER,
        };
        if let Err(e) = mcp::check_batch_allowed(parsed.is_batch(), rev) {
            return reply(e.http_status(), e.to_jsonrpc_response(None), "invalid");
        }
        let header = |n: &str| meta.headers.get(n).and_then(|v| v.to_str().ok());
        let (h_method, h_name) = (header("mcp-method"), header("mcp-name"));
        // The answer owed for each message when something is denied: its denial, or None.
        let mut denials: Vec<Option<(u16, String)>> = Vec::with_capacity(parsed.messages().len());
        for msg in parsed.messages() {
            if let Err(e) = mcp::check_mirrored_headers(msg, h_method, h_name, rev) {
                let id = msg.id().map(|i| i.json().into_owned());
                return reply(
                    e.http_status(),
                    e.to_jsonrpc_response(id.as_deref()),
                    "invalid",
                );
            }
            denials.push(match self.engine.check(msg, ctx) {
                Decision::Deny(d) => Some((d.http_status(), d.jsonrpc_response())),
                Decision::Allow(..) => None,
            });
        }
        if denials.iter().all(Option::is_none) {
            return ClientVerdict::Forward(body.clone());
        }
        if !parsed.is_batch() {
            let (status, body) = denials
                .into_iter()
                .flatten()
                .next()
                .unwrap_or((403, String::new()));
            return reply(status, body, "deny");
        }
        // One denied message refuses the whole batch: a partial forward would leave the
        // client waiting for answers that never come.
        let mut all = Vec::new();
        for (msg, denial) in parsed.messages().iter().zip(denials) {
            match denial {
                Some((_, b)) => all.push(b),
                None if msg.kind() == MessageKind::Request => {
                    let id = msg.id().map(|i| i.json().into_owned());
                    let e = super::guard::jsonrpc_error(
                        id.as_deref(),
                        -32600,
                        "batch refused: another message in it was denied by policy",
                    );
                    all.push(String::from_utf8_lossy(&e).into_owned());
                }
                None => {}
            }
        }
        reply(200, format!("[{}]", all.join(",")), "deny")
    }

    fn list_answer(
        &self,
        data: &[u8],
        ctx: &Context<'_>,
        request: &Message<'_>,
    ) -> Option<(ServerVerdict, MessageKind)> {
        // The engine's one-pass parse and filter: the generic path would parse the body, then
        // the filter would parse it again to find the items. A server request is judged there.
        let (kind, filtered) = self.engine.filter_body(Some(request), data, ctx).ok()?;
        if kind == MessageKind::Request {
            return None;
        }
        let verdict = match filtered.rewrite {
            Rewrite::Unchanged => ServerVerdict::Pass,
            Rewrite::Replaced(text) => ServerVerdict::Replace(Bytes::from(text)),
            Rewrite::Dropped => ServerVerdict::Drop,
        };
        Some((verdict, kind))
    }

    fn server_body(
        &self,
        _data: &[u8],
        parsed: &Parsed<'_>,
        _meta: &RequestMeta,
        ctx: &Context<'_>,
        answering: Option<&Body<'_>>,
    ) -> ServerVerdict {
        // `Body`: a batch is a legal answer to a 2025-03-26 batch request.
        let body = match parsed {
            Ok(b) => b,
            Err(e) => return ServerVerdict::Invalid(e.to_string()),
        };
        let request_for = |msg: &Message<'_>| {
            let requests = answering?.messages();
            if requests.len() == 1 {
                return requests.first();
            }
            let key = msg.id().map(|i| id_key(&i))?;
            requests
                .iter()
                .find(|r| r.id().is_some_and(|i| id_key(&i) == key))
        };
        if !body.is_batch() {
            let msg = &body.messages()[0];
            return self.judge_server(msg, request_for(msg), ctx);
        }
        // A batch answer: judge each message; the batch changes only if one of them does.
        let mut changed = false;
        let mut kept: Vec<String> = Vec::with_capacity(body.messages().len());
        for msg in body.messages() {
            match self.judge_server(msg, request_for(msg), ctx) {
                ServerVerdict::Pass => kept.push(msg.text().to_owned()),
                ServerVerdict::Replace(b) => {
                    changed = true;
                    kept.push(String::from_utf8_lossy(&b).into_owned());
                }
                ServerVerdict::Drop
                    if matches!(
                        msg.kind(),
                        MessageKind::Response | MessageKind::ErrorResponse
                    ) =>
                {
                    // The client waits for this answer: withholding it must not hang the call.
                    changed = true;
                    let id = msg.id().map(|i| i.json().into_owned());
                    let e =
                        jsonrpc_error(id.as_deref(), -32603, "Response withheld by the gateway");
                    kept.push(String::from_utf8_lossy(&e).into_owned());
                }
                // A denied server request inside a batch cannot be answered on its own (one
                // verdict per body); it is withheld like a notification. Batches exist only in
                // 2025-03-26, whose servers do not batch their requests in practice.
                ServerVerdict::Drop | ServerVerdict::Refuse(_) | ServerVerdict::Invalid(_) => {
                    changed = true;
                }
            }
        }
        match (changed, kept.is_empty()) {
            (false, _) => ServerVerdict::Pass,
            (true, true) => ServerVerdict::Drop,
            (true, false) => ServerVerdict::Replace(Bytes::from(format!("[{}]", kept.join(",")))),
        }
    }
}

impl PolicyGuard {
    /// One server→client message: requests are checked (a denied one is refused back to the
    /// server), everything else is filtered against the request it answers.
    fn judge_server(
        &self,
        msg: &Message<'_>,
        request: Option<&Message<'_>>,
        ctx: &Context<'_>,
    ) -> ServerVerdict {
        if msg.kind() == MessageKind::Request {
            return match self.engine.check(msg, ctx) {
                Decision::Allow(..) => ServerVerdict::Pass,
                Decision::Deny(d) => ServerVerdict::Refuse(Bytes::from(d.jsonrpc_response())),
            };
        }
        match self.engine.filter_message(msg, request, ctx).rewrite {
            Rewrite::Unchanged => ServerVerdict::Pass,
            Rewrite::Replaced(text) => ServerVerdict::Replace(Bytes::from(text)),
            Rewrite::Dropped => ServerVerdict::Drop,
        }
    }
}
