//! Rewriting server→client messages: list results keep only granted items (byte-for-byte),
//! results lose links to resources the caller may not read, and resource notifications for
//! hidden URIs are dropped (ARCHITECTURE.md §2.1 "Consistency").
//!
//! Kept items are never re-serialized: the output is the input with whole array elements cut
//! out, so every kept item is byte-identical to what the server sent.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

use serde::Serialize;

use super::compile::Engine;
use super::decide::{CondLog, Verdict, mcp_vars};
use super::model::{AclMethod, LinkMode, PathMode};
use crate::context::Context;
use crate::error::{Error, ErrorKind};
use crate::expr::Env;
use crate::jsonrpc::{Kind, ListScan, Message, MessageKind, RawValue};
use crate::mcp::Method;

/// JSON-RPC code of "URL elicitation required" (MCP 2025-11-25).
const URL_ELICITATION_REQUIRED: i64 = -32042;

/// What happens to a server→client message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rewrite {
    /// Forward it as it is.
    Unchanged,
    /// Forward this text instead.
    Replaced(String),
    /// Do not forward it.
    Dropped,
}

/// An item removed from a result, for the audit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HiddenItem {
    /// Its name, URI or template (or `""` when it had none).
    pub subject: String,
    /// Why it was removed.
    pub reason: &'static str,
}

/// The outcome of filtering one server→client message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filtered {
    /// What to forward.
    pub rewrite: Rewrite,
    /// What was removed, and why.
    pub hidden: Vec<HiddenItem>,
}

impl Filtered {
    fn unchanged() -> Self {
        Self {
            rewrite: Rewrite::Unchanged,
            hidden: Vec::new(),
        }
    }

    /// The result of [`cut_array`]: the text without the cut elements, or unchanged when
    /// nothing was cut (or the array was not found: nothing was cut from it).
    fn cut(rewritten: Option<String>, hidden: Vec<HiddenItem>) -> Self {
        match rewritten {
            Some(text) => Self {
                rewrite: Rewrite::Replaced(text),
                hidden,
            },
            None => Self::unchanged(),
        }
    }

    /// `text` with `edits` applied ([`apply_edits`]); dropped if they cannot be (never for
    /// spans of the text itself; fail closed all the same).
    fn edited(
        text: &str,
        edits: Vec<(core::ops::Range<usize>, String)>,
        hidden: Vec<HiddenItem>,
    ) -> Self {
        if edits.is_empty() {
            return Self::unchanged();
        }
        let rewrite = match apply_edits(text, edits) {
            Some(t) => Rewrite::Replaced(t),
            None => Rewrite::Dropped,
        };
        Self { rewrite, hidden }
    }

    /// The bytes to forward in place of `original`, or `None` to forward nothing.
    pub fn apply<'a>(&'a self, original: &'a [u8]) -> Option<&'a [u8]> {
        match &self.rewrite {
            Rewrite::Unchanged => Some(original),
            Rewrite::Replaced(s) => Some(s.as_bytes()),
            Rewrite::Dropped => None,
        }
    }
}

/// The array of a list result, and the member naming each item.
fn list_shape(m: Method) -> Option<(AclMethod, &'static str, &'static str)> {
    Some(match m {
        Method::ToolsList => (AclMethod::ToolsList, "tools", "name"),
        Method::PromptsList => (AclMethod::PromptsList, "prompts", "name"),
        Method::ResourcesList => (AclMethod::ResourcesList, "resources", "uri"),
        Method::ResourcesTemplatesList => (
            AclMethod::ResourcesTemplatesList,
            "resourceTemplates",
            "uriTemplate",
        ),
        _ => return None,
    })
}

