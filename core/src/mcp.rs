//! The MCP method catalogue of every revision, and the protocol rules a proxy enforces
//! (batches only under 2025-03-26; the 2026-07-28 `Mcp-Method` / `Mcp-Name` headers equal the
//! body).

use alloc::borrow::Cow;
use alloc::string::String;

use base64::Engine as _;

use crate::error::{Error, ErrorKind};
use crate::jsonrpc::{Message, MessageKind};

/// A published MCP specification revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Revision {
    /// 2024-11-05: stdio and HTTP+SSE.
    V2024_11_05,
    /// 2025-03-26: Streamable HTTP; the only revision with JSON-RPC batches.
    V2025_03_26,
    /// 2025-06-18: batches removed, `MCP-Protocol-Version` header, elicitation.
    V2025_06_18,
    /// 2025-11-25: tasks, URL elicitation.
    V2025_11_25,
    /// 2026-07-28: stateless; `Mcp-Method`/`Mcp-Name` headers; `server/discover`.
    V2026_07_28,
}

impl Revision {
    /// Every revision, oldest first.
    pub const ALL: [Self; 5] = [
        Self::V2024_11_05,
        Self::V2025_03_26,
        Self::V2025_06_18,
        Self::V2025_11_25,
        Self::V2026_07_28,
    ];

    /// The newest revision.
    pub const LATEST: Self = Self::V2026_07_28;

    /// What a server assumes when an HTTP request carries no `MCP-Protocol-Version`.
    pub const DEFAULT_WITHOUT_HEADER: Self = Self::V2025_03_26;

    /// Reads a `MCP-Protocol-Version` value.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim() {
            "2024-11-05" => Self::V2024_11_05,
            "2025-03-26" => Self::V2025_03_26,
            "2025-06-18" => Self::V2025_06_18,
            "2025-11-25" => Self::V2025_11_25,
            "2026-07-28" => Self::V2026_07_28,
            _ => return None,
        })
    }

    /// Like [`Revision::parse`], with an error that says what is supported.
    pub fn parse_header(s: &str) -> Result<Self, Error> {
        Self::parse(s).ok_or_else(|| {
            Error::new(
                ErrorKind::UnsupportedProtocolVersion,
                alloc::format!("unsupported MCP-Protocol-Version `{s}`"),
            )
            .at_path("MCP-Protocol-Version")
        })
    }

    /// The revision's date string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V2024_11_05 => "2024-11-05",
            Self::V2025_03_26 => "2025-03-26",
            Self::V2025_06_18 => "2025-06-18",
            Self::V2025_11_25 => "2025-11-25",
            Self::V2026_07_28 => "2026-07-28",
        }
    }

    /// Whether JSON-RPC batches are allowed (only 2025-03-26 had them).
    pub fn allows_batch(self) -> bool {
        self == Self::V2025_03_26
    }

    /// Whether requests must mirror their method and name in `Mcp-Method` / `Mcp-Name`.
    pub fn requires_mirrored_headers(self) -> bool {
        self >= Self::V2026_07_28
    }

    /// Whether the revision is stateless (no `initialize`, no sessions).
    pub fn is_stateless(self) -> bool {
        self >= Self::V2026_07_28
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// Who sends a method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// The client (agent) sends it to the server.
    ClientToServer,
    /// The server sends it to the client.
    ServerToClient,
    /// Either side.
    Both,
}

/// The MCP feature a method belongs to (what a policy groups rules by).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Feature {
    /// `initialize`, `ping`, `server/discover`, `notifications/initialized`, cancellation, progress.
    Lifecycle,
    /// `tools/*`.
    Tools,
    /// `resources/list`, `resources/read`, subscriptions, resource notifications.
    Resources,
    /// `resources/templates/list`.
    ResourceTemplates,
    /// `prompts/*`.
    Prompts,
    /// `completion/complete`.
    Completion,
    /// `logging/setLevel`, `notifications/message`.
    Logging,
    /// `sampling/createMessage`.
    Sampling,
    /// `elicitation/create` and its completion notification.
    Elicitation,
    /// `roots/list` and its change notification.
    Roots,
    /// `tasks/*`.
    Tasks,
    /// `subscriptions/listen` (2026-07-28).
    Subscriptions,
}

