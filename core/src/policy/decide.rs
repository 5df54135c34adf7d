//! Decisions for requests and notifications: union of applicable grants, explicit denies win,
//! implicit deny, fail closed (ARCHITECTURE.md §2.1; §2.2, invariant 3).

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use serde::Serialize;

use super::compile::{Engine, server_feature_index};
use super::model::{AclMethod, DenialMode, PathMode};
use crate::context::Context;
use crate::expr::{Env, McpVars};
use crate::jsonrpc::{Id, Message, MessageKind, RefTarget};
use crate::mcp;

/// JSON-RPC code of a `forbid`/`http` denial: in the implementation-defined range, distinct
/// from every code the MCP spec assigns.
pub const FORBIDDEN_CODE: i32 = -32010;

/// Outcome of one condition during a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CondOutcome {
    /// Evaluated to true: the rule applied.
    True,
    /// Evaluated to false (or null): the rule did not apply.
    False,
    /// Failed to evaluate: a grant is not applied, a deny applies (fail closed).
    Error,
}

/// One condition result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CondEntry {
    /// Index of the rule in `authorizations`.
    pub rule: u32,
    /// What its condition gave.
    pub outcome: CondOutcome,
}

const COND_LOG: usize = 8;

/// The conditions evaluated for one decision, kept inline so that the allow path does not
/// allocate. Past eight entries only a count is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CondLog {
    entries: [CondEntry; COND_LOG],
    len: u8,
    /// Conditions evaluated beyond the eight recorded.
    pub dropped: u32,
    /// Why the first failing condition failed.
    pub first_error: Option<String>,
}

impl Default for CondLog {
    fn default() -> Self {
        Self {
            entries: [CondEntry {
                rule: 0,
                outcome: CondOutcome::False,
            }; COND_LOG],
            len: 0,
            dropped: 0,
            first_error: None,
        }
    }
}

impl CondLog {
    fn push(&mut self, e: CondEntry) {
        match self.entries.get_mut(usize::from(self.len)) {
            Some(slot) => {
                *slot = e;
                self.len += 1;
            }
            None => self.dropped += 1,
        }
    }

    fn lookup(&self, rule: u32) -> Option<CondOutcome> {
        self.entries()
            .iter()
            .find(|e| e.rule == rule)
            .map(|e| e.outcome)
    }

    /// The recorded entries.
    pub fn entries(&self) -> &[CondEntry] {
        self.entries.get(..usize::from(self.len)).unwrap_or(&[])
    }
}

impl Serialize for CondLog {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("CondLog", 3)?;
        st.serialize_field("results", self.entries())?;
        st.serialize_field("notRecorded", &self.dropped)?;
        st.serialize_field("firstError", &self.first_error)?;
        st.end()
    }
}

/// Why a message was allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AllowReason {
    /// The policy does not govern this method (initialize, ping, notifications, responses...).
    NotGoverned,
    /// A rule granted it.
    Granted,
    /// A list call: forwarded, its result will be filtered.
    ListFiltered,
}

/// Why a message was denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DenialKind {
    /// No applicable rule grants it (implicit deny).
    NotGranted,
    /// A deny rule whose condition held matched it.
    DeniedByRule,
    /// A deny rule's condition failed to evaluate (fail closed).
    ConditionError,
    /// The message is malformed for its method (e.g. a call without a name).
    InvalidMessage,
}

/// The audit record of a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Audit<'m> {
    /// The JSON-RPC method.
    pub method: &'m str,
    /// The ACL method that governed it, if any.
    #[serde(rename = "aclMethod")]
    pub acl_method: Option<AclMethod>,
    /// The subject judged (tool or prompt name, resource URI).
    pub subject: Option<&'m str>,
    /// The rule that decided, when one did.
    pub rule: Option<u32>,
    /// Conditions evaluated on the way.
    pub conditions: CondLog,
}

