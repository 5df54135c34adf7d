//! `mcp-policy lint`: warnings about a policy, optionally against a real `tools/list` result.

use std::process::ExitCode;

use mcp_policy::policy::{
    AclMethod, Authorization, Effect, Engine, Feature, FeatureType, LinkMode, PathMode,
    PatternType, Policy,
};
use mcp_policy::{Context, Limits};
use serde_json::{Value, json};

use super::{fail, print_json, read_input};

/// Arguments of `mcp-policy lint`.
#[derive(Debug, clap::Args)]
pub(crate) struct LintArgs {
    /// Policy file; `-` for stdin.
    #[arg(long)]
    pub(crate) policy: String,
    /// A `tools/list` response (or its `result`) to check tool patterns against.
    #[arg(long)]
    pub(crate) tools: Option<String>,
}

/// Runs the subcommand: prints `{"errors": [...], "warnings": [...]}` with every problem
/// found in one run. Exits 0 when the policy has no errors (warnings do not fail), 1 when it
/// has errors (so a CI step can gate on it), 2 when the files cannot be read.
pub(crate) fn run(args: &LintArgs) -> ExitCode {
    match lint(args) {
        Ok(v) => {
            let code = print_json(&v);
            let has_errors = v["errors"].as_array().is_some_and(|e| !e.is_empty());
            if has_errors && code == ExitCode::SUCCESS {
                ExitCode::from(1)
            } else {
                code
            }
        }
        Err(e) => fail(&e),
    }
}

fn warn(out: &mut Vec<Value>, path: String, message: String) {
    out.push(json!({ "path": path, "message": message }));
}

fn tool_names(bytes: &[u8], file: &str) -> Result<Vec<String>, String> {
    let v: Value =
        serde_json::from_slice(bytes).map_err(|e| format!("tools list `{file}`: {e}"))?;
    let tools = v
        .pointer("/result/tools")
        .or_else(|| v.get("tools"))
        .and_then(Value::as_array)
        .ok_or_else(|| format!("tools list `{file}` has no `result.tools` (or `tools`) array"))?;
    Ok(tools
        .iter()
        .filter_map(|t| t.get("name")?.as_str().map(String::from))
        .collect())
}

/// An engine granting only this one feature, to ask which names it matches.
fn single(feature: &Feature) -> Option<Engine> {
    let p = Policy {
        authorizations: vec![Authorization {
            condition: None,
            effect: Effect::Allow,
            authorized_features: vec![feature.clone()],
            scopes: vec![],
            name: None,
        }],
        ..Policy::default()
    };
    Engine::compile(&p, &Limits::default()).ok()
}

fn lint(args: &LintArgs) -> Result<Value, String> {
    let bytes = read_input(&args.policy, "policy")?;
    let tools = match &args.tools {
        Some(f) => Some(tool_names(&read_input(f, "tools list")?, f)?),
        None => None,
    };
    // The readable part of a broken policy is still compiled, so a broken condition or regex
    // is reported in the same run as an unknown method elsewhere.
    let (policy, mut issues) = match Policy::from_json_partial(&bytes) {
        Ok(p) => p,
        Err(e) => return Ok(json!({ "errors": e.issues, "warnings": [] })),
    };
    if let Err(e) = Engine::compile(&policy, &Limits::default()) {
        for i in e.issues {
            if !issues.contains(&i) {
                issues.push(i);
            }
        }
    }
    let errors: Vec<Value> = issues.iter().map(|i| json!(i)).collect();
    let mut w = Vec::new();
    lint_passed_paths(&mut w, &policy);
    if policy.authorizations.is_empty() {
        warn(
            &mut w,
            "$.authorizations".into(),
            "no rules: every tool, resource and prompt is hidden and refused (implicit deny)"
                .into(),
        );
    }
    let ctx = Context::default();
    for (ri, rule) in policy.authorizations.iter().enumerate() {
        let rp = format!("$.authorizations[{ri}]");
        if let Some(c) = rule.condition.as_deref() {
            lint_condition(&mut w, &format!("{rp}.condition"), c);
        }
        if rule.effect == Effect::Deny {
            warn(
                &mut w,
                format!("{rp}.effect"),
                "DENY rules are an mcp-policy extension; Gravitee would reject this configuration"
                    .into(),
            );
        }
        for (fi, f) in rule.authorized_features.iter().enumerate() {
            let fp = format!("{rp}.authorizedFeatures[{fi}]");
            if matches!(f.pattern_type, PatternType::Regex | PatternType::Prefix) {
                warn(
                    &mut w,
                    format!("{fp}.patternType"),
                    format!(
                        "{:?} is an mcp-policy extension (Gravitee knows ANY, LITERAL, EXPRESSION)",
                        f.pattern_type
                    ),
                );
            }
            if let (PatternType::Literal, Some(v)) = (f.pattern_type, &f.pattern_value) {
                if v.contains(['*', '?']) {
                    warn(
                        &mut w,
                        format!("{fp}.patternValue"),
                        format!(
                            "LITERAL `{v}` contains * or ?, which match only themselves; did you mean EXPRESSION?"
                        ),
                    );
                }
                if v.trim() != v || v.is_empty() {
                    warn(
                        &mut w,
                        format!("{fp}.patternValue"),
                        format!(
                            "LITERAL `{v}` has surrounding spaces or is empty; it can never match a real name"
                        ),
                    );
                }
            }
            if rule.effect == Effect::Allow {
                lint_consistency(&mut w, &fp, f);
            }
            if let (Some(names), FeatureType::Tools) = (&tools, f.feature_type)
                && f.pattern_type != PatternType::Any
                && let Some(e) = single(f)
            {
                let acl = f.methods.first().copied().unwrap_or(AclMethod::ToolsList);
                if !names.iter().any(|n| e.allows(acl, n, &ctx)) {
                    warn(
                        &mut w,
                        format!("{fp}.patternValue"),
                        format!(
                            "`{}` matches no tool in the given list ({} tools)",
                            f.pattern_value.as_deref().unwrap_or(""),
                            names.len()
                        ),
                    );
                }
            }
        }
    }
    Ok(json!({ "errors": errors, "warnings": w }))
}

