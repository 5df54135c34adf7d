//! The policy document: Gravitee's `mcp-acl` configuration read exactly as Gravitee stores it,
//! plus our extensions (ARCHITECTURE.md §2.1).
//!
//! Reading goes through `serde_json::Value` and a hand-written walk rather than a derived
//! `Deserialize`, so that one pass reports *every* problem with its JSON path instead of
//! stopping at the first.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use serde::Serialize;
use serde_json::Value;

/// A feature type of an authorized feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FeatureType {
    /// Tools (`tools/list`, `tools/call`).
    Tools,
    /// Resources and resource templates.
    Resources,
    /// Prompts.
    Prompts,
    /// Extension: server→client `sampling/createMessage`.
    Sampling,
    /// Extension: server→client `elicitation/create`.
    Elicitation,
    /// Extension: server→client `roots/list`.
    Roots,
}

impl FeatureType {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "TOOLS" => Self::Tools,
            "RESOURCES" => Self::Resources,
            "PROMPTS" => Self::Prompts,
            "SAMPLING" => Self::Sampling,
            "ELICITATION" => Self::Elicitation,
            "ROOTS" => Self::Roots,
            _ => return None,
        })
    }

    /// Gravitee's default when `methods` is absent: the feature's list method.
    fn default_method(self) -> AclMethod {
        match self {
            Self::Tools => AclMethod::ToolsList,
            Self::Resources => AclMethod::ResourcesList,
            Self::Prompts => AclMethod::PromptsList,
            Self::Sampling => AclMethod::SamplingCreateMessage,
            Self::Elicitation => AclMethod::ElicitationCreate,
            Self::Roots => AclMethod::RootsList,
        }
    }
}

/// A method an authorized feature grants (Gravitee's enum, plus our server→client ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AclMethod {
    /// `tools/list` (filtered, never blocked).
    ToolsList,
    /// `tools/call`.
    ToolsCall,
    /// `resources/list` (filtered).
    ResourcesList,
    /// `resources/read`.
    ResourcesRead,
    /// `resources/templates/list` (filtered).
    ResourcesTemplatesList,
    /// `resources/subscribe`.
    ResourcesSubscribe,
    /// `prompts/list` (filtered).
    PromptsList,
    /// `prompts/get`.
    PromptsGet,
    /// Extension: `sampling/createMessage` (server→client).
    SamplingCreateMessage,
    /// Extension: `elicitation/create` (server→client).
    ElicitationCreate,
    /// Extension: `roots/list` (server→client).
    RootsList,
}

impl AclMethod {
    /// Every method, in slot order.
    pub const ALL: [Self; 11] = [
        Self::ToolsList,
        Self::ToolsCall,
        Self::ResourcesList,
        Self::ResourcesRead,
        Self::ResourcesTemplatesList,
        Self::ResourcesSubscribe,
        Self::PromptsList,
        Self::PromptsGet,
        Self::SamplingCreateMessage,
        Self::ElicitationCreate,
        Self::RootsList,
    ];