/// Rebuilds `text` without the elements of `array` for which `keep` is false. `None` when
/// every element is kept.
pub(crate) fn cut_array(
    text: &str,
    array: RawValue<'_>,
    mut keep: impl FnMut(RawValue<'_>) -> bool,
) -> Option<String> {
    let start = array.offset_in(text)?;
    let end = start + array.as_text().len();
    let mut kept: Vec<Cow<'_, str>> = Vec::new();
    let mut removed = false;
    for el in array.elements() {
        if keep(el) {
            kept.push(Cow::Borrowed(el.as_text()));
        } else {
            removed = true;
        }
    }
    if !removed {
        return None;
    }
    splice_array(text, start..end, &kept)
}

/// The span of `array` in `text` and its text without the elements for which `keep` is
/// false; `None` when every element is kept. For several disjoint arrays of one message,
/// cut at once with [`apply_edits`].
fn rebuild_array(
    text: &str,
    array: RawValue<'_>,
    mut keep: impl FnMut(RawValue<'_>) -> bool,
) -> Option<(core::ops::Range<usize>, String)> {
    let start = array.offset_in(text)?;
    let mut out = String::from("[");
    let mut removed = false;
    for el in array.elements() {
        if keep(el) {
            if out.len() > 1 {
                out.push(',');
            }
            out.push_str(el.as_text());
        } else {
            removed = true;
        }
    }
    out.push(']');
    removed.then_some((start..start + array.as_text().len(), out))
}

/// `text` with each span replaced (spans disjoint). `None` when a span does not fit.
fn apply_edits(text: &str, mut edits: Vec<(core::ops::Range<usize>, String)>) -> Option<String> {
    edits.sort_by_key(|(r, _)| core::cmp::Reverse(r.start));
    let mut out = String::from(text);
    let mut limit = text.len();
    for (r, with) in edits {
        if r.end > limit {
            return None; // overlapping edits: never produced, refused all the same
        }
        out.get(r.clone())?;
        limit = r.start;
        out.replace_range(r, &with);
    }
    Some(out)
}

/// `text` with the array at `span` replaced by one holding `kept` (element texts copied byte
/// for byte). `None` when `span` is not on character boundaries of `text`.
fn splice_array(
    text: &str,
    span: core::ops::Range<usize>,
    kept: &[Cow<'_, str>],
) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    out.push_str(text.get(..span.start)?);
    out.push('[');
    for (i, k) in kept.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(k);
    }
    out.push(']');
    out.push_str(text.get(span.end..)?);
    Some(out)
}

/// `obj` (an object) rebuilt member by member when `f` changes it: for each member `f` gives
/// `None` to drop it, `Some(None)` to keep it as it is, `Some(Some(text))` to keep its key with
/// this value. Keys are copied as written; `None` when nothing changes (also for a
/// non-object). Rebuilding the whole object, rather than cutting members out of its text,
/// keeps the commas right whichever members go.
fn rebuild_object(
    obj: RawValue<'_>,
    mut f: impl FnMut(crate::jsonrpc::JsonStr<'_>, RawValue<'_>) -> Option<Option<String>>,
) -> Option<String> {
    if obj.kind() != Kind::Object {
        return None;
    }
    let mut out = String::from("{");
    let mut changed = false;
    for (k, v) in obj.members() {
        let value = match f(k, v) {
            None => {
                changed = true;
                continue;
            }
            Some(None) => Cow::Borrowed(v.as_text()),
            Some(Some(t)) => {
                changed = true;
                Cow::Owned(t)
            }
        };
        if out.len() > 1 {
            out.push(',');
        }
        out.push('"');
        out.push_str(k.raw());
        out.push_str("\":");
        out.push_str(&value);
    }
    out.push('}');
    changed.then_some(out)
}

/// `text` with its list `array` cut down to `kept` (when `cut`) and its `cacheScope` value
/// `scope` replaced by `"private"`.
fn mark_private(
    text: &str,
    array: RawValue<'_>,
    kept: &[Cow<'_, str>],
    scope: RawValue<'_>,
    cut: bool,
) -> Option<String> {
    let a = array.offset_in(text)?;
    let a = a..a + array.as_text().len();
    let c = scope.offset_in(text)?;
    let c = c..c + scope.as_text().len();
    let mut out = if cut {
        splice_array(text, a.clone(), kept)?
    } else {
        String::from(text)
    };
    // The two are members of one object, so they never overlap; a cut before the scope moves it.
    let c = if cut && c.start >= a.end {
        let grown = out.len() as isize - text.len() as isize;
        c.start.checked_add_signed(grown)?..c.end.checked_add_signed(grown)?
    } else {
        c
    };
    out.get(c.clone())?;
    out.replace_range(c, "\"private\"");
    Some(out)
}

impl Engine {
    /// An answer that asks the client for input (`inputRequests`: sampling, elicitation,
    /// roots) carries server-to-client requests inside a result: each is judged as the request
    /// it wraps, as if the server had sent it on its own. One refused (or unreadable) entry
    /// makes the whole answer an error for the client's request: dropping only that entry
    /// would leave the server waiting for a response it never gets, and editing the map
    /// would not match the opaque `requestState` the server sent with it.
    fn filter_input_requests(
        &self,
        msg: &Message<'_>,
        requests: RawValue<'_>,
        ctx: &Context<'_>,
    ) -> Filtered {
        let refuse = |why: String, code: i32, message: &str, data: Option<String>| {
            let id = msg.id().map(|i| i.json());
            Filtered {
                rewrite: Rewrite::Replaced(crate::jsonrpc::error_response(
                    id.as_deref(),
                    code,
                    message,
                    data.as_deref(),
                )),
                hidden: alloc::vec![HiddenItem {
                    subject: why,
                    reason: "input request the caller may not receive",
                }],
            }
        };
        if requests.kind() != Kind::Object {
            return refuse(
                String::from("`inputRequests` is not an object"),
                -32603,
                "Response withheld by the gateway",
                None,
            );
        }
        for (key, entry) in requests.members() {
            let key = key.decode();
            let Some(text) = wrapped_request(entry) else {
                return refuse(
                    alloc::format!(
                        "inputRequests[{key}] is not one request with a string `method`"
                    ),
                    -32603,
                    "Response withheld by the gateway",
                    None,
                );
            };
            let verdict = match Message::parse(text.as_bytes(), &self.limits) {
                Ok(inner) => match self.check(&inner, ctx) {
                    super::decide::Decision::Allow(..) => None,
                    super::decide::Decision::Deny(d) => Some((
                        alloc::format!(
                            "inputRequests[{key}]: {} refused: {}",
                            inner.method().unwrap_or(""),
                            d.reason
                        ),
                        d.jsonrpc_error(),
                    )),
                },
                Err(e) => {
                    return refuse(
                        alloc::format!("inputRequests[{key}] cannot be read: {e}"),
                        -32603,
                        "Response withheld by the gateway",
                        None,
                    );
                }
            };
            if let Some((why, e)) = verdict {
                // The policy's own answer: in `forbid` and `http` modes it carries the reason.
                let data = e.data.as_ref().and_then(|d| serde_json::to_string(d).ok());
                return refuse(why, e.code, &e.message, data);
            }
        }
        // Every request may be asked; a sampling one loses what the caller may not see.
        let mut hidden = Vec::new();
        let mut edits = Vec::new();
        for (_, entry) in requests.members() {
            let is_sampling = entry
                .get("method")
                .and_then(|m| m.as_json_str())
                .is_some_and(|m| m.eq_str("sampling/createMessage"));
            if let (true, Some(params)) = (is_sampling, entry.get("params")) {
                let env = Env {
                    context: ctx,
                    mcp: None,
                };
                edits.extend(self.sampling_edits(msg.text(), params, &env, &mut hidden));
            }
        }
        Filtered::edited(msg.text(), edits, hidden)
    }

    /// A `-32042` error (URL elicitation required, 2025-11-25) carries elicitation requests in
    /// `data.elicitations`: each is judged as the `elicitation/create` it stands for, and a
    /// refused one is cut, so a policy that refuses elicitation cannot be bypassed by sending
    /// it as an error.
    pub(crate) fn filter_error(&self, msg: &Message<'_>, ctx: &Context<'_>) -> Filtered {
        if !msg.text().contains("32042") {
            return Filtered::unchanged();
        }
        let Some(error) = msg.error() else {
            return Filtered::unchanged();
        };
        if error.get("code").and_then(|c| c.as_i64()) != Some(URL_ELICITATION_REQUIRED) {
            return Filtered::unchanged();
        }
        let Some(list) = error
            .get("data")
            .and_then(|d| d.get("elicitations"))
            .filter(|l| l.kind() == Kind::Array)
        else {
            return Filtered::unchanged();
        };
        let mut hidden = Vec::new();
        let rewritten = cut_array(msg.text(), list, |entry| {
            let mut text = String::from(
                "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"elicitation/create\",\"params\":",
            );
            text.push_str(entry.as_text());
            text.push('}');
            let refused = match Message::parse(text.as_bytes(), &self.limits) {
                Ok(inner) => match self.check(&inner, ctx) {
                    super::decide::Decision::Allow(..) => None,
                    super::decide::Decision::Deny(d) => Some(alloc::format!("{}", d.reason)),
                },
                Err(e) => Some(alloc::format!("unreadable elicitation: {e}")),
            };
            match refused {
                None => true,
                Some(why) => {
                    let url = entry.get("url").and_then(|u| u.as_str());
                    hidden.push(HiddenItem {
                        subject: url.map(|u| u.into_owned()).unwrap_or(why),
                        reason: "URL elicitation the caller may not receive",
                    });
                    false
                }
            }
        });
        Filtered::cut(rewritten, hidden)
    }

    /// Filters a server→client message.
    ///
    /// `request` is the client request a response answers (the host tracks it by id; see
    /// [`crate::exchange`], which keeps them per session); without it a response passes untouched, since its
    /// shape cannot be known. Server→client *requests* are judged with [`Engine::check`].
    pub fn filter_message(
        &self,
        msg: &Message<'_>,
        request: Option<&Message<'_>>,
        ctx: &Context<'_>,
    ) -> Filtered {
        match msg.kind() {
            MessageKind::Notification => self.filter_notification(msg, ctx),
            MessageKind::Response => match request {
                Some(req) => self.filter_result(msg, req, ctx),
                None => Filtered::unchanged(),
            },
            MessageKind::ErrorResponse => self.filter_error(msg, ctx),
            MessageKind::Request => Filtered::unchanged(),
        }
    }

    /// Parses `body` (one JSON-RPC message) and filters it. Unparseable input is an error:
    /// the host must not forward it (invariant 2). A list result is parsed and filtered in one
    /// pass over the body.
    pub fn filter_response(
        &self,
        request: &Message<'_>,
        body: &[u8],
        ctx: &Context<'_>,
    ) -> Result<Filtered, Error> {
        let (kind, filtered) = self.filter_body(Some(request), body, ctx)?;
        if kind == MessageKind::Request {
            return Err(Error::new(
                ErrorKind::InvalidRequest,
                "a server request where a response or notification was expected; judge it with check",
            ));
        }
        Ok(filtered)
    }

    /// Parses and filters one server→client message, answering `request` when given, and says
    /// what kind of message it was: hosts that log an error response's code read it only when
    /// the kind says there is one, instead of parsing every answer again. Requests pass (judge
    /// them with [`Engine::check`]).
    pub fn filter_body(
        &self,
        request: Option<&Message<'_>>,
        body: &[u8],
        ctx: &Context<'_>,
    ) -> Result<(MessageKind, Filtered), Error> {
        let shape = request
            .and_then(|r| r.method())
            .and_then(Method::from_name)
            .and_then(list_shape);
        let Some((acl, key, id_key)) = shape else {
            let msg = Message::parse(body, &self.limits)?;
            return Ok((msg.kind(), self.filter_message(&msg, request, ctx)));
        };
        let mut list = ListScan::new(key, id_key);
        let msg = Message::parse_list(body, &self.limits, &mut list)?;
        let filtered = match (msg.kind(), request) {
            (MessageKind::Response, Some(req)) => {
                self.filter_list(&msg, Some(req), acl, &list, ctx)
            }
            _ => self.filter_message(&msg, request, ctx),
        };
        Ok((msg.kind(), filtered))
    }

    /// Parses one server message expected to answer a list request (its method, and its JSON
    /// text, kept by a host while the answer was awaited) and filters it in the same pass,
    /// returning the parsed message so the caller can check that it does answer that request
    /// (by id) before using the result. Anything but a response is returned with
    /// [`Filtered::unchanged`]. `None` when `method` is not a list. The request is parsed only
    /// if a condition could read it (`#mcp`).
    pub(crate) fn filter_list_answer<'b>(
        &self,
        method: Method,
        request_text: &str,
        body: &'b [u8],
        ctx: &Context<'_>,
    ) -> Option<Result<(Message<'b>, Filtered), Error>> {
        let (acl, key, id_key) = list_shape(method)?;
        let mut list = ListScan::new(key, id_key);
        Some(
            Message::parse_list(body, &self.limits, &mut list).map(|msg| {
                let filtered = if msg.kind() != MessageKind::Response {
                    Filtered::unchanged()
                } else if self.has_conditions {
                    match Message::parse(request_text.as_bytes(), &self.limits) {
                        Ok(req) => self.filter_list(&msg, Some(&req), acl, &list, ctx),
                        // The host parsed this text before forwarding it; fail closed.
                        Err(_) => Filtered {
                            rewrite: Rewrite::Dropped,
                            hidden: Vec::new(),
                        },
                    }
                } else {
                    self.filter_list(&msg, None, acl, &list, ctx)
                };
                (msg, filtered)
            }),
        )
    }

    /// Filters a response to a request known only by its method and JSON text (kept by a host
    /// while the answer was awaited). The request is parsed only when the filter needs it: for
    /// a list, or for a result that links to a resource (conditions may read `#mcp`).
    pub(crate) fn filter_answer(
        &self,
        msg: &Message<'_>,
        method: Option<Method>,
        request_text: &str,
        ctx: &Context<'_>,
    ) -> Filtered {
        let Some(method) = method else {
            return Filtered::unchanged();
        };
        let needs_request = list_shape(method).is_some()
            || (self.links != LinkMode::Keep && result_links(msg, method))
            || input_requests(msg).is_some();
        if !needs_request {
            return Filtered::unchanged();
        }
        match Message::parse(request_text.as_bytes(), &self.limits) {
            Ok(req) => self.filter_result(msg, &req, ctx),
            // The host parsed this text before forwarding it; fail closed all the same.
            Err(_) => Filtered {
                rewrite: Rewrite::Dropped,
                hidden: Vec::new(),
            },
        }
    }

    /// Keeps the granted items of a list scanned by [`Message::parse_list`], copying each kept
    /// item's bytes as they came.
    fn filter_list(
        &self,
        msg: &Message<'_>,
        req: Option<&Message<'_>>,
        acl: AclMethod,
        list: &ListScan<'_>,
        ctx: &Context<'_>,
    ) -> Filtered {
        let Some(array) = list.array else {
            return Filtered::unchanged();
        };
        let env = Env {
            context: ctx,
            mcp: req.map(mcp_vars),
        };
        let mut log = CondLog::default();
        let mut hidden = Vec::new();
        let mut kept: Vec<Cow<'_, str>> = Vec::with_capacity(list.items.len());
        // MCP Apps: a tool may name, in its `_meta`, the `ui://` resource that renders it.
        let apps = acl == AclMethod::ToolsList;
        let mut stripped = false;
        for item in &list.items {
            let verdict = match item.identity {
                Ok(name) => {
                    let name = name.decode();
                    if name.chars().any(char::is_control) {
                        Err((name.into_owned(), "identity holds a control character"))
                    } else if matches!(self.judge(acl, &name, &env, &mut log), Verdict::Allowed(_))
                    {
                        Ok(())
                    } else {
                        Err((name.into_owned(), "not granted"))
                    }
                }
                Err(why) => Err((String::new(), why)),
            };
            match verdict {
                Ok(()) => match (apps && item.has_meta)
                    .then(|| self.strip_hidden_ui(item.text, &env, &mut hidden))
                    .flatten()
                {
                    Some(t) => {
                        stripped = true;
                        kept.push(Cow::Owned(t));
                    }
                    None => kept.push(Cow::Borrowed(item.text)),
                },
                Err((subject, reason)) => hidden.push(HiddenItem { subject, reason }),
            }
        }
        // What a caller sees of a list depends on who asks, so a shared cache must not serve
        // it to anybody else, whether or not this caller lost items (2026-07-28 caching:
        // "public" results "may be shared outside of the initial request's authorization
        // context").
        let public = list
            .cache_scope
            .filter(|v| v.as_json_str().is_some_and(|s| !s.eq_str("private")));
        let cut = !hidden.is_empty() || stripped;
        if !cut && public.is_none() {
            return Filtered::unchanged();
        }
        let text = msg.text();
        let rewritten = match public {
            None => array
                .offset_in(text)
                .and_then(|start| splice_array(text, start..start + array.as_text().len(), &kept)),
            Some(scope) => mark_private(text, array, &kept, scope, cut),
        };
        match rewritten {
            Some(text) => Filtered {
                rewrite: Rewrite::Replaced(text),
                hidden,
            },
            // Cannot happen for a span of the message itself; fail closed all the same.
            None => Filtered {
                rewrite: Rewrite::Dropped,
                hidden,
            },
        }
    }

    fn filter_notification(&self, msg: &Message<'_>, ctx: &Context<'_>) -> Filtered {
        if msg.method() == Some("notifications/subscriptions/acknowledged") {
            return self.filter_acknowledgement(msg, ctx);
        }
        if msg.method() != Some("notifications/resources/updated") {
            return Filtered::unchanged();
        }
        let env = Env {
            context: ctx,
            mcp: Some(mcp_vars(msg)),
        };
        let uri = msg.uri().unwrap_or("");
        if self.resource_readable(uri, &env) {
            return Filtered::unchanged();
        }
        Filtered {
            rewrite: Rewrite::Dropped,
            hidden: alloc::vec![HiddenItem {
                subject: String::from(uri),
                reason: "update for a resource the caller may not read"
            }],
        }
    }

    /// A tool list item without its MCP Apps links (`_meta.ui.resourceUri`, and the older
    /// `_meta["ui/resourceUri"]`) to `ui://` resources the caller may not read: the tool stays,
    /// its hidden interface does not. Every occurrence is judged (repeated members included: a
    /// client reads the last). `None` when nothing is cut.
    fn strip_hidden_ui(
        &self,
        item: &str,
        env: &Env<'_>,
        hidden: &mut Vec<HiddenItem>,
    ) -> Option<String> {
        let v = RawValue::parse_with(item, &self.limits).ok()?;
        let mut judge = |uri: RawValue<'_>| -> bool {
            let uri = uri.as_str();
            let readable = uri
                .as_deref()
                .is_some_and(|u| self.resource_readable(u, env));
            if !readable {
                hidden.push(HiddenItem {
                    subject: uri.map(Cow::into_owned).unwrap_or_default(),
                    reason: "app interface the caller may not read",
                });
            }
            readable
        };
        let mut edits = Vec::new();
        for (k, meta) in v.members() {
            if !k.eq_str("_meta") {
                continue;
            }
            let rebuilt = rebuild_object(meta, |k, value| {
                if k.eq_str("ui/resourceUri") {
                    return judge(value).then_some(None);
                }
                if k.eq_str("ui") {
                    let ui = rebuild_object(value, |k, uri| {
                        if k.eq_str("resourceUri") {
                            judge(uri).then_some(None)
                        } else {
                            Some(None)
                        }
                    });
                    return Some(ui);
                }
                Some(None)
            });
            if let (Some(text), Some(at)) = (rebuilt, meta.offset_in(item)) {
                edits.push((at..at + meta.as_text().len(), text));
            }
        }
        if edits.is_empty() {
            return None;
        }
        apply_edits(item, edits)
    }

    /// What to cut from the `params` of a sampling request the policy lets through
    /// (`sampling/createMessage`, sent on its own or inside `inputRequests`): tools offered to
    /// the client's model that the caller may not see (`params.tools`, 2025-11-25 sampling
    /// with tools, judged by `TOOLS_LIST`), and messages that link to or embed a resource the
    /// caller may not read. Edits of `text`, for [`apply_edits`].
    fn sampling_edits(
        &self,
        text: &str,
        params: RawValue<'_>,
        env: &Env<'_>,
        hidden: &mut Vec<HiddenItem>,
    ) -> Vec<(core::ops::Range<usize>, String)> {
        let mut edits = Vec::new();
        let mut log = CondLog::default();
        if let Some(tools) = params.get("tools").filter(|t| t.kind() == Kind::Array) {
            let cut = rebuild_array(text, tools, |tool| {
                let name = tool.get("name").and_then(|n| n.as_str());
                let visible = name.as_deref().is_some_and(|n| {
                    matches!(
                        self.judge(AclMethod::ToolsList, n, env, &mut log),
                        Verdict::Allowed(_)
                    )
                });
                if !visible {
                    hidden.push(HiddenItem {
                        subject: name.map(Cow::into_owned).unwrap_or_default(),
                        reason: "sampling tool the caller may not see",
                    });
                }
                visible
            });
            edits.extend(cut);
        }
        if self.links != LinkMode::Keep
            && let Some(messages) = params.get("messages").filter(|m| m.kind() == Kind::Array)
        {
            let cut = rebuild_array(text, messages, |m| {
                let content = m.get("content");
                let blocks: Vec<RawValue<'_>> = match content {
                    Some(c) if c.kind() == Kind::Array => c.elements().collect(),
                    Some(c) => alloc::vec![c],
                    None => Vec::new(),
                };
                for block in blocks {
                    if let Some(uri) = linked_uri(block)
                        && !self.resource_readable(&uri, env)
                    {
                        hidden.push(HiddenItem {
                            subject: uri.into_owned(),
                            reason: "sampling message linking a resource the caller may not read",
                        });
                        return false;
                    }
                }
                true
            });
            edits.extend(cut);
        }
        edits
    }

    /// A server-to-client `sampling/createMessage` the policy allowed, without the tools and
    /// messages the caller may not see ([`Engine::sampling_edits`]).
    pub(crate) fn filter_sampling(&self, msg: &Message<'_>, ctx: &Context<'_>) -> Filtered {
        let Some(params) = msg.params() else {
            return Filtered::unchanged();
        };
        if msg.method() != Some("sampling/createMessage") {
            return Filtered::unchanged();
        }
        let env = Env {
            context: ctx,
            mcp: Some(mcp_vars(msg)),
        };
        let mut hidden = Vec::new();
        let edits = self.sampling_edits(msg.text(), params, &env, &mut hidden);
        Filtered::edited(msg.text(), edits, hidden)
    }

    /// The acknowledgement of a `subscriptions/listen` (2026-07-28) lists the resources the
    /// server will report on: those the caller may not read are cut, whatever the server
    /// agreed to (their updates are dropped too).
    fn filter_acknowledgement(&self, msg: &Message<'_>, ctx: &Context<'_>) -> Filtered {
        if self.subscriptions == PathMode::Pass {
            return Filtered::unchanged();
        }
        let Some(list) = msg
            .params()
            .and_then(|p| p.get("notifications"))
            .and_then(|n| n.get("resourceSubscriptions"))
            .filter(|l| l.kind() == Kind::Array)
        else {
            return Filtered::unchanged();
        };
        let env = Env {
            context: ctx,
            mcp: Some(mcp_vars(msg)),
        };
        let mut hidden = Vec::new();
        let rewritten = cut_array(msg.text(), list, |el| match el.as_str() {
            Some(uri) if self.resource_readable(&uri, &env) => true,
            other => {
                hidden.push(HiddenItem {
                    subject: other.map(|u| u.into_owned()).unwrap_or_default(),
                    reason: "subscription to a resource the caller may not read",
                });
                false
            }
        });
        Filtered::cut(rewritten, hidden)
    }

    /// A URI is readable when RESOURCES_READ or RESOURCES_SUBSCRIBE grants it.
    fn resource_readable(&self, uri: &str, env: &Env<'_>) -> bool {
        let mut log = CondLog::default();
        matches!(
            self.judge(AclMethod::ResourcesRead, uri, env, &mut log),
            Verdict::Allowed(_)
        ) || matches!(
            self.judge(AclMethod::ResourcesSubscribe, uri, env, &mut log),
            Verdict::Allowed(_)
        )
    }

    fn filter_result(&self, msg: &Message<'_>, req: &Message<'_>, ctx: &Context<'_>) -> Filtered {
        let Some(result) = msg.result() else {
            return Filtered::unchanged();
        };
        let Some(method) = req.method().and_then(Method::from_name) else {
            return Filtered::unchanged();
        };
        let env = Env {
            context: ctx,
            mcp: Some(mcp_vars(req)),
        };
        if list_shape(method).is_some() {
            // Parsed generically already; the list pass reads it again, once.
            return match self.filter_body(Some(req), msg.text().as_bytes(), ctx) {
                Ok((_, f)) => f,
                Err(_) => Filtered {
                    rewrite: Rewrite::Dropped,
                    hidden: Vec::new(),
                },
            };
        }
        if let Some(requests) = input_requests(msg) {
            return self.filter_input_requests(msg, requests, ctx);
        }
        if self.links == LinkMode::Keep {
            return Filtered::unchanged();
        }
        let Some((array, shape)) = linking_array(result, method) else {
            return Filtered::unchanged();
        };
        let mut hidden = Vec::new();
        let rewritten = cut_array(msg.text(), array, |item| match shape.uri(item) {
            Some(uri) if !self.resource_readable(&uri, &env) => {
                hidden.push(HiddenItem {
                    subject: uri.into_owned(),
                    reason: shape.reason(),
                });
                false
            }
            _ => true,
        });
        Filtered::cut(rewritten, hidden)
    }
}

