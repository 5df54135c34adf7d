//! `Policy` → `Engine`: literal names in hash sets, every glob/regex of one (method, effect)
//! in a single regex-automata `meta::Regex`, conditions compiled once.

use alloc::string::String;
use alloc::vec::Vec;

use hashbrown::HashMap;
use regex_automata::meta::{self, Regex};
use regex_automata::util::syntax;
use regex_automata::{Anchored, Input, MatchKind, PatternSet};

use super::model::{
    AclMethod, ConfigErrors, ConfigIssue, DenialMode, Effect, FeatureType, LinkMode, PatternType,
    Policy,
};
use crate::expr::Template;
use crate::limits::Limits;

/// One compiled rule.
#[derive(Debug)]
pub(crate) struct Rule {
    /// `None` when the rule always applies (no condition, blank, or constant true).
    pub(crate) condition: Option<Template>,
    /// A rule whose condition is constant false never applies; kept for audits and lint.
    pub(crate) never: bool,
    pub(crate) scopes: Vec<String>,
    pub(crate) name: Option<String>,
}

/// All name patterns of one (method, effect), queried together.
#[derive(Debug, Default)]
pub(crate) struct Matcher {
    any: Vec<u32>,
    literals: HashMap<String, Vec<u32>>,
    prefixes: Vec<(String, u32)>,
    regex: Option<(Regex, Vec<u32>)>,
}

impl Matcher {
    pub(crate) fn is_empty(&self) -> bool {
        self.any.is_empty()
            && self.literals.is_empty()
            && self.prefixes.is_empty()
            && self.regex.is_none()
    }

    /// Calls `f` with each rule whose pattern matches `subject`, cheapest kinds first, until
    /// `f` returns `true`; returns whether it did.
    pub(crate) fn find(&self, subject: &str, mut f: impl FnMut(u32) -> bool) -> bool {
        if self.any.iter().any(|r| f(*r)) {
            return true;
        }
        if let Some(rules) = self.literals.get(subject)
            && rules.iter().any(|r| f(*r))
        {
            return true;
        }
        if self
            .prefixes
            .iter()
            .any(|(p, r)| subject.starts_with(p.as_str()) && f(*r))
        {
            return true;
        }
        if let Some((re, rules)) = &self.regex {
            let input = Input::new(subject).anchored(Anchored::Yes);
            // One search names one matching pattern without allocating; only when that rule
            // does not apply (its condition is false) are the others enumerated.
            let Some(first) = re.search_half(&input) else {
                return false;
            };
            if rules.get(first.pattern().as_usize()).is_some_and(|r| f(*r)) {
                return true;
            }
            if re.pattern_len() == 1 {
                return false;
            }
            let mut set = PatternSet::new(re.pattern_len());
            re.which_overlapping_matches(&input, &mut set);
            return set
                .iter()
                .filter(|pid| *pid != first.pattern())
                .any(|pid| rules.get(pid.as_usize()).is_some_and(|r| f(*r)));
        }
        false
    }
}

/// Allow and deny matchers of one ACL method.
#[derive(Debug, Default)]
pub(crate) struct Slot {
    pub(crate) allow: Matcher,
    pub(crate) deny: Matcher,
}

/// The compiled, immutable policy. `Send + Sync`: share one behind an `Arc` across threads.
#[derive(Debug)]
pub struct Engine {
    pub(crate) rules: Vec<Rule>,
    pub(crate) slots: Vec<Slot>,
    /// Server→client features some rule mentions; the others pass, as in Gravitee.
    pub(crate) governed: [bool; 3],
    pub(crate) denial: DenialMode,
    pub(crate) links: LinkMode,
    pub(crate) limits: Limits,
}

/// Index of a server→client feature in `Engine::governed`.
pub(crate) fn server_feature_index(t: FeatureType) -> Option<usize> {
    match t {
        FeatureType::Sampling => Some(0),
        FeatureType::Elicitation => Some(1),
        FeatureType::Roots => Some(2),
        _ => None,
    }
}

/// Turns a Gravitee `EXPRESSION` glob into a regex: `*` any run, `?` one character, all else
/// literal (so special characters in names need no escaping by the policy author).
pub(crate) fn glob_to_regex(glob: &str) -> String {
    let mut out = String::with_capacity(glob.len() + 8);
    let mut buf = [0u8; 4];
    for c in glob.chars() {
        match c {
            '*' => out.push_str("(?s:.*)"),
            '?' => out.push_str("(?s:.)"),
            c => regex_syntax::escape_into(c.encode_utf8(&mut buf), &mut out),
        }
    }
    out
}

struct PendingRegex {
    pattern: String,
    rule: u32,
    path: String,
}