    /// Index into per-method tables.
    pub(crate) fn slot(self) -> usize {
        self as usize
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "TOOLS_LIST" => Self::ToolsList,
            "TOOLS_CALL" => Self::ToolsCall,
            "RESOURCES_LIST" => Self::ResourcesList,
            "RESOURCES_READ" => Self::ResourcesRead,
            "RESOURCES_TEMPLATES_LIST" => Self::ResourcesTemplatesList,
            "RESOURCES_SUBSCRIBE" => Self::ResourcesSubscribe,
            "PROMPTS_LIST" => Self::PromptsList,
            "PROMPTS_GET" => Self::PromptsGet,
            "SAMPLING_CREATE_MESSAGE" => Self::SamplingCreateMessage,
            "ELICITATION_CREATE" => Self::ElicitationCreate,
            "ROOTS_LIST" => Self::RootsList,
            _ => return None,
        })
    }

    /// The wire name as Gravitee spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ToolsList => "TOOLS_LIST",
            Self::ToolsCall => "TOOLS_CALL",
            Self::ResourcesList => "RESOURCES_LIST",
            Self::ResourcesRead => "RESOURCES_READ",
            Self::ResourcesTemplatesList => "RESOURCES_TEMPLATES_LIST",
            Self::ResourcesSubscribe => "RESOURCES_SUBSCRIBE",
            Self::PromptsList => "PROMPTS_LIST",
            Self::PromptsGet => "PROMPTS_GET",
            Self::SamplingCreateMessage => "SAMPLING_CREATE_MESSAGE",
            Self::ElicitationCreate => "ELICITATION_CREATE",
            Self::RootsList => "ROOTS_LIST",
        }
    }

    /// The feature type this method belongs to.
    pub fn feature(self) -> FeatureType {
        match self {
            Self::ToolsList | Self::ToolsCall => FeatureType::Tools,
            Self::ResourcesList
            | Self::ResourcesRead
            | Self::ResourcesTemplatesList
            | Self::ResourcesSubscribe => FeatureType::Resources,
            Self::PromptsList | Self::PromptsGet => FeatureType::Prompts,
            Self::SamplingCreateMessage => FeatureType::Sampling,
            Self::ElicitationCreate => FeatureType::Elicitation,
            Self::RootsList => FeatureType::Roots,
        }
    }

    /// Whether this is a `*_LIST` method (filtered, never blocked).
    pub fn is_list(self) -> bool {
        matches!(
            self,
            Self::ToolsList
                | Self::ResourcesList
                | Self::ResourcesTemplatesList
                | Self::PromptsList
        )
    }

    /// The MCP method it governs.
    pub fn mcp_method(self) -> crate::mcp::Method {
        use crate::mcp::Method as M;
        match self {
            Self::ToolsList => M::ToolsList,
            Self::ToolsCall => M::ToolsCall,
            Self::ResourcesList => M::ResourcesList,
            Self::ResourcesRead => M::ResourcesRead,
            Self::ResourcesTemplatesList => M::ResourcesTemplatesList,
            Self::ResourcesSubscribe => M::ResourcesSubscribe,
            Self::PromptsList => M::PromptsList,
            Self::PromptsGet => M::PromptsGet,
            Self::SamplingCreateMessage => M::SamplingCreateMessage,
            Self::ElicitationCreate => M::ElicitationCreate,
            Self::RootsList => M::RootsList,
        }
    }

    /// The ACL method governing an MCP method, if any.
    pub fn for_mcp(m: crate::mcp::Method) -> Option<Self> {
        use crate::mcp::Method as M;
        Some(match m {
            M::ToolsList => Self::ToolsList,
            M::ToolsCall => Self::ToolsCall,
            M::ResourcesList => Self::ResourcesList,
            M::ResourcesRead => Self::ResourcesRead,
            M::ResourcesTemplatesList => Self::ResourcesTemplatesList,
            M::ResourcesSubscribe => Self::ResourcesSubscribe,
            M::PromptsList => Self::PromptsList,
            M::PromptsGet => Self::PromptsGet,
            M::SamplingCreateMessage => Self::SamplingCreateMessage,
            M::ElicitationCreate => Self::ElicitationCreate,
            M::RootsList => Self::RootsList,
            _ => return None,
        })
    }
}

/// How a feature's name pattern matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PatternType {
    /// Every name.
    Any,
    /// Exactly `patternValue`.
    Literal,
    /// Glob: `*` any run of characters, `?` exactly one, everything else literal.
    Expression,
    /// Extension: a regular expression that must match the whole name.
    Regex,
    /// Extension: names starting with `patternValue`.
    Prefix,
}

impl PatternType {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "ANY" => Self::Any,
            "LITERAL" => Self::Literal,
            "EXPRESSION" => Self::Expression,
            "REGEX" => Self::Regex,
            "PREFIX" => Self::Prefix,
            _ => return None,
        })
    }
}

/// Whether a rule grants or denies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Effect {
    /// Grants (Gravitee's only kind).
    #[default]
    Allow,
    /// Extension: denies, and wins over every grant.
    Deny,
}

/// How a denied call is answered (extension; Gravitee's exact answer is not public).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DenialMode {
    /// As if the subject did not exist: JSON-RPC `-32602` "Unknown tool: X" in HTTP 200.
    #[default]
    Hide,
    /// A distinct JSON-RPC error ([`crate::policy::FORBIDDEN_CODE`]) with the reason in `data`.
    Forbid,
    /// HTTP 403 with the `forbid` body.
    Http,
}

/// What to do with resource links, embedded resources and `resources/read` contents whose URI
/// the caller may not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkMode {
    /// Remove them from results (default: a hidden resource is not reachable another way).
    #[default]
    Remove,
    /// Leave results untouched (Gravitee's behaviour).
    Keep,
}