/// A denial, with everything a host needs to answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Denial<'m> {
    /// Why.
    pub kind: DenialKind,
    /// Human-readable reason (for logs and `forbid`'s `data`); rendered only when asked for
    /// (`to_string()`, `Display`, serialisation), so denying costs no formatting.
    pub reason: Reason<'m>,
    /// How the policy wants it answered.
    pub mode: DenialMode,
    /// OAuth scopes that would cure it (step-up): non-empty means answer HTTP 403 with an
    /// `insufficient_scope` challenge naming them.
    #[serde(rename = "requiredScopes")]
    pub required_scopes: Vec<String>,
    /// The audit record.
    pub audit: Audit<'m>,
    #[serde(skip)]
    id: Option<Id<'m>>,
    #[serde(skip)]
    subject_kind: SubjectKind,
}

/// Why a message was denied, rendered on demand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason<'m> {
    /// No rule grants `acl` on `subject` (the implicit deny).
    NotGranted {
        /// The ACL method asked for.
        acl: AclMethod,
        /// The tool, prompt or resource.
        subject: &'m str,
    },
    /// Any other reason, already written out.
    Text(String),
}

impl fmt::Display for Reason<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotGranted { acl, subject } => {
                write!(f, "no rule grants {} on `{subject}`", acl.as_str())
            }
            Self::Text(t) => f.write_str(t),
        }
    }
}

impl Serialize for Reason<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl From<String> for Reason<'_> {
    fn from(t: String) -> Self {
        Self::Text(t)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SubjectKind {
    Tool,
    Prompt,
    Resource,
    Template,
    Task,
    Other,
}

/// A JSON-RPC error object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RpcError {
    /// The code.
    pub code: i32,
    /// The message.
    pub message: String,
    /// Extra data (the reason and rule, for `forbid` and `http`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}

impl Denial<'_> {
    /// The JSON-RPC error to answer with, per the denial mode.
    pub fn jsonrpc_error(&self) -> RpcError {
        let subject = self.audit.subject.unwrap_or("");
        match self.mode {
            DenialMode::Hide => {
                let message = match self.subject_kind {
                    SubjectKind::Tool => alloc::format!("Unknown tool: {subject}"),
                    SubjectKind::Prompt => alloc::format!("Unknown prompt: {subject}"),
                    SubjectKind::Resource => alloc::format!("Resource {subject} not found"),
                    SubjectKind::Template => {
                        alloc::format!("Resource template {subject} not found")
                    }
                    SubjectKind::Task => alloc::format!("Unknown task: {subject}"),
                    SubjectKind::Other => alloc::format!("Method not found: {}", self.audit.method),
                };
                let code = if self.subject_kind == SubjectKind::Other {
                    -32601
                } else {
                    -32602
                };
                RpcError {
                    code,
                    message,
                    data: None,
                }
            }
            DenialMode::Forbid | DenialMode::Http => {
                let mut data = serde_json::Map::new();
                data.insert("reason".into(), self.reason.to_string().into());
                data.insert("method".into(), self.audit.method.into());
                if let Some(s) = self.audit.subject {
                    data.insert("subject".into(), s.into());
                }
                if let Some(r) = self.audit.rule {
                    data.insert("rule".into(), r.into());
                }
                if !self.required_scopes.is_empty() {
                    data.insert("requiredScopes".into(), self.required_scopes.clone().into());
                }
                RpcError {
                    code: FORBIDDEN_CODE,
                    message: String::from("Forbidden by policy"),
                    data: Some(serde_json::Value::Object(data)),
                }
            }
        }
    }

    /// The complete JSON-RPC error response (echoing the request id).
    pub fn jsonrpc_response(&self) -> String {
        let e = self.jsonrpc_error();
        let data = e
            .data
            .as_ref()
            .map(|d| serde_json::to_string(d).unwrap_or_else(|_| String::from("null")));
        let id = self.id.map(|i| i.json());
        crate::jsonrpc::error_response(id.as_deref(), e.code, &e.message, data.as_deref())
    }

    /// The HTTP status to answer with: 403 for `http` mode and for scope-curable denials
    /// (with an `insufficient_scope` challenge), else 200 (the error travels in JSON-RPC).
    pub fn http_status(&self) -> u16 {
        if self.mode == DenialMode::Http || !self.required_scopes.is_empty() {
            403
        } else {
            200
        }
    }
}

