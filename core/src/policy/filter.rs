//! Rewriting server→client messages: list results keep only granted items (byte-for-byte),
//! results lose links to resources the caller may not read, and resource notifications for
//! hidden URIs are dropped (DESIGN §2.1 "Consistency").
//!
//! Kept items are never re-serialized: the output is the input with whole array elements cut
//! out, so every kept item is byte-identical to what the server sent.

use alloc::string::String;
use alloc::vec::Vec;

use serde::Serialize;

use super::compile::Engine;
use super::decide::{CondLog, Verdict, mcp_vars};
use super::model::{AclMethod, LinkMode};
use crate::context::Context;
use crate::error::{Error, ErrorKind};
use crate::expr::Env;
use crate::jsonrpc::{Kind, Message, MessageKind, RawValue};
use crate::mcp::Method;

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

/// The single string value of `key` in an item; `None` when absent, not a string, repeated
/// (ambiguous: which one would the client show?), or holding a control character.
fn identity<'a>(item: RawValue<'a>, key: &str) -> Option<alloc::borrow::Cow<'a, str>> {
    if item.kind() != Kind::Object {
        return None;
    }
    let mut found = None;
    for (k, v) in item.members() {
        if k.eq_str(key) {
            if found.is_some() {
                return None;
            }
            found = Some(v);
        }
    }
    let s = found?.as_str()?;
    (!s.chars().any(char::is_control)).then_some(s)
}

/// Rebuilds `text` without the elements of `array` for which `keep` is false. `None` when
/// every element is kept.
fn cut_array(
    text: &str,
    array: RawValue<'_>,
    mut keep: impl FnMut(RawValue<'_>) -> bool,
) -> Option<String> {
    let start = array.offset_in(text)?;
    let end = start + array.as_text().len();
    let mut kept: Vec<&str> = Vec::new();
    let mut removed = false;
    for el in array.elements() {
        if keep(el) {
            kept.push(el.as_text());
        } else {
            removed = true;
        }
    }
    if !removed {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    out.push_str(text.get(..start)?);
    out.push('[');
    for (i, k) in kept.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(k);
    }
    out.push(']');
    out.push_str(text.get(end..)?);
    Some(out)
}

impl Engine {
    /// Filters a server→client message.
    ///
    /// `request` is the client request a response answers (the host tracks it by id; see
    /// [`crate::policy::Correlator`]); without it a response passes untouched, since its
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
            _ => Filtered::unchanged(),
        }
    }

    /// Parses `body` (one JSON-RPC message) and filters it. Unparseable input is an error:
    /// the host must not forward it (invariant 2).
    pub fn filter_response(
        &self,
        request: &Message<'_>,
        body: &[u8],
        ctx: &Context<'_>,
    ) -> Result<Filtered, Error> {
        let msg = Message::parse(body, &self.limits)?;
        if msg.kind() == MessageKind::Request {
            return Err(Error::new(
                ErrorKind::InvalidRequest,
                "a server request where a response or notification was expected; judge it with check",
            ));
        }
        Ok(self.filter_message(&msg, Some(request), ctx))
    }

    fn filter_notification(&self, msg: &Message<'_>, ctx: &Context<'_>) -> Filtered {
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
        if let Some((acl, key, id_key)) = list_shape(method) {
            let Some(items) = result.get(key).filter(|v| v.kind() == Kind::Array) else {
                return Filtered::unchanged();
            };
            let mut hidden = Vec::new();
            let mut log = CondLog::default();
            let rewritten = cut_array(msg.text(), items, |item| match identity(item, id_key) {
                Some(name) => {
                    let ok = matches!(self.judge(acl, &name, &env, &mut log), Verdict::Allowed(_));
                    if !ok {
                        hidden.push(HiddenItem {
                            subject: name.into_owned(),
                            reason: "not granted",
                        });
                    }
                    ok
                }
                None => {
                    hidden.push(HiddenItem {
                        subject: String::new(),
                        reason: "item without exactly one string identity member",
                    });
                    false
                }
            });
            return match rewritten {
                Some(text) => Filtered {
                    rewrite: Rewrite::Replaced(text),
                    hidden,
                },
                None => Filtered::unchanged(),
            };
        }
        if self.links == LinkMode::Keep {
            return Filtered::unchanged();
        }
        // Results that can carry resources: tool results (also via tasks/result), prompts.
        let (array, per_item_content) = match method {
            Method::ToolsCall | Method::TasksResult => (result.get("content"), false),
            Method::PromptsGet => (result.get("messages"), true),
            _ => (None, false),
        };
        let Some(array) = array.filter(|a| a.kind() == Kind::Array) else {
            return Filtered::unchanged();
        };
        let mut hidden = Vec::new();
        let rewritten = cut_array(msg.text(), array, |item| {
            let content = if per_item_content {
                item.get("content")
            } else {
                Some(item)
            };
            match content.and_then(linked_uri) {
                Some(uri) if !self.resource_readable(&uri, &env) => {
                    hidden.push(HiddenItem {
                        subject: uri.into_owned(),
                        reason: "link to a resource the caller may not read",
                    });
                    false
                }
                _ => true,
            }
        });
        match rewritten {
            Some(text) => Filtered {
                rewrite: Rewrite::Replaced(text),
                hidden,
            },
            None => Filtered::unchanged(),
        }
    }
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