/// `result.inputRequests` of an answer that asks the client for input before it can finish
/// (2026-07-28 `InputRequiredResult`, and task results that carry the same map).
fn input_requests<'a>(msg: &Message<'a>) -> Option<RawValue<'a>> {
    if !msg.text().contains("inputRequests") && !msg.text().contains("\\u") {
        return None;
    }
    msg.result()?.get("inputRequests")
}

/// The request an `inputRequests` entry wraps (`{"method", "params"}`), as a JSON-RPC request
/// text the engine can judge. `None` when the entry is not an object with exactly one string
/// `method` and at most one `params`: a client could read such an entry another way.
fn wrapped_request(entry: RawValue<'_>) -> Option<String> {
    if entry.kind() != Kind::Object {
        return None;
    }
    let (mut method, mut params) = (None, None);
    for (k, v) in entry.members() {
        let slot = if k.eq_str("method") {
            &mut method
        } else if k.eq_str("params") {
            &mut params
        } else {
            continue;
        };
        if slot.replace(v).is_some() {
            return None;
        }
    }
    let method = method.filter(|m| m.kind() == Kind::String)?;
    let mut text = String::from("{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":");
    text.push_str(method.as_text());
    if let Some(p) = params {
        text.push_str(",\"params\":");
        text.push_str(p.as_text());
    }
    text.push('}');
    Some(text)
}

/// Where a result keeps items that name resources.
#[derive(Clone, Copy)]
enum Linking {
    /// Content blocks (tool results, also via `tasks/result`): a `resource_link` or an
    /// embedded `resource`.
    Content,
    /// Prompt messages, each with one content block.
    Messages,
    /// `resources/read` contents: each names its own URI, and a server may return
    /// sub-resources beside the one asked for.
    Contents,
}

impl Linking {
    fn uri<'a>(self, item: RawValue<'a>) -> Option<alloc::borrow::Cow<'a, str>> {
        match self {
            Self::Content => linked_uri(item),
            Self::Messages => item.get("content").and_then(linked_uri),
            Self::Contents => item.get("uri")?.as_str(),
        }
    }

    fn reason(self) -> &'static str {
        match self {
            Self::Contents => "contents of a resource the caller may not read",
            _ => "link to a resource the caller may not read",
        }
    }
}