/// Where a method's subject (what a policy matches names against) lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubjectField {
    /// The method has no subject.
    None,
    /// `params.name` (tools, prompts).
    Name,
    /// `params.uri` (resources).
    Uri,
    /// `params.ref` (`{type:"ref/prompt",name}` or `{type:"ref/resource",uri}`).
    Ref,
    /// `params.notifications.resourceSubscriptions[]` (2026-07-28 `subscriptions/listen`).
    ResourceSubscriptions,
    /// `params.taskId`.
    TaskId,
}

/// Request or notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallKind {
    /// Expects a response.
    Request,
    /// Fire and forget.
    Notification,
}

/// Every method of every revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // Each variant is the method of the same name; see `Method::as_str`.
pub enum Method {
    Initialize,
    Ping,
    ServerDiscover,
    CompletionComplete,
    LoggingSetLevel,
    PromptsList,
    PromptsGet,
    ResourcesList,
    ResourcesTemplatesList,
    ResourcesRead,
    ResourcesSubscribe,
    ResourcesUnsubscribe,
    SubscriptionsListen,
    ToolsList,
    ToolsCall,
    SamplingCreateMessage,
    RootsList,
    ElicitationCreate,
    TasksGet,
    TasksResult,
    TasksList,
    TasksCancel,
    TasksUpdate,
    NotificationsInitialized,
    NotificationsCancelled,
    NotificationsProgress,
    NotificationsRootsListChanged,
    NotificationsMessage,
    NotificationsResourcesUpdated,
    NotificationsResourcesListChanged,
    NotificationsToolsListChanged,
    NotificationsPromptsListChanged,
    NotificationsElicitationComplete,
    NotificationsTasksStatus,
    NotificationsTasks,
    NotificationsSubscriptionsAcknowledged,
}

/// What the catalogue knows about one method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MethodInfo {
    /// The method.
    pub method: Method,
    /// Its wire name.
    pub name: &'static str,
    /// Request or notification.
    pub call: CallKind,
    /// Who sends it.
    pub direction: Direction,
    /// Its feature.
    pub feature: Feature,
    /// Where its subject lives.
    pub subject: SubjectField,
    revisions: u8,
}

impl MethodInfo {
    /// Whether `rev` defines this method.
    pub fn in_revision(&self, rev: Revision) -> bool {
        self.revisions & rev.bit() != 0
    }

    /// The revisions that define this method, oldest first.
    pub fn revisions(&self) -> impl Iterator<Item = Revision> + '_ {
        Revision::ALL.into_iter().filter(|r| self.in_revision(*r))
    }
}

const R24: u8 = 1 << 0;
const R25A: u8 = 1 << 1;
const R25J: u8 = 1 << 2;
const R25N: u8 = 1 << 3;
const R26: u8 = 1 << 4;
const LEGACY: u8 = R24 | R25A | R25J | R25N;
const ALL: u8 = LEGACY | R26;

const fn info(
    method: Method,
    name: &'static str,
    call: CallKind,
    direction: Direction,
    feature: Feature,
    subject: SubjectField,
    revisions: u8,
) -> MethodInfo {
    MethodInfo {
        method,
        name,
        call,
        direction,
        feature,
        subject,
        revisions,
    }
}

use CallKind::{Notification as N, Request as Q};
use Direction::{Both, ClientToServer as C2S, ServerToClient as S2C};
use SubjectField as S;