/// Whether a path to a name beyond Gravitee's eight methods is judged by the rules of that name
/// (extension; default) or passed untouched as Gravitee does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PathMode {
    /// Judged by the rules of the name it reaches (a hidden name stays hidden on this path).
    #[default]
    Judge,
    /// Passed as it is (Gravitee's behaviour): the path can confirm and use hidden names.
    Pass,
}

/// One authorized feature of a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Feature {
    /// The feature type.
    #[serde(rename = "type")]
    pub feature_type: FeatureType,
    /// Granted (or denied) methods; Gravitee's default is the type's list method.
    pub methods: Vec<AclMethod>,
    /// How names are matched.
    pub pattern_type: PatternType,
    /// The pattern (absent for `ANY`).
    pub pattern_value: Option<String>,
}

/// One rule (`authorizations[i]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Authorization {
    /// Gravitee EL trigger condition; absent or blank means the rule always applies.
    pub condition: Option<String>,
    /// Grant or deny.
    pub effect: Effect,
    /// The features it covers.
    pub authorized_features: Vec<Feature>,
    /// Extension: OAuth scopes whose holders this rule is meant for. A call denied only for
    /// lack of a grant that such a rule would give is answered with an `insufficient_scope`
    /// challenge naming them (step-up).
    pub scopes: Vec<String>,
    /// Extension: a label for logs and audits.
    pub name: Option<String>,
}

/// A whole policy.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    /// The rules.
    pub authorizations: Vec<Authorization>,
    /// How denials are answered.
    pub denial: DenialMode,
    /// What happens to links to resources the caller may not read.
    pub resource_links: LinkMode,
    /// `completion/complete`: judged by its `ref` (a prompt by `PROMPTS_GET`, a resource
    /// template by `RESOURCES_TEMPLATES_LIST` or `RESOURCES_READ`), or passed.
    pub completion: PathMode,
    /// `subscriptions/listen` (2026-07-28): every URI it subscribes to judged by
    /// `RESOURCES_SUBSCRIBE` and its acknowledgement filtered, or passed.
    pub subscriptions: PathMode,
    /// Tasks (2025-11-25, and the 2026-07-28 tasks extension): every task request,
    /// notification and result judged as a `TOOLS_CALL` of the tool whose call created the
    /// task (an unknown task id is hidden), or passed.
    pub tasks: PathMode,
}

/// One problem in a policy document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigIssue {
    /// JSON path of the offending member (`$.authorizations[0].authorizedFeatures[1].methods[0]`).
    pub path: String,
    /// What is wrong and what to do.
    pub message: String,
}

/// Every problem found in a policy document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigErrors {
    /// The problems, in document order.
    pub issues: Vec<ConfigIssue>,
}

impl ConfigErrors {
    pub(crate) fn one(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            issues: alloc::vec![ConfigIssue {
                path: path.into(),
                message: message.into()
            }],
        }
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.issues.len();
        write!(
            f,
            "{n} problem{} in the policy",
            if n == 1 { "" } else { "s" }
        )?;
        for i in &self.issues {
            write!(f, "\n  {}: {}", i.path, i.message)?;
        }
        Ok(())
    }
}

impl ConfigErrors {
    /// The code in the crate-wide set.
    pub fn code(&self) -> crate::error::ErrorCode {
        crate::error::ErrorCode::InvalidPolicy
    }
}

impl core::error::Error for ConfigErrors {}

struct Reader {
    issues: Vec<ConfigIssue>,
}

impl Reader {
    fn bad(&mut self, path: &str, message: impl Into<String>) {
        self.issues.push(ConfigIssue {
            path: path.to_string(),
            message: message.into(),
        });
    }

    fn string(&mut self, v: Option<&Value>, path: &str) -> Option<String> {
        match v {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                self.bad(
                    path,
                    alloc::format!("must be a string, found {}", type_name(other)),
                );
                None
            }
        }
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl Policy {
    /// Reads a policy from JSON. Accepted shapes, detected automatically:
    /// - the `mcp-acl` `configuration` object (`{"authorizations": [...]}`, our extensions
    ///   allowed beside it);
    /// - a policy step (`{"policy": "mcp-acl", "configuration": {...}}`);
    /// - a whole exported Gravitee API definition, from which the enabled `mcp-acl` step of its
    ///   flows (API flows and plan flows) is taken.
    ///
    /// Unknown members are ignored, as Gravitee schemas grow. Every problem is reported with
    /// its JSON path.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ConfigErrors> {
        let (policy, issues) = Self::from_json_partial(bytes)?;
        if issues.is_empty() {
            Ok(policy)
        } else {
            Err(ConfigErrors { issues })
        }
    }