/// The array of a result of `method` whose items may name resources.
fn linking_array<'a>(result: RawValue<'a>, method: Method) -> Option<(RawValue<'a>, Linking)> {
    // A task's details (2026-07-28 tasks extension) carry the call's result once done.
    let result = match method {
        Method::TasksGet => result.get("result")?,
        _ => result,
    };
    let (key, shape) = match method {
        Method::ToolsCall | Method::TasksResult | Method::TasksGet => ("content", Linking::Content),
        Method::PromptsGet => ("messages", Linking::Messages),
        Method::ResourcesRead => ("contents", Linking::Contents),
        _ => return None,
    };
    let array = result.get(key).filter(|a| a.kind() == Kind::Array)?;
    Some((array, shape))
}

/// Whether a result of `method` holds an item that names a resource.
fn result_links(msg: &Message<'_>, method: Method) -> bool {
    // A link's type is `resource_link` or `resource`, written plainly or with escapes, and
    // read contents carry `uri`: an answer with none of these words nor an escape holds no
    // link, whatever its structure.
    let text = msg.text();
    if !text.contains("resource") && !text.contains("uri") && !text.contains("\\u") {
        return false;
    }
    let Some(result) = msg.result() else {
        return false;
    };
    let Some((array, shape)) = linking_array(result, method) else {
        return false;
    };
    array.elements().any(|item| shape.uri(item).is_some())
}

/// The URI a content block points at: `resource_link.uri` or embedded `resource.resource.uri`.
fn linked_uri(content: RawValue<'_>) -> Option<alloc::borrow::Cow<'_, str>> {
    let ty = content.get("type")?.as_str()?;
    match ty.as_ref() {
        "resource_link" => content.get("uri")?.as_str(),
        "resource" => content.get("resource")?.get("uri")?.as_str(),
        _ => None,
    }
}