/// The catalogue (source: each revision's `schema.ts`; reference/mcp-spec.md §1.5). Tasks
/// under 2026-07-28 live in the `io.modelcontextprotocol/tasks` extension and are listed with it.
pub const CATALOGUE: &[MethodInfo] = &[
    info(
        Method::Initialize,
        "initialize",
        Q,
        C2S,
        Feature::Lifecycle,
        S::None,
        LEGACY,
    ),
    info(
        Method::Ping,
        "ping",
        Q,
        Both,
        Feature::Lifecycle,
        S::None,
        LEGACY,
    ),
    info(
        Method::ServerDiscover,
        "server/discover",
        Q,
        C2S,
        Feature::Lifecycle,
        S::None,
        R26,
    ),
    info(
        Method::CompletionComplete,
        "completion/complete",
        Q,
        C2S,
        Feature::Completion,
        S::Ref,
        ALL,
    ),
    info(
        Method::LoggingSetLevel,
        "logging/setLevel",
        Q,
        C2S,
        Feature::Logging,
        S::None,
        LEGACY,
    ),
    info(
        Method::PromptsList,
        "prompts/list",
        Q,
        C2S,
        Feature::Prompts,
        S::None,
        ALL,
    ),
    info(
        Method::PromptsGet,
        "prompts/get",
        Q,
        C2S,
        Feature::Prompts,
        S::Name,
        ALL,
    ),
    info(
        Method::ResourcesList,
        "resources/list",
        Q,
        C2S,
        Feature::Resources,
        S::None,
        ALL,
    ),
    info(
        Method::ResourcesTemplatesList,
        "resources/templates/list",
        Q,
        C2S,
        Feature::ResourceTemplates,
        S::None,
        ALL,
    ),
    info(
        Method::ResourcesRead,
        "resources/read",
        Q,
        C2S,
        Feature::Resources,
        S::Uri,
        ALL,
    ),
    info(
        Method::ResourcesSubscribe,
        "resources/subscribe",
        Q,
        C2S,
        Feature::Resources,
        S::Uri,
        LEGACY,
    ),
    info(
        Method::ResourcesUnsubscribe,
        "resources/unsubscribe",
        Q,
        C2S,
        Feature::Resources,
        S::Uri,
        LEGACY,
    ),
    info(
        Method::SubscriptionsListen,
        "subscriptions/listen",
        Q,
        C2S,
        Feature::Subscriptions,
        S::ResourceSubscriptions,
        R26,
    ),
    info(
        Method::ToolsList,
        "tools/list",
        Q,
        C2S,
        Feature::Tools,
        S::None,
        ALL,
    ),
    info(
        Method::ToolsCall,
        "tools/call",
        Q,
        C2S,
        Feature::Tools,
        S::Name,
        ALL,
    ),
    info(
        Method::SamplingCreateMessage,
        "sampling/createMessage",
        Q,
        S2C,
        Feature::Sampling,
        S::None,
        LEGACY,
    ),
    info(
        Method::RootsList,
        "roots/list",
        Q,
        S2C,
        Feature::Roots,
        S::None,
        LEGACY,
    ),
    info(
        Method::ElicitationCreate,
        "elicitation/create",
        Q,
        S2C,
        Feature::Elicitation,
        S::None,
        R25J | R25N,
    ),
    info(
        Method::TasksGet,
        "tasks/get",
        Q,
        Both,
        Feature::Tasks,
        S::TaskId,
        R25N | R26,
    ),
    info(
        Method::TasksResult,
        "tasks/result",
        Q,
        Both,
        Feature::Tasks,
        S::TaskId,
        R25N,
    ),
    info(
        Method::TasksList,
        "tasks/list",
        Q,
        Both,
        Feature::Tasks,
        S::None,
        R25N,
    ),
    info(
        Method::TasksCancel,
        "tasks/cancel",
        Q,
        Both,
        Feature::Tasks,
        S::TaskId,
        R25N | R26,
    ),
    info(
        Method::TasksUpdate,
        "tasks/update",
        Q,
        C2S,
        Feature::Tasks,
        S::TaskId,
        R26,
    ),
    info(
        Method::NotificationsInitialized,
        "notifications/initialized",
        N,
        C2S,
        Feature::Lifecycle,
        S::None,
        LEGACY,
    ),
    info(
        Method::NotificationsCancelled,
        "notifications/cancelled",
        N,
        Both,
        Feature::Lifecycle,
        S::None,
        ALL,
    ),
    info(
        Method::NotificationsProgress,
        "notifications/progress",
        N,
        Both,
        Feature::Lifecycle,
        S::None,
        ALL,
    ),
    info(
        Method::NotificationsRootsListChanged,
        "notifications/roots/list_changed",
        N,
        C2S,
        Feature::Roots,
        S::None,
        LEGACY,
    ),
    info(
        Method::NotificationsMessage,
        "notifications/message",
        N,
        S2C,
        Feature::Logging,
        S::None,
        ALL,
    ),
    info(
        Method::NotificationsResourcesUpdated,
        "notifications/resources/updated",
        N,
        S2C,
        Feature::Resources,
        S::Uri,
        ALL,
    ),
    info(
        Method::NotificationsResourcesListChanged,
        "notifications/resources/list_changed",
        N,
        S2C,
        Feature::Resources,
        S::None,
        ALL,
    ),
    info(
        Method::NotificationsToolsListChanged,
        "notifications/tools/list_changed",
        N,
        S2C,
        Feature::Tools,
        S::None,
        ALL,
    ),
    info(
        Method::NotificationsPromptsListChanged,
        "notifications/prompts/list_changed",
        N,
        S2C,
        Feature::Prompts,
        S::None,
        ALL,
    ),
    info(
        Method::NotificationsElicitationComplete,
        "notifications/elicitation/complete",
        N,
        S2C,
        Feature::Elicitation,
        S::None,
        R25N,
    ),
    info(
        Method::NotificationsTasksStatus,
        "notifications/tasks/status",
        N,
        Both,
        Feature::Tasks,
        S::TaskId,
        R25N,
    ),
    info(
        Method::NotificationsTasks,
        "notifications/tasks",
        N,
        S2C,
        Feature::Tasks,
        S::TaskId,
        R26,
    ),
    info(
        Method::NotificationsSubscriptionsAcknowledged,
        "notifications/subscriptions/acknowledged",
        N,
        S2C,
        Feature::Subscriptions,
        S::None,
        R26,
    ),
];