/// Paths to a name that the policy leaves at Gravitee's pass-through although it governs
/// what those paths reach: each is a way around the rules.
fn lint_passed_paths(w: &mut Vec<Value>, policy: &Policy) {
    // Every policy governs prompts and resources (no grant hides them), so a passed path is
    // always a way around it.
    if policy.completion == PathMode::Pass {
        warn(
            w,
            "$.completion".into(),
            "\"pass\" forwards completion/complete unjudged: a client can confirm a hidden prompt or resource template and list its argument values; remove it to judge completions by the prompt or template they name".into(),
        );
    }
    if policy.subscriptions == PathMode::Pass {
        warn(
            w,
            "$.subscriptions".into(),
            "\"pass\" forwards subscriptions/listen unjudged: a client can subscribe to updates of hidden resources and learn which exist; remove it to judge every URI by RESOURCES_SUBSCRIBE".into(),
        );
    }
    if policy.tasks == PathMode::Pass {
        warn(
            w,
            "$.tasks".into(),
            "\"pass\" forwards task requests unjudged: a client that learns a task id can read the result of a tool it may not call; remove it to judge tasks as calls of their tool".into(),
        );
    }
    if policy.resource_links == LinkMode::Keep {
        warn(
            w,
            "$.resourceLinks".into(),
            "\"keep\" leaves links to and embedded copies of resources the caller may not read in tool results and prompts; remove it to cut them".into(),
        );
    }
}

/// A grant of a call without the list (or the reverse) leaves tools callable but invisible,
/// or visible but refused: legal, but usually a mistake.
fn lint_consistency(w: &mut Vec<Value>, fp: &str, f: &Feature) {
    let pairs = [
        (
            AclMethod::ToolsCall,
            AclMethod::ToolsList,
            "callable but not listed",
        ),
        (
            AclMethod::PromptsGet,
            AclMethod::PromptsList,
            "gettable but not listed",
        ),
        (
            AclMethod::ResourcesRead,
            AclMethod::ResourcesList,
            "readable but not listed",
        ),
    ];
    for (act, list, what) in pairs {
        if f.methods.contains(&act) && !f.methods.contains(&list) {
            warn(
                w,
                format!("{fp}.methods"),
                format!(
                    "{} without {}: {what} (unless another rule lists them)",
                    act.as_str(),
                    list.as_str()
                ),
            );
        }
    }
}

/// Gravitee EL gotchas (reference/gravitee.md §3.7) that make a condition silently false.
fn lint_condition(w: &mut Vec<Value>, path: &str, c: &str) {
    let t = c.trim();
    if t.starts_with("{!")
        || t.starts_with("{not ")
        || t.starts_with("{'")
        || t.starts_with("{\"")
        || t.starts_with("{1")
    {
        warn(w, path.into(), "Gravitee treats `{` followed by anything but `#`, `T(` or `(` as literal text, so this condition is a constant string; write `{(!...)}` or start with `#`".into());
    }
    if t.contains(".headers[") && t.contains("] ==") && !t.contains("][0]") {
        warn(w, path.into(), "a header is a list of values: `#request.headers['x'] == 'v'` is always false; use `#request.headers['x'][0]` or `.getFirst('x')`".into());
    }
    if t.contains("['oauth.payload']['") || t.contains("['oauth.payload'].") {
        warn(w, path.into(), "`oauth.payload` is a JSON string, not a map; use `#jsonPath(#context.attributes['oauth.payload'], '$.scope')` or `user.roles`".into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn condition_gotchas_are_reported() {
        let mut w = Vec::new();
        lint_condition(&mut w, "$", "{#request.headers['x-role'] == 'admin'}");
        lint_condition(&mut w, "$", "{!#request.headers['x'].isEmpty()}");
        lint_condition(
            &mut w,
            "$",
            "{#context.attributes['oauth.payload']['scopes'].contains('a')}",
        );
        lint_condition(&mut w, "$", "{#request.headers['x-role'][0] == 'admin'}");
        assert_eq!(w.len(), 3);
    }
}