    /// Reads a policy from an already-parsed JSON value (see [`Policy::from_json`]).
    pub fn from_value(root: &Value) -> Result<Self, ConfigErrors> {
        let (policy, issues) = Self::from_value_partial(root)?;
        if issues.is_empty() {
            Ok(policy)
        } else {
            Err(ConfigErrors { issues })
        }
    }

    /// Reads as much of a policy as is readable, with every problem found on the way: what a
    /// linter needs to go on and compile the conditions and patterns of the readable parts
    /// (a rule with an unknown feature type still has its condition checked), so one run
    /// reports every problem. Never enforce a policy read this way while issues remain. `Err`
    /// when no configuration can be found at all (not JSON, not an `mcp-acl` shape).
    pub fn from_json_partial(bytes: &[u8]) -> Result<(Self, Vec<ConfigIssue>), ConfigErrors> {
        let root: Value = serde_json::from_slice(bytes).map_err(|e| {
            ConfigErrors::one(
                "$",
                alloc::format!(
                    "not valid JSON: {e} (line {}, column {}); fix the syntax",
                    e.line(),
                    e.column()
                ),
            )
        })?;
        Self::from_value_partial(&root)
    }

    /// [`Policy::from_json_partial`] for an already-parsed JSON value.
    pub fn from_value_partial(root: &Value) -> Result<(Self, Vec<ConfigIssue>), ConfigErrors> {
        let (config, path) = locate_configuration(root)?;
        let mut r = Reader { issues: Vec::new() };
        let policy = read_configuration(&mut r, config, &path);
        Ok((policy, r.issues))
    }
}

fn is_acl_step(step: &Value) -> bool {
    step.get("policy").and_then(Value::as_str) == Some("mcp-acl")
        && step.get("enabled").and_then(Value::as_bool) != Some(false)
}

/// Finds the `mcp-acl` configuration inside whatever shape was given.
fn locate_configuration<'v>(root: &'v Value) -> Result<(&'v Value, String), ConfigErrors> {
    let Some(obj) = root.as_object() else {
        return Err(ConfigErrors::one(
            "$",
            alloc::format!("must be an object, found {}", type_name(root)),
        ));
    };
    if obj.contains_key("authorizations") {
        return Ok((root, String::from("$")));
    }
    if obj.get("policy").is_some() {
        if !is_acl_step(root) {
            return Err(ConfigErrors::one(
                "$.policy",
                "a policy step that is not an enabled `mcp-acl` step; give the mcp-acl step or its configuration",
            ));
        }
        return match obj.get("configuration") {
            Some(c) => Ok((c, String::from("$.configuration"))),
            None => Ok((&EMPTY_CONFIG, String::from("$.configuration"))),
        };
    }
    if obj.contains_key("flows")
        || obj.contains_key("plans")
        || obj.contains_key("definitionVersion")
    {
        let mut found: Vec<(&'v Value, String)> = Vec::new();
        let mut scan_flows = |flows: Option<&'v Value>, base: String| {
            for (fi, flow) in flows
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                if flow.get("enabled").and_then(Value::as_bool) == Some(false) {
                    continue;
                }
                for (si, step) in flow
                    .get("request")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    if is_acl_step(step) {
                        let path = alloc::format!("{base}.flows[{fi}].request[{si}].configuration");
                        found.push((step.get("configuration").unwrap_or(&EMPTY_CONFIG), path));
                    }
                }
            }
        };
        scan_flows(obj.get("flows"), String::from("$"));
        for (pi, plan) in obj
            .get("plans")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            scan_flows(plan.get("flows"), alloc::format!("$.plans[{pi}]"));
        }
        return match found.len() {
            1 => Ok(found.remove(0)),
            0 => Err(ConfigErrors::one(
                "$",
                "an API definition without an enabled `mcp-acl` step in its flows; add one or give the configuration directly",
            )),
            n => Err(ConfigErrors {
                issues: found
                    .into_iter()
                    .map(|(_, path)| ConfigIssue {
                        path,
                        message: alloc::format!(
                            "one of {n} enabled `mcp-acl` steps; give the one to enforce (per plan, pass that plan's step)"
                        ),
                    })
                    .collect(),
            }),
        };
    }
    // `{}` is a valid configuration (no rules: implicit deny); an object with members but
    // none of ours is more likely the wrong file than a deliberate deny-all.
    if obj.is_empty()
        || [
            "denial",
            "resourceLinks",
            "completion",
            "subscriptions",
            "tasks",
        ]
        .iter()
        .any(|k| obj.contains_key(*k))
    {
        return Ok((root, String::from("$")));
    }
    Err(ConfigErrors::one(
        "$",
        "not an mcp-acl configuration: no `authorizations`, `policy` step or API `flows`; for deny-all write {\"authorizations\": []}",
    ))
}