impl Method {
    /// Looks a wire name up in the catalogue.
    pub fn from_name(name: &str) -> Option<Self> {
        lookup(name).map(|i| i.method)
    }

    /// The catalogue entry.
    pub fn info(self) -> &'static MethodInfo {
        // The catalogue lists every variant once, in declaration order.
        let i = self as usize;
        match CATALOGUE.get(i) {
            Some(info) if info.method == self => info,
            _ => CATALOGUE
                .iter()
                .find(|x| x.method == self)
                .unwrap_or(&CATALOGUE[0]),
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        self.info().name
    }
}

/// Finds a method by wire name.
pub fn lookup(name: &str) -> Option<&'static MethodInfo> {
    // A match lets the compiler dispatch on length and bytes; the table stays the one source.
    let m = match name {
        "initialize" => Method::Initialize,
        "ping" => Method::Ping,
        "server/discover" => Method::ServerDiscover,
        "completion/complete" => Method::CompletionComplete,
        "logging/setLevel" => Method::LoggingSetLevel,
        "prompts/list" => Method::PromptsList,
        "prompts/get" => Method::PromptsGet,
        "resources/list" => Method::ResourcesList,
        "resources/templates/list" => Method::ResourcesTemplatesList,
        "resources/read" => Method::ResourcesRead,
        "resources/subscribe" => Method::ResourcesSubscribe,
        "resources/unsubscribe" => Method::ResourcesUnsubscribe,
        "subscriptions/listen" => Method::SubscriptionsListen,
        "tools/list" => Method::ToolsList,
        "tools/call" => Method::ToolsCall,
        "sampling/createMessage" => Method::SamplingCreateMessage,
        "roots/list" => Method::RootsList,
        "elicitation/create" => Method::ElicitationCreate,
        "tasks/get" => Method::TasksGet,
        "tasks/result" => Method::TasksResult,
        "tasks/list" => Method::TasksList,
        "tasks/cancel" => Method::TasksCancel,
        "tasks/update" => Method::TasksUpdate,
        "notifications/initialized" => Method::NotificationsInitialized,
        "notifications/cancelled" => Method::NotificationsCancelled,
        "notifications/progress" => Method::NotificationsProgress,
        "notifications/roots/list_changed" => Method::NotificationsRootsListChanged,
        "notifications/message" => Method::NotificationsMessage,
        "notifications/resources/updated" => Method::NotificationsResourcesUpdated,
        "notifications/resources/list_changed" => Method::NotificationsResourcesListChanged,
        "notifications/tools/list_changed" => Method::NotificationsToolsListChanged,
        "notifications/prompts/list_changed" => Method::NotificationsPromptsListChanged,
        "notifications/elicitation/complete" => Method::NotificationsElicitationComplete,
        "notifications/tasks/status" => Method::NotificationsTasksStatus,
        "notifications/tasks" => Method::NotificationsTasks,
        "notifications/subscriptions/acknowledged" => {
            Method::NotificationsSubscriptionsAcknowledged
        }
        _ => return None,
    };
    Some(m.info())
}