/// The verdict on one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision<'m> {
    /// Forward it.
    Allow(AllowReason, Audit<'m>),
    /// Do not forward it; answer with the denial.
    Deny(Denial<'m>),
}

impl Decision<'_> {
    /// Whether the message may be forwarded.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Self::Allow(..))
    }

    /// The audit record.
    pub fn audit(&self) -> &Audit<'_> {
        match self {
            Self::Allow(_, a) => a,
            Self::Deny(d) => &d.audit,
        }
    }
}

/// The result of judging a subject for one ACL method.
pub(crate) enum Verdict {
    Allowed(u32),
    Denied(u32, DenialKind),
    /// No grant applies; carries the earliest matching grant (in policy order) that names
    /// scopes (what a step-up would cure), found on the same walk over the matching grants.
    NotGranted(Option<u32>),
}

impl Engine {
    /// Judges one message: a client→server request or notification, or a server→client
    /// request. Responses are allowed here (their results go through the filters).
    ///
    /// Never panics and never fails open: a message whose subject cannot be read is denied,
    /// as is anything a failing deny-condition touches.
    pub fn check<'m>(&self, msg: &'m Message<'_>, ctx: &Context<'_>) -> Decision<'m> {
        let method = msg.method().unwrap_or("");
        let mut audit = Audit {
            method,
            acl_method: None,
            subject: None,
            rule: None,
            conditions: CondLog::default(),
        };
        if !matches!(msg.kind(), MessageKind::Request | MessageKind::Notification) {
            return Decision::Allow(AllowReason::NotGoverned, audit);
        }
        let Some(info) = mcp::lookup(method) else {
            if let Some(known) = mcp::lookup_misspelled(method) {
                return Decision::Deny(self.denial(
                    msg,
                    audit,
                    DenialKind::InvalidMessage,
                    alloc::format!(
                        "`{method}` is not `{}`: method names are case-sensitive, and a loosely matching server could run it unjudged",
                        known.name
                    ),
                    SubjectKind::Other,
                ));
            }
            return Decision::Allow(AllowReason::NotGoverned, audit);
        };
        if info.method == mcp::Method::CompletionComplete && self.completion == PathMode::Judge {
            return self.check_completion(msg, ctx, audit);
        }
        if info.method == mcp::Method::SubscriptionsListen && self.subscriptions == PathMode::Judge
        {
            return self.check_listen(msg, ctx, audit);
        }
        if info.subject == mcp::SubjectField::TaskId
            && self.tasks == PathMode::Judge
            && msg.task_id().is_some()
        {
            // Without a session nothing ties the task to its tool: hidden. Hosts that keep
            // sessions judge tasks through the exchange API, which binds them.
            return self.check_task(msg, ctx, None);
        }
        let Some(acl) = AclMethod::for_mcp(info.method) else {
            return Decision::Allow(AllowReason::NotGoverned, audit);
        };
        audit.acl_method = Some(acl);
        if let Some(i) = server_feature_index(acl.feature())
            && !self.governed.get(i).copied().unwrap_or(false)
        {
            return Decision::Allow(AllowReason::NotGoverned, audit);
        }
        if acl.is_list() {
            return Decision::Allow(AllowReason::ListFiltered, audit);
        }
        let (subject, kind) = match (info.subject, msg.name(), msg.uri()) {
            (mcp::SubjectField::Name, Some(n), _) => {
                let k = if acl == AclMethod::PromptsGet {
                    SubjectKind::Prompt
                } else {
                    SubjectKind::Tool
                };
                (n, k)
            }
            (mcp::SubjectField::Uri, _, Some(u)) => (u, SubjectKind::Resource),
            (mcp::SubjectField::None, _, _) => ("", SubjectKind::Other),
            _ => {
                return Decision::Deny(self.denial(
                    msg,
                    audit,
                    DenialKind::InvalidMessage,
                    alloc::format!("`{method}` without its subject"),
                    SubjectKind::Other,
                ));
            }
        };
        if kind != SubjectKind::Other {
            audit.subject = Some(subject);
        }
        let env = Env {
            context: ctx,
            mcp: Some(mcp_vars(msg)),
        };
        let verdict = self.judge(acl, subject, &env, &mut audit.conditions);
        self.conclude(msg, audit, acl, subject, kind, verdict)
    }

    /// `completion/complete` names a prompt or a resource template in `params.ref`: it is
    /// judged as the request that would reach that name, so a hidden prompt or template can
    /// neither be confirmed nor have its argument values listed (the spec asks servers to
    /// "prevent completion-based information disclosure"; a proxy in front must do it for them).
    fn check_completion<'m>(
        &self,
        msg: &'m Message<'_>,
        ctx: &Context<'_>,
        mut audit: Audit<'m>,
    ) -> Decision<'m> {
        let Some((target, subject)) = msg.reference_target() else {
            return Decision::Deny(self.denial(
                msg,
                audit,
                DenialKind::InvalidMessage,
                String::from(
                    "`completion/complete` without a readable `params.ref` (`ref/prompt` with a string `name`, or `ref/resource` with a string `uri`)",
                ),
                SubjectKind::Other,
            ));
        };
        audit.subject = Some(subject);
        let env = Env {
            context: ctx,
            mcp: Some(mcp_vars(msg)),
        };
        let log = &mut audit.conditions;
        let (acl, kind, verdict) = match target {
            RefTarget::Prompt => (
                AclMethod::PromptsGet,
                SubjectKind::Prompt,
                self.judge(AclMethod::PromptsGet, subject, &env, log),
            ),
            // A template is visible through its list entry and usable through reads: either
            // grant lets completion through; an explicit deny on either refuses it.
            RefTarget::Resource => {
                let listed = self.judge(AclMethod::ResourcesTemplatesList, subject, &env, log);
                let read = self.judge(AclMethod::ResourcesRead, subject, &env, log);
                let verdict = match (listed, read) {
                    (d @ Verdict::Denied(..), _) | (_, d @ Verdict::Denied(..)) => d,
                    (a @ Verdict::Allowed(_), _) | (_, a @ Verdict::Allowed(_)) => a,
                    (Verdict::NotGranted(a), Verdict::NotGranted(b)) => {
                        Verdict::NotGranted(match (a, b) {
                            (Some(a), Some(b)) => Some(a.min(b)),
                            (a, b) => a.or(b),
                        })
                    }
                };
                (
                    AclMethod::ResourcesTemplatesList,
                    SubjectKind::Template,
                    verdict,
                )
            }
        };
        audit.acl_method = Some(acl);
        self.conclude(msg, audit, acl, subject, kind, verdict)
    }

    /// Judges a task message (`tasks/get`, `tasks/update`, `tasks/cancel`, `tasks/result`, a
    /// task status notification) as a `TOOLS_CALL` of `tool`, the tool whose call created the
    /// task (what the host's session bound to the task id; the exchange API keeps these
    /// bindings). With `tool` `None` the task is unknown, and hidden: a client may only follow
    /// tasks it may see created. Messages without a task id are judged by [`Engine::check`].
    pub fn check_task<'m>(
        &self,
        msg: &'m Message<'_>,
        ctx: &Context<'_>,
        tool: Option<&str>,
    ) -> Decision<'m> {
        let Some(task) = msg.task_id() else {
            return self.check(msg, ctx);
        };
        let mut audit = Audit {
            method: msg.method().unwrap_or(""),
            acl_method: Some(AclMethod::ToolsCall),
            subject: Some(task),
            rule: None,
            conditions: CondLog::default(),
        };
        let Some(tool) = tool else {
            let why = alloc::format!(
                "task `{task}` is unknown here (no call the caller made created it, or it was forgotten)"
            );
            return Decision::Deny(self.denial(
                msg,
                audit,
                DenialKind::NotGranted,
                why,
                SubjectKind::Task,
            ));
        };
        let env = Env {
            context: ctx,
            mcp: Some(mcp_vars(msg)),
        };
        let verdict = self.judge(AclMethod::ToolsCall, tool, &env, &mut audit.conditions);
        let mut decision = self.conclude(
            msg,
            audit,
            AclMethod::ToolsCall,
            task,
            SubjectKind::Task,
            verdict,
        );
        if let Decision::Deny(d) = &mut decision {
            let why = match &d.reason {
                Reason::NotGranted { .. } => {
                    alloc::format!("no rule grants TOOLS_CALL on `{tool}`")
                }
                Reason::Text(t) => t.clone(),
            };
            d.reason = Reason::Text(alloc::format!(
                "task `{task}` belongs to tool `{tool}`: {why}"
            ));
        }
        decision
    }

    /// `subscriptions/listen` (2026-07-28) replaces `resources/subscribe`: each URI of its
    /// `resourceSubscriptions` is judged by `RESOURCES_SUBSCRIBE`, and the first one refused
    /// refuses the request, answered as that resource missing (a partial subscription would
    /// tell the client which URIs exist). The other notification kinds it asks for
    /// (`toolsListChanged`…) name nothing and pass.
    fn check_listen<'m>(
        &self,
        msg: &'m Message<'_>,
        ctx: &Context<'_>,
        mut audit: Audit<'m>,
    ) -> Decision<'m> {
        let Some(uris) = msg.resource_subscriptions() else {
            return Decision::Allow(AllowReason::NotGoverned, audit);
        };
        let acl = AclMethod::ResourcesSubscribe;
        audit.acl_method = Some(acl);
        let env = Env {
            context: ctx,
            mcp: Some(mcp_vars(msg)),
        };
        let mut last = None;
        for uri in uris {
            match self.judge(acl, uri, &env, &mut audit.conditions) {
                Verdict::Allowed(rule) => last = Some(rule),
                refused => {
                    audit.subject = Some(uri);
                    return self.conclude(msg, audit, acl, uri, SubjectKind::Resource, refused);
                }
            }
        }
        match last {
            Some(rule) => {
                audit.rule = Some(rule);
                Decision::Allow(AllowReason::Granted, audit)
            }
            None => Decision::Allow(AllowReason::NotGoverned, audit),
        }
    }

    /// The decision for a judged subject. Inlined: the audit it takes by value is a few
    /// hundred bytes, and a call copied it.
    #[inline(always)]
    fn conclude<'m>(
        &self,
        msg: &'m Message<'_>,
        mut audit: Audit<'m>,
        acl: AclMethod,
        subject: &'m str,
        kind: SubjectKind,
        verdict: Verdict,
    ) -> Decision<'m> {
        match verdict {
            Verdict::Allowed(rule) => {
                audit.rule = Some(rule);
                Decision::Allow(AllowReason::Granted, audit)
            }
            Verdict::Denied(rule, dk) => {
                audit.rule = Some(rule);
                let why = match dk {
                    DenialKind::ConditionError => alloc::format!(
                        "deny rule {rule} could not evaluate its condition ({}), so it applies",
                        audit.conditions.first_error.as_deref().unwrap_or("error")
                    ),
                    _ => alloc::format!("denied by rule {rule}{}", self.rule_label(rule)),
                };
                Decision::Deny(self.denial(msg, audit, dk, why, kind))
            }
            Verdict::NotGranted(cure) => {
                let scopes = cure
                    .and_then(|r| self.rules.get(r as usize))
                    .map(|rule| rule.scopes.clone())
                    .unwrap_or_default();
                let why = Reason::NotGranted { acl, subject };
                let mut d = self.denial(msg, audit, DenialKind::NotGranted, why, kind);
                d.required_scopes = scopes;
                Decision::Deny(d)
            }
        }
    }

    fn rule_label(&self, rule: u32) -> String {
        match self
            .rules
            .get(rule as usize)
            .and_then(|r| r.name.as_deref())
        {
            Some(n) => alloc::format!(" (`{n}`)"),
            None => String::new(),
        }
    }

    fn denial<'m>(
        &self,
        msg: &Message<'m>,
        audit: Audit<'m>,
        kind: DenialKind,
        reason: impl Into<Reason<'m>>,
        subject_kind: SubjectKind,
    ) -> Denial<'m> {
        Denial {
            kind,
            reason: reason.into(),
            mode: self.denial,
            required_scopes: Vec::new(),
            audit,
            id: msg.id(),
            subject_kind,
        }
    }

    /// Evaluates rule `r`'s condition (memoised in `log`). `None` when it has none.
    fn condition(&self, r: u32, env: &Env<'_>, log: &mut CondLog) -> Option<CondOutcome> {
        let rule = self.rules.get(r as usize)?;
        if rule.never {
            return Some(CondOutcome::False);
        }
        let t = rule.condition.as_ref()?;
        if let Some(o) = log.lookup(r) {
            return Some(o);
        }
        let outcome = match t.eval_bool(env) {
            Ok(true) => CondOutcome::True,
            Ok(false) => CondOutcome::False,
            Err(e) => {
                if log.first_error.is_none() {
                    log.first_error = Some(alloc::format!("rule {r}: {e}"));
                }
                CondOutcome::Error
            }
        };
        log.push(CondEntry { rule: r, outcome });
        Some(outcome)
    }

    /// Deny rules first (any applicable one wins, errors count as applicable), then grants
    /// (the first applicable one allows).
    pub(crate) fn judge(
        &self,
        acl: AclMethod,
        subject: &str,
        env: &Env<'_>,
        log: &mut CondLog,
    ) -> Verdict {
        let Some(slot) = self.slot(acl) else {
            return Verdict::NotGranted(None);
        };
        let mut denied = None;
        if !slot.deny.is_empty() {
            slot.deny
                .find(subject, |r| match self.condition(r, env, log) {
                    None | Some(CondOutcome::True) => {
                        denied = Some((r, DenialKind::DeniedByRule));
                        true
                    }
                    Some(CondOutcome::Error) => {
                        denied = Some((r, DenialKind::ConditionError));
                        true
                    }
                    Some(CondOutcome::False) => false,
                });
        }
        if let Some((r, k)) = denied {
            return Verdict::Denied(r, k);
        }
        let mut allowed = None;
        let mut cure = None;
        slot.allow.find(subject, |r| {
            let applies = matches!(self.condition(r, env, log), None | Some(CondOutcome::True));
            if applies {
                allowed = Some(r);
            } else if cure.is_none_or(|c| r < c)
                && self
                    .rules
                    .get(r as usize)
                    .is_some_and(|rule| !rule.scopes.is_empty() && !rule.never)
            {
                // The matcher visits cheap pattern kinds first; the policy's order decides.
                cure = Some(r);
            }
            applies
        });
        match allowed {
            Some(r) => Verdict::Allowed(r),
            None => Verdict::NotGranted(cure),
        }
    }

    /// Whether `subject` is granted `acl` under `ctx`, outside of any message (for hosts that
    /// pre-compute visibility, and for lint).
    pub fn allows(&self, acl: AclMethod, subject: &str, ctx: &Context<'_>) -> bool {
        let env = Env {
            context: ctx,
            mcp: None,
        };
        matches!(
            self.judge(acl, subject, &env, &mut CondLog::default()),
            Verdict::Allowed(_)
        )
    }
}

/// The `#mcp` variable of a message.
pub(crate) fn mcp_vars<'a>(msg: &'a Message<'_>) -> McpVars<'a> {
    McpVars {
        method: msg.method().unwrap_or(""),
        name: msg.name(),
        uri: msg.uri(),
        params: msg.params(),
        arguments: msg.arguments(),
        body: msg.text(),
    }
}