static EMPTY_CONFIG: Value = Value::Null;

fn read_configuration(r: &mut Reader, config: &Value, path: &str) -> Policy {
    let mut policy = Policy::default();
    if config.is_null() {
        return policy;
    }
    let Some(obj) = config.as_object() else {
        r.bad(
            path,
            alloc::format!("must be an object, found {}", type_name(config)),
        );
        return policy;
    };
    match obj.get("denial").map(|v| (v, v.as_str())) {
        None | Some((Value::Null, _)) => {}
        Some((_, Some("hide"))) => policy.denial = DenialMode::Hide,
        Some((_, Some("forbid"))) => policy.denial = DenialMode::Forbid,
        Some((_, Some("http"))) => policy.denial = DenialMode::Http,
        Some(_) => r.bad(
            &alloc::format!("{path}.denial"),
            "must be \"hide\", \"forbid\" or \"http\"",
        ),
    }
    match obj.get("resourceLinks").map(|v| (v, v.as_str())) {
        None | Some((Value::Null, _)) => {}
        Some((_, Some("remove"))) => policy.resource_links = LinkMode::Remove,
        Some((_, Some("keep"))) => policy.resource_links = LinkMode::Keep,
        Some(_) => r.bad(
            &alloc::format!("{path}.resourceLinks"),
            "must be \"remove\" or \"keep\"",
        ),
    }
    read_path_mode(
        r,
        obj,
        path,
        "completion",
        &mut policy.completion,
        "completions by the prompt or template they name",
    );
    read_path_mode(
        r,
        obj,
        path,
        "subscriptions",
        &mut policy.subscriptions,
        "every URI of a subscriptions/listen by RESOURCES_SUBSCRIBE",
    );
    read_path_mode(
        r,
        obj,
        path,
        "tasks",
        &mut policy.tasks,
        "task requests and notifications as calls of the tool that created the task",
    );
    let auth_path = alloc::format!("{path}.authorizations");
    match obj.get("authorizations") {
        None | Some(Value::Null) => {}
        Some(Value::Array(rules)) => {
            for (i, rule) in rules.iter().enumerate() {
                let p = alloc::format!("{auth_path}[{i}]");
                if let Some(a) = read_rule(r, rule, &p) {
                    policy.authorizations.push(a);
                }
            }
        }
        Some(other) => r.bad(
            &auth_path,
            alloc::format!("must be an array, found {}", type_name(other)),
        ),
    }
    policy
}

/// Reads a [`PathMode`] member (`"judge"` or `"pass"`).
fn read_path_mode(
    r: &mut Reader,
    obj: &serde_json::Map<String, Value>,
    path: &str,
    key: &str,
    out: &mut PathMode,
    judged: &str,
) {
    let Some(v) = obj.get(key).filter(|v| !v.is_null()) else {
        return;
    };
    match v.as_str() {
        Some("judge") => *out = PathMode::Judge,
        Some("pass") => *out = PathMode::Pass,
        _ => r.bad(
            &alloc::format!("{path}.{key}"),
            alloc::format!(
                "must be \"judge\" (judge {judged}) or \"pass\" (Gravitee: forward unjudged)"
            ),
        ),
    }
}