/// A known method that `name` spells differently (letter case, surrounding whitespace).
///
/// MCP method names are case-sensitive, so such a message is not that method; but a server
/// that matched names loosely would run it as that method, so hosts should refuse it rather
/// than let it pass as an unknown (ungoverned) method.
pub fn lookup_misspelled(name: &str) -> Option<&'static MethodInfo> {
    if lookup(name).is_some() {
        return None;
    }
    let trimmed = name.trim_matches(|c: char| c.is_whitespace());
    CATALOGUE
        .iter()
        .find(|i| i.name.eq_ignore_ascii_case(trimmed))
}

/// What a message is about, once classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject<'a> {
    /// No subject (lists, lifecycle, notifications without a target).
    None,
    /// A tool, by name.
    Tool(Cow<'a, str>),
    /// A prompt, by name.
    Prompt(Cow<'a, str>),
    /// A resource, by URI.
    Resource(Cow<'a, str>),
    /// Several resources (2026-07-28 `subscriptions/listen`).
    Resources(alloc::vec::Vec<Cow<'a, str>>),
    /// A task, by id.
    Task(Cow<'a, str>),
}

/// A classified request or notification: what a policy decides on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call<'a> {
    /// The method, or `None` for a method no revision defines (passed through by default).
    pub method: Option<Method>,
    /// The wire name, as sent.
    pub name: &'a str,
    /// The subject.
    pub subject: Subject<'a>,
}

impl<'a> Call<'a> {
    /// The feature, when the method is known.
    pub fn feature(&self) -> Option<Feature> {
        self.method.map(|m| m.info().feature)
    }
}

fn missing(path: &str, method: &str) -> Error {
    Error::new(
        ErrorKind::InvalidParams,
        alloc::format!("`{method}` needs a string `{path}`"),
    )
    .at_path(path)
}

/// Classifies a request or notification: its method and the subject a policy matches.
///
/// A known method whose subject is missing or of the wrong type is an error (-32602): judging
/// it without a subject would mean guessing.
pub fn classify<'m>(msg: &'m Message<'_>) -> Result<Call<'m>, Error> {
    let Some(name) = msg.method() else {
        return Err(Error::new(
            ErrorKind::InvalidRequest,
            "a response has no method to classify",
        ));
    };
    let Some(info) = lookup(name) else {
        return Ok(Call {
            method: None,
            name,
            subject: Subject::None,
        });
    };
    let subject = match info.subject {
        SubjectField::None => Subject::None,
        SubjectField::Name => {
            let n = msg.name().ok_or_else(|| missing("params.name", name))?;
            match info.feature {
                Feature::Prompts => Subject::Prompt(Cow::Borrowed(n)),
                _ => Subject::Tool(Cow::Borrowed(n)),
            }
        }
        SubjectField::Uri => Subject::Resource(Cow::Borrowed(
            msg.uri().ok_or_else(|| missing("params.uri", name))?,
        )),
        SubjectField::Ref => classify_ref(msg, name)?,
        // Read (decoded, each a string) when the message was parsed.
        SubjectField::ResourceSubscriptions => Subject::Resources(
            msg.resource_subscriptions()
                .map(|uris| uris.map(Cow::Borrowed).collect())
                .unwrap_or_default(),
        ),
        SubjectField::TaskId => match msg.task_id() {
            Some(t) => Subject::Task(Cow::Borrowed(t)),
            None => Subject::None,
        },
    };
    Ok(Call {
        method: Some(info.method),
        name,
        subject,
    })
}

fn classify_ref<'m>(msg: &'m Message<'_>, method: &str) -> Result<Subject<'m>, Error> {
    let r = msg
        .reference()
        .ok_or_else(|| missing("params.ref", method))?;
    let ty = r
        .get("type")
        .and_then(|t| t.as_str())
        .ok_or_else(|| missing("params.ref.type", method))?;
    match ty.as_ref() {
        "ref/prompt" => {
            let n = r.get("name").and_then(|n| n.as_str());
            Ok(Subject::Prompt(
                n.ok_or_else(|| missing("params.ref.name", method))?,
            ))
        }
        "ref/resource" => {
            let u = r.get("uri").and_then(|u| u.as_str());
            Ok(Subject::Resource(
                u.ok_or_else(|| missing("params.ref.uri", method))?,
            ))
        }
        other => Err(Error::new(
            ErrorKind::InvalidParams,
            alloc::format!("unknown completion reference type `{other}`"),
        )
        .at_path("params.ref.type")),
    }
}

/// Checks a body against the protocol revision: batches only under 2025-03-26.
pub fn check_batch_allowed(is_batch: bool, rev: Revision) -> Result<(), Error> {
    if is_batch && !rev.allows_batch() {
        return Err(Error::new(
            ErrorKind::BatchNotAllowed,
            alloc::format!("JSON-RPC batch under MCP {}", rev.as_str()),
        ));
    }
    Ok(())
}

/// Decodes a mirrored header value: plain ASCII, or `=?base64?<standard base64>?=` for values
/// that are not safe as raw header text.
pub fn decode_header_value(v: &str) -> Result<Cow<'_, str>, Error> {
    let v = v.trim_matches([' ', '\t']);
    let Some(b64) = v
        .strip_prefix("=?base64?")
        .and_then(|r| r.strip_suffix("?="))
    else {
        return Ok(Cow::Borrowed(v));
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| {
            Error::new(
                ErrorKind::HeaderMismatch,
                "invalid base64 in an `=?base64?…?=` header value",
            )
        })?;
    String::from_utf8(bytes).map(Cow::Owned).map_err(|_| {
        Error::new(
            ErrorKind::HeaderMismatch,
            "an `=?base64?…?=` header value is not UTF-8",
        )
    })
}

/// Checks the 2026-07-28 mirrored headers against the body.
///
/// Under 2026-07-28 `Mcp-Method` is required on every request and notification, and `Mcp-Name`
/// on `tools/call`, `resources/read` and `prompts/get`. Under older revisions they are
/// optional, but when present they must still agree: a host that routes or logs by header must
/// never see a different subject from the one judged.
pub fn check_mirrored_headers(
    msg: &Message<'_>,
    mcp_method: Option<&str>,
    mcp_name: Option<&str>,
    rev: Revision,
) -> Result<(), Error> {
    if !matches!(msg.kind(), MessageKind::Request | MessageKind::Notification) {
        return Ok(());
    }
    let method = msg.method().unwrap_or("");
    match mcp_method {
        Some(h) if decode_header_value(h)? != method => {
            return Err(Error::new(
                ErrorKind::HeaderMismatch,
                alloc::format!("Mcp-Method header `{h}` differs from body method `{method}`"),
            )
            .at_path("Mcp-Method"));
        }
        Some(_) => {}
        None if rev.requires_mirrored_headers() => {
            return Err(Error::new(
                ErrorKind::HeaderMismatch,
                alloc::format!("MCP {} requires the Mcp-Method header", rev.as_str()),
            )
            .at_path("Mcp-Method"));
        }
        None => {}
    }
    let body_name = match method {
        "tools/call" | "prompts/get" => msg.name(),
        "resources/read" => msg.uri(),
        // The tasks extension: task requests carry the task id in Mcp-Name.
        "tasks/get" | "tasks/update" | "tasks/cancel" | "tasks/result" => msg.task_id(),
        _ => None,
    };
    match (mcp_name, body_name) {
        (Some(h), Some(b)) if decode_header_value(h)? != b => {
            return Err(Error::new(
                ErrorKind::HeaderMismatch,
                alloc::format!("Mcp-Name header `{h}` differs from the body's `{b}`"),
            )
            .at_path("Mcp-Name"));
        }
        (Some(_), Some(_)) => {}
        (Some(h), None) => {
            return Err(Error::new(
                ErrorKind::HeaderMismatch,
                alloc::format!("Mcp-Name header `{h}` on `{method}`, whose body names nothing"),
            )
            .at_path("Mcp-Name"));
        }
        (None, Some(_)) if rev.requires_mirrored_headers() => {
            return Err(Error::new(
                ErrorKind::HeaderMismatch,
                alloc::format!(
                    "MCP {} requires the Mcp-Name header on `{method}`",
                    rev.as_str()
                ),
            )
            .at_path("Mcp-Name"));
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_is_consistent() {
        for (i, info) in CATALOGUE.iter().enumerate() {
            assert_eq!(info.method as usize, i, "{} out of order", info.name);
            assert_eq!(lookup(info.name), Some(info));
            assert_eq!(info.method.as_str(), info.name);
            assert!(
                info.revisions().next().is_some(),
                "{} in no revision",
                info.name
            );
        }
        assert!(lookup("tools/nope").is_none());
    }

    #[test]
    fn revision_rules() {
        assert!(Revision::V2025_03_26.allows_batch());
        assert!(!Revision::V2025_06_18.allows_batch());
        assert!(!Revision::V2024_11_05.allows_batch());
        assert!(Revision::V2026_07_28.requires_mirrored_headers());
        assert_eq!(Revision::parse("2025-11-25"), Some(Revision::V2025_11_25));
        assert!(Revision::parse_header("2099-01-01").is_err());
        assert!(
            lookup("elicitation/create")
                .unwrap()
                .in_revision(Revision::V2025_06_18)
        );
        assert!(
            !lookup("elicitation/create")
                .unwrap()
                .in_revision(Revision::V2025_03_26)
        );
        assert!(
            !lookup("initialize")
                .unwrap()
                .in_revision(Revision::V2026_07_28)
        );
        assert!(
            lookup("server/discover")
                .unwrap()
                .in_revision(Revision::V2026_07_28)
        );
    }

    #[test]
    fn base64_header_values() {
        assert_eq!(decode_header_value("=?base64?ZWNobw==?=").unwrap(), "echo");
        assert_eq!(decode_header_value("echo").unwrap(), "echo");
        assert!(decode_header_value("=?base64?***?=").is_err());
    }
}