impl Engine {
    /// Compiles a policy. Every problem (bad regex, oversized pattern set, condition that does
    /// not parse) is reported with its JSON path.
    pub fn compile(policy: &Policy, limits: &Limits) -> Result<Self, ConfigErrors> {
        let mut issues: Vec<ConfigIssue> = Vec::new();
        if let Err(e) = limits.validate() {
            issues.push(ConfigIssue {
                path: String::from("limits"),
                message: alloc::format!("{e}"),
            });
        }
        let mut rules = Vec::with_capacity(policy.authorizations.len());
        let mut slots: Vec<Slot> = AclMethod::ALL.iter().map(|_| Slot::default()).collect();
        let mut pending: Vec<[Vec<PendingRegex>; 2]> = AclMethod::ALL
            .iter()
            .map(|_| [Vec::new(), Vec::new()])
            .collect();
        let mut governed = [false; 3];

        for (ri, auth) in policy.authorizations.iter().enumerate() {
            let rpath = alloc::format!("$.authorizations[{ri}]");
            let rule_id = u32::try_from(ri).unwrap_or(u32::MAX);
            let (condition, never) = match auth.condition.as_deref().map(str::trim) {
                None | Some("") => (None, false),
                Some(src) => match Template::compile(src, limits) {
                    Ok(t) => match t.is_constant() {
                        Some(true) => (None, false),
                        Some(false) => (None, true),
                        None => (Some(t), false),
                    },
                    Err(e) => {
                        issues.push(ConfigIssue {
                            path: alloc::format!("{rpath}.condition"),
                            message: alloc::format!("{e}"),
                        });
                        (None, true)
                    }
                },
            };
            let effect_idx = usize::from(auth.effect == Effect::Deny);
            for (fi, f) in auth.authorized_features.iter().enumerate() {
                let fpath = alloc::format!("{rpath}.authorizedFeatures[{fi}]");
                if let Some(g) =
                    server_feature_index(f.feature_type).and_then(|i| governed.get_mut(i))
                {
                    *g = true;
                }
                let value = f.pattern_value.clone().unwrap_or_default();
                for m in &f.methods {
                    let Some(slot) = slots.get_mut(m.slot()) else {
                        continue;
                    };
                    let matcher = if auth.effect == Effect::Deny {
                        &mut slot.deny
                    } else {
                        &mut slot.allow
                    };
                    match f.pattern_type {
                        PatternType::Any => matcher.any.push(rule_id),
                        PatternType::Literal => {
                            matcher
                                .literals
                                .entry(value.clone())
                                .or_default()
                                .push(rule_id);
                        }
                        PatternType::Prefix => matcher.prefixes.push((value.clone(), rule_id)),
                        PatternType::Expression | PatternType::Regex => {
                            let body = if f.pattern_type == PatternType::Expression {
                                glob_to_regex(&value)
                            } else {
                                value.clone()
                            };
                            if let Some(p) = pending
                                .get_mut(m.slot())
                                .and_then(|p| p.get_mut(effect_idx))
                            {
                                p.push(PendingRegex {
                                    pattern: alloc::format!(r"\A(?:{body})\z"),
                                    rule: rule_id,
                                    path: alloc::format!("{fpath}.patternValue"),
                                });
                            }
                        }
                    }
                }
            }
            rules.push(Rule {
                condition,
                never,
                scopes: auth.scopes.clone(),
                name: auth.name.clone(),
            });
        }

        for (slot, per_effect) in slots.iter_mut().zip(pending) {
            for (effect_idx, group) in per_effect.into_iter().enumerate() {
                if group.is_empty() {
                    continue;
                }
                match build_set(&group, limits) {
                    Ok(re) => {
                        let ids = group.iter().map(|p| p.rule).collect();
                        let m = if effect_idx == 1 {
                            &mut slot.deny
                        } else {
                            &mut slot.allow
                        };
                        m.regex = Some((re, ids));
                    }
                    Err(mut errs) => issues.append(&mut errs),
                }
            }
        }

        if !issues.is_empty() {
            return Err(ConfigErrors { issues });
        }
        Ok(Self {
            rules,
            slots,
            governed,
            denial: policy.denial,
            links: policy.resource_links,
            limits: limits.clone(),
        })
    }

    /// Reads and compiles a policy document in one step (see [`Policy::from_json`]).
    pub fn from_json(bytes: &[u8], limits: &Limits) -> Result<Self, ConfigErrors> {
        Self::compile(&Policy::from_json(bytes)?, limits)
    }

    /// Number of rules.
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// The limits the engine was compiled with (also used for messages it parses).
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// How denials are answered.
    pub fn denial_mode(&self) -> DenialMode {
        self.denial
    }

    pub(crate) fn slot(&self, m: AclMethod) -> Option<&Slot> {
        self.slots.get(m.slot())
    }
}

fn regex_config(limits: &Limits) -> meta::Config {
    meta::Config::new()
        .match_kind(MatchKind::All)
        .which_captures(regex_automata::nfa::thompson::WhichCaptures::Implicit)
        .nfa_size_limit(Some(limits.max_regex_bytes))
        .onepass_size_limit(Some(limits.max_regex_bytes))
        .dfa_size_limit(Some(limits.max_regex_bytes))
        .hybrid_cache_capacity(limits.max_regex_bytes.max(1 << 16))
}

fn build_set(group: &[PendingRegex], limits: &Limits) -> Result<Regex, Vec<ConfigIssue>> {
    let patterns: Vec<&str> = group.iter().map(|p| p.pattern.as_str()).collect();
    let syntax = syntax::Config::new().nest_limit(64);
    let built = Regex::builder()
        .configure(regex_config(limits))
        .syntax(syntax)
        .build_many(&patterns);
    built.map_err(|e| {
        // Name the culprit when the builder can; otherwise check each pattern alone.
        if let Some(p) = e.pattern().and_then(|pid| group.get(pid.as_usize())) {
            return alloc::vec![ConfigIssue {
                path: p.path.clone(),
                message: alloc::format!("invalid pattern: {e}"),
            }];
        }
        let mut out = Vec::new();
        for p in group {
            if let Err(e1) = Regex::builder()
                .configure(regex_config(limits))
                .syntax(syntax)
                .build(&p.pattern)
            {
                out.push(ConfigIssue {
                    path: p.path.clone(),
                    message: alloc::format!("invalid pattern: {e1}"),
                });
            }
        }
        if out.is_empty() {
            out.push(ConfigIssue {
                path: group.first().map(|p| p.path.clone()).unwrap_or_default(),
                message: alloc::format!(
                    "the patterns of this method together exceed max_regex_bytes ({e}); simplify them or raise the limit"
                ),
            });
        }
        out
    })
}