fn read_rule(r: &mut Reader, rule: &Value, path: &str) -> Option<Authorization> {
    let Some(obj) = rule.as_object() else {
        r.bad(
            path,
            alloc::format!("a rule must be an object, found {}", type_name(rule)),
        );
        return None;
    };
    let condition = r.string(obj.get("condition"), &alloc::format!("{path}.condition"));
    let name = r.string(obj.get("name"), &alloc::format!("{path}.name"));
    let effect = match r
        .string(obj.get("effect"), &alloc::format!("{path}.effect"))
        .as_deref()
    {
        None | Some("ALLOW") => Effect::Allow,
        Some("DENY") => Effect::Deny,
        Some(other) => {
            r.bad(
                &alloc::format!("{path}.effect"),
                alloc::format!("unknown effect `{other}`; use \"ALLOW\" or \"DENY\""),
            );
            Effect::Allow
        }
    };
    let mut scopes = Vec::new();
    match obj.get("scopes") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (i, s) in items.iter().enumerate() {
                if let Some(s) = r.string(Some(s), &alloc::format!("{path}.scopes[{i}]")) {
                    scopes.push(s);
                }
            }
        }
        Some(other) => r.bad(
            &alloc::format!("{path}.scopes"),
            alloc::format!("must be an array of strings, found {}", type_name(other)),
        ),
    }
    let fpath = alloc::format!("{path}.authorizedFeatures");
    let mut features = Vec::new();
    match obj.get("authorizedFeatures") {
        Some(Value::Array(items)) if !items.is_empty() => {
            for (i, f) in items.iter().enumerate() {
                let p = alloc::format!("{fpath}[{i}]");
                if let Some(f) = read_feature(r, f, &p) {
                    if features.contains(&f) {
                        r.bad(&p, "repeats an earlier feature of this rule (Gravitee requires unique items)");
                    }
                    features.push(f);
                }
            }
        }
        Some(Value::Array(_)) | None | Some(Value::Null) => r.bad(
            &fpath,
            "a rule needs at least one authorized feature (Gravitee: minItems 1)",
        ),
        Some(other) => r.bad(
            &fpath,
            alloc::format!("must be an array, found {}", type_name(other)),
        ),
    }
    Some(Authorization {
        condition,
        effect,
        authorized_features: features,
        scopes,
        name,
    })
}

fn read_feature(r: &mut Reader, f: &Value, path: &str) -> Option<Feature> {
    let Some(obj) = f.as_object() else {
        r.bad(
            path,
            alloc::format!("a feature must be an object, found {}", type_name(f)),
        );
        return None;
    };
    let tpath = alloc::format!("{path}.type");
    let feature_type = match r.string(obj.get("type"), &tpath) {
        Some(t) => match FeatureType::parse(&t) {
            Some(ft) => ft,
            None => {
                r.bad(&tpath, alloc::format!(
                    "unknown feature type `{t}`; use TOOLS, RESOURCES or PROMPTS (or SAMPLING, ELICITATION, ROOTS)"
                ));
                return None;
            }
        },
        None => {
            r.bad(
                &tpath,
                "missing feature type; use TOOLS, RESOURCES or PROMPTS",
            );
            return None;
        }
    };
    let mpath = alloc::format!("{path}.methods");
    let mut methods = Vec::new();
    match obj.get("methods") {
        None | Some(Value::Null) => methods.push(feature_type.default_method()),
        Some(Value::Array(items)) => {
            for (i, m) in items.iter().enumerate() {
                let p = alloc::format!("{mpath}[{i}]");
                let Some(s) = r.string(Some(m), &p) else {
                    continue;
                };
                match AclMethod::parse(&s) {
                    Some(m) if m.feature() != feature_type => r.bad(
                        &p,
                        alloc::format!(
                            "method `{s}` belongs to {:?}, not to this {:?} feature; move it to a feature of its type",
                            m.feature(),
                            feature_type
                        ),
                    ),
                    Some(m) if methods.contains(&m) => {
                        r.bad(&p, alloc::format!("method `{s}` listed twice"))
                    }
                    Some(m) => methods.push(m),
                    None => r.bad(&p, alloc::format!("unknown method `{s}`")),
                }
            }
            if items.is_empty() {
                methods.push(feature_type.default_method());
            }
        }
        Some(other) => r.bad(
            &mpath,
            alloc::format!("must be an array, found {}", type_name(other)),
        ),
    }
    let ppath = alloc::format!("{path}.patternType");
    let pattern_type = match r.string(obj.get("patternType"), &ppath) {
        None => PatternType::Any,
        Some(p) => match PatternType::parse(&p) {
            Some(p) => p,
            None => {
                r.bad(&ppath, alloc::format!(
                    "unknown pattern type `{p}`; use ANY, LITERAL or EXPRESSION (or REGEX, PREFIX)"
                ));
                PatternType::Any
            }
        },
    };
    let vpath = alloc::format!("{path}.patternValue");
    let pattern_value = r.string(obj.get("patternValue"), &vpath);
    if pattern_type != PatternType::Any && pattern_value.is_none() {
        r.bad(
            &vpath,
            alloc::format!("pattern type {pattern_type:?} needs a patternValue"),
        );
    }
    Some(Feature {
        feature_type,
        methods,
        pattern_type,
        pattern_value,
    })
}
