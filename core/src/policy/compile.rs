//! `Policy` → `Engine`: literal names in hash sets, every glob/regex of one (method, effect)
//! in a single regex-automata `meta::Regex`, conditions compiled once.

use alloc::string::String;
use alloc::vec::Vec;

use core::ops::Range;

use hashbrown::HashMap;
use regex_automata::dfa::{Automaton, StartKind, dense};
use regex_automata::meta::{self, Regex};
use regex_automata::nfa::thompson;
use regex_automata::util::start;
use regex_automata::util::syntax;
use regex_automata::{Anchored, Input, MatchKind, PatternID};
use regex_syntax::hir::Hir;
use regex_syntax::hir::literal::{ExtractKind, Extractor};

use super::model::{
    AclMethod, ConfigErrors, ConfigIssue, DenialMode, Effect, FeatureType, LinkMode, PathMode,
    PatternType, Policy,
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
    regex: Option<RegexSet>,
}

/// The globs and regexes of one matcher: one automaton for all of them, plus what each
/// pattern's matches must look like, so that the patterns matching a subject can be listed
/// without allocating a `PatternSet` per call or keeping mutable state of our own in a shared
/// engine.
#[derive(Debug)]
struct RegexSet {
    /// Leftmost-first: a search names the earliest matching pattern, i.e. the first rule in
    /// policy order.
    re: Regex,
    /// The same patterns as one full DFA reporting every pattern that matches, when the set
    /// is small enough to determinize within the size limits: a name is then judged by one
    /// table lookup per byte, without the lazy DFA's cache or the meta regex's dispatch
    /// (which were most of a `tools/call` check).
    dfa: Option<dense::DFA<Vec<u32>>>,
    /// Indexed by pattern id.
    patterns: Vec<PatternFacts>,
    /// The glob text, or the prefix and suffix bytes, of every pattern: one buffer for all.
    literals: Vec<u8>,
}

/// What a subject must look like to match one pattern: cheap to test, never wrong when it
/// says no.
#[derive(Debug)]
struct PatternFacts {
    rule: u32,
    /// In bytes; `usize::MAX` when the pattern matches nothing.
    min_len: usize,
    /// The first (up to 8) bytes every match starts with, little-endian, and which of the 8
    /// they fill: most patterns are told apart by their first bytes, in one comparison.
    head: u64,
    head_mask: u64,
    /// [`byte_set`] of bytes every match contains: a name lacking one is out in one test,
    /// wherever the pattern's wildcards are.
    bytes: u128,
    shape: Shape,
}

#[derive(Debug)]
enum Shape {
    /// An `EXPRESSION` glob (a range of `RegexSet::literals`), matched directly.
    Glob(Range<usize>),
    /// A regex, known by the length and fixed ends of its matches.
    Regex {
        /// In bytes; `usize::MAX` when unbounded.
        max_len: usize,
        /// Bytes every match starts with (a range of `RegexSet::literals`).
        prefix: Range<usize>,
        /// Bytes every match ends with.
        suffix: Range<usize>,
    },
}

/// The set of the bytes in `bytes`, folded onto 128 bits (ASCII exactly).
fn byte_set(bytes: &[u8]) -> u128 {
    bytes.iter().fold(0, |set, b| set | 1u128 << (b & 127))
}

/// The first (up to 8) bytes of `bytes`, little-endian, zero-padded.
fn head_of(bytes: &[u8]) -> u64 {
    let mut buf = [0u8; 8];
    for (d, s) in buf.iter_mut().zip(bytes) {
        *d = *s;
    }
    u64::from_le_bytes(buf)
}

impl PatternFacts {
    fn new(rule: u32, min_len: usize, prefix: &[u8], bytes: u128, shape: Shape) -> Self {
        let n = prefix.len().min(8);
        Self {
            rule,
            min_len,
            head: head_of(prefix),
            head_mask: u64::MAX.checked_shr(64 - 8 * n as u32).unwrap_or(0),
            bytes,
            shape,
        }
    }

    fn glob(glob: &str, rule: u32, literals: &mut Vec<u8>) -> Self {
        let start = literals.len();
        literals.extend_from_slice(glob.as_bytes());
        let prefix = glob.split(['*', '?']).next().unwrap_or("");
        // Every `?` takes at least one byte, every other character its own bytes.
        let min_len = glob.len() - glob.matches('*').count();
        let fixed = byte_set(glob.replace(['*', '?'], "").as_bytes());
        let shape = Shape::Glob(start..literals.len());
        Self::new(rule, min_len, prefix.as_bytes(), fixed, shape)
    }

    fn regex(hir: &Hir, rule: u32, literals: &mut Vec<u8>) -> Self {
        let mut keep = |lit: Option<&[u8]>| {
            let start = literals.len();
            literals.extend_from_slice(lit.unwrap_or(&[]));
            start..literals.len()
        };
        let prefixes = Extractor::new().kind(ExtractKind::Prefix).extract(hir);
        let prefix = keep(prefixes.longest_common_prefix());
        let suffixes = Extractor::new().kind(ExtractKind::Suffix).extract(hir);
        let suffix = keep(suffixes.longest_common_suffix());
        let props = hir.properties();
        let head = literals.get(prefix.clone()).unwrap_or(&[]);
        let tail = literals.get(suffix.clone()).unwrap_or(&[]);
        let fixed = byte_set(head) | byte_set(tail);
        let min_len = props.minimum_len().unwrap_or(usize::MAX);
        let max_len = props.maximum_len().unwrap_or(usize::MAX);
        let shape = Shape::Regex {
            max_len,
            prefix,
            suffix,
        };
        Self::new(rule, min_len, head, fixed, shape)
    }

    /// `false` only when `subject` cannot match (the automaton has the last word).
    /// `head` is [`head_of`] the subject and `bytes` its [`byte_set`].
    #[inline]
    fn may_match(&self, subject: &str, head: u64, bytes: u128, literals: &[u8]) -> bool {
        // A match is at least as long as the head, so the padding is never compared.
        subject.len() >= self.min_len
            && head & self.head_mask == self.head
            && self.bytes & !bytes == 0
            && self.shape_allows(subject, literals)
    }

    fn shape_allows(&self, subject: &str, literals: &[u8]) -> bool {
        let lit = |r: &Range<usize>| literals.get(r.clone()).unwrap_or(&[]);
        match &self.shape {
            Shape::Glob(g) => glob_matches(lit(g), subject.as_bytes()),
            Shape::Regex {
                max_len,
                prefix,
                suffix,
            } => {
                subject.len() <= *max_len
                    && subject.as_bytes().starts_with(lit(prefix))
                    && subject.as_bytes().ends_with(lit(suffix))
            }
        }
    }
}

/// Whether `subject` matches the Gravitee glob `glob` (`*` any run of characters, `?` one
/// character, all else literal), as [`glob_to_regex`] reads it. Greedy with one backtrack
/// point (the last `*`), so no allocation and O(glob × subject) at worst. Both are UTF-8, and
/// the subject is only ever resumed at a character boundary.
fn glob_matches(glob: &[u8], subject: &[u8]) -> bool {
    let (mut g, mut s) = (0, 0);
    // Glob index after the last `*`, and the subject index that star's run ends at.
    let mut star: Option<(usize, usize)> = None;
    while let Some(&b) = subject.get(s) {
        match glob.get(g) {
            Some(b'*') => {
                g += 1;
                star = Some((g, s));
                continue;
            }
            Some(b'?') => {
                g += 1;
                s += utf8_width(b);
                continue;
            }
            Some(&c) if c == b => {
                g += 1;
                s += 1;
                continue;
            }
            _ => {}
        }
        let Some((after_star, run_end)) = star else {
            return false;
        };
        // Let the star take one more character and retry what follows it.
        let Some(&first) = subject.get(run_end) else {
            return false;
        };
        let run_end = run_end + utf8_width(first);
        star = Some((after_star, run_end));
        g = after_star;
        s = run_end;
    }
    s == subject.len()
        && glob
            .get(g..)
            .is_some_and(|rest| rest.iter().all(|&c| c == b'*'))
}

/// Length of the UTF-8 sequence a leading byte starts.
fn utf8_width(lead: u8) -> usize {
    match lead {
        0..0xC0 => 1,
        0xC0..0xE0 => 2,
        0xE0..0xF0 => 3,
        _ => 4,
    }
}

impl RegexSet {
    /// Calls `f` with the rule of each pattern matching `subject`, in pattern (policy) order,
    /// until `f` returns `true`; returns whether it did. Allocates nothing. With the full DFA
    /// one pass over the name finds every matching pattern; without it, the meta regex finds
    /// the first, and only when its rule does not apply are the later patterns tried one by
    /// one, each filtered by its facts before an anchored search.
    fn find(&self, subject: &str, mut f: impl FnMut(u32) -> bool) -> bool {
        if let Some(dfa) = &self.dfa
            && let Some(found) = self.find_dfa(dfa, subject, &mut f)
        {
            return found;
        }
        let Some(first) = self
            .re
            .search_half(&Input::new(subject).anchored(Anchored::Yes))
        else {
            return false;
        };
        let first = first.pattern().as_usize();
        if self.patterns.get(first).is_some_and(|p| f(p.rule)) {
            return true;
        }
        // Leftmost-first priority: no pattern before `first` matches.
        let (head, bytes) = (head_of(subject.as_bytes()), byte_set(subject.as_bytes()));
        self.patterns
            .iter()
            .enumerate()
            .skip(first + 1)
            .any(|(i, p)| {
                p.may_match(subject, head, bytes, &self.literals)
                    && PatternID::new(i).is_ok_and(|pid| {
                        self.re
                            .is_match(Input::new(subject).anchored(Anchored::Pattern(pid)))
                    })
                    && f(p.rule)
            })
    }

    /// [`RegexSet::find`] through the full DFA; `None` when it cannot tell (a quit byte).
    #[inline]
    fn find_dfa(
        &self,
        dfa: &dense::DFA<Vec<u32>>,
        subject: &str,
        f: &mut impl FnMut(u32) -> bool,
    ) -> Option<bool> {
        let mut sid = dfa
            .start_state(&start::Config::new().anchored(Anchored::Yes))
            .ok()?;
        for &b in subject.as_bytes() {
            sid = dfa.next_state(sid, b);
            if dfa.is_special_state(sid) {
                if dfa.is_dead_state(sid) {
                    return Some(false);
                }
                if dfa.is_quit_state(sid) {
                    return None;
                }
            }
        }
        // Every pattern is anchored at both ends: only the end of the name can match.
        sid = dfa.next_eoi_state(sid);
        if !dfa.is_match_state(sid) {
            return Some(false);
        }
        // The rules of all matching patterns, in policy order (a match state lists them in
        // the order determinization met them), until one applies.
        let n = dfa.match_len(sid);
        let mut after: Option<usize> = None;
        loop {
            let next = (0..n)
                .map(|i| dfa.match_pattern(sid, i).as_usize())
                .filter(|&p| after.is_none_or(|a| p > a))
                .min();
            let Some(p) = next else {
                return Some(false);
            };
            if self.patterns.get(p).is_some_and(|x| f(x.rule)) {
                return Some(true);
            }
            after = Some(p);
        }
    }
}

/// The most NFA states a pattern set may have to be tried as a full DFA, and the most bytes
/// the DFA and its construction may take: an ACL's few dozen globs and regexes fit; a set
/// past either keeps the lazy DFA, so a large or hostile policy costs no more to compile.
const DFA_NFA_STATES: usize = 2_000;
const DFA_BYTES: usize = 256 << 10;

/// The full DFA of a pattern set that fits [`DFA_NFA_STATES`] and [`DFA_BYTES`].
fn full_dfa(hirs: &[Hir], limits: &Limits) -> Option<dense::DFA<Vec<u32>>> {
    let bytes = limits.max_regex_bytes.min(DFA_BYTES);
    let nfa = thompson::Compiler::new()
        .configure(
            thompson::Config::new()
                .nfa_size_limit(Some(bytes))
                .which_captures(thompson::WhichCaptures::None),
        )
        .build_many_from_hir(hirs)
        .ok()?;
    if nfa.states().len() > DFA_NFA_STATES {
        return None;
    }
    dense::Builder::new()
        .configure(
            dense::Config::new()
                .match_kind(MatchKind::All)
                .start_kind(StartKind::Anchored)
                .dfa_size_limit(Some(bytes))
                .determinize_size_limit(Some(bytes)),
        )
        .build_from_nfa(&nfa)
        .ok()
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
        self.regex.as_ref().is_some_and(|set| set.find(subject, f))
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
    pub(crate) completion: PathMode,
    pub(crate) subscriptions: PathMode,
    pub(crate) tasks: PathMode,
    pub(crate) limits: Limits,
    /// Whether any rule has a condition: without one, nothing reads `#mcp`, so a host need not
    /// parse the request again to filter its answer.
    pub(crate) has_conditions: bool,
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

#[derive(Clone)]
struct PendingRegex {
    pattern: String,
    /// The glob the pattern was made from (`EXPRESSION`).
    glob: Option<String>,
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
                                    glob: (f.pattern_type == PatternType::Expression)
                                        .then(|| value.clone()),
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
                let m = if effect_idx == 1 {
                    &mut slot.deny
                } else {
                    &mut slot.allow
                };
                if let Some(set) = folded_set(m, &group, limits) {
                    m.literals.clear();
                    m.prefixes.clear();
                    m.regex = Some(set);
                    continue;
                }
                match build_set(&group, limits) {
                    Ok(set) => m.regex = Some(set),
                    Err(mut errs) => issues.append(&mut errs),
                }
            }
        }

        if !issues.is_empty() {
            return Err(ConfigErrors { issues });
        }
        let has_conditions = rules.iter().any(|r| r.condition.is_some());
        Ok(Self {
            has_conditions,
            rules,
            slots,
            governed,
            denial: policy.denial,
            links: policy.resource_links,
            completion: policy.completion,
            subscriptions: policy.subscriptions,
            tasks: policy.tasks,
            limits: limits.clone(),
        })
    }

    /// Reads and compiles a policy document in one step (see [`Policy::from_json`]).
    pub fn from_json(bytes: &[u8], limits: &Limits) -> Result<Self, ConfigErrors> {
        Self::compile(&Policy::from_json(bytes)?, limits)
    }

    /// A policy granting everything: for hosts without a policy, which still get what the
    /// engine does beyond rules (messages that cannot be read are refused, answers matched and
    /// judged by id, event streams and media types checked, misspelled methods refused).
    pub fn allow_all(limits: &Limits) -> Result<Self, ConfigErrors> {
        use crate::policy::model::{Authorization, Feature};
        let feature = |feature_type, methods: &[AclMethod]| Feature {
            feature_type,
            methods: methods.to_vec(),
            pattern_type: PatternType::Any,
            pattern_value: None,
        };
        let policy = Policy {
            authorizations: alloc::vec![Authorization {
                name: Some(String::from("allow all")),
                condition: None,
                effect: Effect::Allow,
                scopes: Vec::new(),
                authorized_features: alloc::vec![
                    feature(
                        FeatureType::Tools,
                        &[AclMethod::ToolsList, AclMethod::ToolsCall]
                    ),
                    feature(
                        FeatureType::Resources,
                        &[
                            AclMethod::ResourcesList,
                            AclMethod::ResourcesRead,
                            AclMethod::ResourcesTemplatesList,
                            AclMethod::ResourcesSubscribe,
                        ],
                    ),
                    feature(
                        FeatureType::Prompts,
                        &[AclMethod::PromptsList, AclMethod::PromptsGet]
                    ),
                ],
            }],
            ..Policy::default()
        };
        Self::compile(&policy, limits)
    }

    /// Whether task messages are judged as calls of their tool (else passed, as Gravitee does).
    pub fn judges_tasks(&self) -> bool {
        self.tasks == PathMode::Judge
    }

    /// Whether a decision of this engine can read the [`Context`](crate::Context): only rule
    /// conditions do, so without any a host may pass `Context::default()` instead of building
    /// one from the request for every message.
    pub fn reads_context(&self) -> bool {
        self.has_conditions
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
        .match_kind(MatchKind::LeftmostFirst)
        .which_captures(regex_automata::nfa::thompson::WhichCaptures::Implicit)
        .nfa_size_limit(Some(limits.max_regex_bytes))
        .onepass_size_limit(Some(limits.max_regex_bytes))
        .dfa_size_limit(Some(limits.max_regex_bytes))
        .hybrid_cache_capacity(limits.max_regex_bytes.max(1 << 16))
}

/// What is wrong, in one line: the full rendering quotes the pattern as wrapped for matching
/// (`\A(?:…)\z`), with a caret under offsets the author did not write.
fn syntax_problem(e: &regex_syntax::Error) -> String {
    match e {
        regex_syntax::Error::Parse(e) => alloc::format!("{}", e.kind()),
        regex_syntax::Error::Translate(e) => alloc::format!("{}", e.kind()),
        e => alloc::format!("{e}"),
    }
}

/// The most literal and prefix patterns a matcher folds into its regex set (see
/// [`folded_set`]); past it, the hash of literals and the list of prefixes are kept.
const FOLD_MAX: usize = 64;

/// `m`'s literal and prefix patterns and `group` (its regexes and globs) as one set, when `m`
/// has few of them and the whole set still gets a full DFA: one pass of that DFA over a name
/// then finds every matching pattern, instead of a hash lookup and a test of each prefix
/// (one `memcmp` call each) before it. The patterns keep the order [`Matcher::find`] visits
/// them in (literals, prefixes, then the regexes in policy order), so the same rule decides.
/// `None` when there is nothing to fold or it would not pay (no full DFA).
fn folded_set(m: &Matcher, group: &[PendingRegex], limits: &Limits) -> Option<RegexSet> {
    let literals: usize = m.literals.values().map(Vec::len).sum();
    let n = literals + m.prefixes.len();
    if n == 0 || n > FOLD_MAX {
        return None;
    }
    let mut lits: Vec<(&str, u32)> = m
        .literals
        .iter()
        .flat_map(|(l, rules)| rules.iter().map(move |r| (l.as_str(), *r)))
        .collect();
    // One name equals one literal at most; its rules in the order they were added.
    lits.sort_by_key(|&(_, r)| r);
    let pattern = |text: &str, tail: &str| {
        let mut out = String::from(r"\A(?:");
        regex_syntax::escape_into(text, &mut out);
        out.push_str(tail);
        out
    };
    let folded: Vec<PendingRegex> = lits
        .into_iter()
        .map(|(l, rule)| (pattern(l, r")\z"), rule))
        .chain(
            m.prefixes
                .iter()
                .map(|(p, rule)| (pattern(p, r")(?s:.)*\z"), *rule)),
        )
        .map(|(pattern, rule)| PendingRegex {
            pattern,
            glob: None,
            rule,
            path: String::new(),
        })
        .chain(group.iter().cloned())
        .collect();
    build_set(&folded, limits)
        .ok()
        .filter(|set| set.dfa.is_some())
}

/// Parses every pattern once (for its facts and for the automaton), naming each one that does
/// not parse; then builds one automaton for the group.
fn build_set(group: &[PendingRegex], limits: &Limits) -> Result<RegexSet, Vec<ConfigIssue>> {
    let syntax = syntax::Config::new().nest_limit(64);
    let mut hirs = Vec::with_capacity(group.len());
    let mut patterns = Vec::with_capacity(group.len());
    let mut literals = Vec::new();
    let mut issues = Vec::new();
    for p in group {
        match syntax::parse_with(&p.pattern, &syntax) {
            Ok(hir) => {
                patterns.push(match &p.glob {
                    Some(g) => PatternFacts::glob(g, p.rule, &mut literals),
                    None => PatternFacts::regex(&hir, p.rule, &mut literals),
                });
                hirs.push(hir);
            }
            Err(e) => issues.push(ConfigIssue {
                path: p.path.clone(),
                message: alloc::format!("invalid pattern: {}", syntax_problem(&e)),
            }),
        }
    }
    if !issues.is_empty() {
        return Err(issues);
    }
    let built = Regex::builder()
        .configure(regex_config(limits))
        .build_many_from_hir(&hirs);
    let re = built.map_err(|e| {
        // Name the culprit when the builder can; otherwise check each pattern alone.
        if let Some(p) = e.pattern().and_then(|pid| group.get(pid.as_usize())) {
            return alloc::vec![ConfigIssue {
                path: p.path.clone(),
                message: alloc::format!("invalid pattern: {e}"),
            }];
        }
        let mut out = Vec::new();
        for (p, hir) in group.iter().zip(&hirs) {
            if let Err(e1) = Regex::builder()
                .configure(regex_config(limits))
                .build_from_hir(hir)
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
    })?;
    Ok(RegexSet {
        re,
        dfa: full_dfa(&hirs, limits),
        patterns,
        literals,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    // `prop_oneof!` expands to `vec!`, which a no_std crate does not have in scope.
    use alloc::vec;
    use proptest::prelude::*;

    /// Regex bodies, or globs as `EXPRESSION` rules have them; rule ids are positions.
    fn pending(regexes: &[String], globs: &[String]) -> Vec<PendingRegex> {
        let regexes = regexes.iter().map(|r| (r.clone(), None));
        let globs = globs.iter().map(|g| (glob_to_regex(g), Some(g.clone())));
        regexes
            .chain(globs)
            .enumerate()
            .map(|(i, (body, glob))| PendingRegex {
                pattern: alloc::format!(r"\A(?:{body})\z"),
                glob,
                rule: u32::try_from(i).unwrap(),
                path: String::new(),
            })
            .collect()
    }

    /// The rules a `find` (of a set or a matcher) offers, in order, when none applies.
    fn offered_by(find: impl FnOnce(&mut dyn FnMut(u32) -> bool) -> bool) -> Vec<u32> {
        let mut seen = Vec::new();
        find(&mut |r| {
            seen.push(r);
            false
        });
        seen
    }

    /// The rules `set.find` offers, in order, when none applies.
    fn offered(set: &RegexSet, subject: &str) -> Vec<u32> {
        offered_by(|f| set.find(subject, f))
    }

    /// The rules whose pattern matches, each pattern compiled alone.
    fn reference(group: &[PendingRegex], subject: &str) -> Vec<u32> {
        group
            .iter()
            .filter(|p| Regex::new(&p.pattern).unwrap().is_match(subject))
            .map(|p| p.rule)
            .collect()
    }

    fn piece() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("a"),
            Just("b"),
            Just("é"),
            Just("_"),
            Just("(?s:.*)"),
            Just("(?s:.)"),
            Just("(?:a|b)"),
            Just("a*"),
            Just("(?i:b)"),
            Just("[ab]{2}"),
            Just("[^\\s\\S]"),
        ]
        .prop_map(String::from)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn every_matching_pattern_is_offered_once_in_policy_order(
            regexes in prop::collection::vec(
                prop::collection::vec(piece(), 0..5).prop_map(|v| v.concat()), 0..6),
            globs in prop::collection::vec("[ab_é*?.]{0,6}", 0..6),
            subjects in prop::collection::vec("[abBé_.]{0,7}", 1..12),
        ) {
            let group = pending(&regexes, &globs);
            prop_assume!(!group.is_empty());
            let set = build_set(&group, &Limits::default()).unwrap();
            // Small sets are judged by the full DFA; the meta regex (large sets) must agree.
            prop_assert!(set.dfa.is_some());
            let mut lazy = build_set(&group, &Limits::default()).unwrap();
            lazy.dfa = None;
            for s in &subjects {
                let want = reference(&group, s);
                prop_assert_eq!(
                    offered(&set, s), want.clone(), "{:?} {:?} on {:?}", regexes, globs, s
                );
                prop_assert_eq!(
                    offered(&lazy, s), want, "meta: {:?} {:?} on {:?}", regexes, globs, s
                );
            }
        }

        #[test]
        fn folding_literals_and_prefixes_offers_the_same_rules_in_the_same_order(
            literals in prop::collection::vec("[ab_é.*]{0,4}", 0..6),
            prefixes in prop::collection::vec("[ab_é.*]{0,3}", 0..6),
            regexes in prop::collection::vec(
                prop::collection::vec(piece(), 0..4).prop_map(|v| v.concat()), 0..4),
            globs in prop::collection::vec("[ab_é*?.]{0,5}", 0..4),
            subjects in prop::collection::vec("[ab_é.*]{0,6}", 1..12),
        ) {
            let group = pending(&regexes, &globs);
            prop_assume!(!group.is_empty());
            // Rule ids after the regexes', interleaved as a policy would list them.
            let mut m = Matcher::default();
            let mut next = u32::try_from(group.len()).unwrap();
            for (i, l) in literals.iter().enumerate() {
                m.literals.entry(l.clone()).or_default().push(next);
                next += 1;
                if let Some(p) = prefixes.get(i) {
                    m.prefixes.push((p.clone(), next));
                    next += 1;
                }
            }
            for p in prefixes.iter().skip(literals.len()) {
                m.prefixes.push((p.clone(), next));
                next += 1;
            }
            let folded = folded_set(&m, &group, &Limits::default());
            prop_assume!(folded.is_some());
            let folded = Matcher {
                regex: folded,
                ..Matcher::default()
            };
            m.regex = Some(build_set(&group, &Limits::default()).unwrap());
            for s in &subjects {
                prop_assert_eq!(
                    offered_by(|f| folded.find(s, f)),
                    offered_by(|f| m.find(s, f)),
                    "on {:?}", s
                );
            }
        }

        #[test]
        fn globs_match_as_their_regex(glob in "[ab*?é]{0,8}", subject in "[abé]{0,8}") {
            let re = Regex::new(&alloc::format!(r"\A(?:{})\z", glob_to_regex(&glob))).unwrap();
            prop_assert_eq!(glob_matches(glob.as_bytes(), subject.as_bytes()), re.is_match(&subject));
        }
    }

    #[test]
    fn sets_that_do_not_determinize_cheaply_keep_the_meta_regex() {
        // Globs with several stars each make the DFA's states multiply: the set gives up on
        // it within the size limits and answers through the meta regex, the same rules.
        let letters = b"abcdefghijklmnopqrstuvwxyz";
        let globs: Vec<String> = (0..60)
            .map(|i| {
                let pick = |k: usize| char::from(letters[(i * 7 + k * 5) % 26]);
                alloc::format!("*{}*{}*{}*{}*", pick(0), pick(1), pick(2), pick(3))
            })
            .collect();
        let group = pending(&[], &globs);
        let set = build_set(&group, &Limits::default()).unwrap();
        assert!(set.dfa.is_none());
        let mut matched = 0;
        for s in ["xafxkxpx", "afkp", "hmrw-omty", "zzz", "", "pkfa"] {
            let want = reference(&group, s);
            matched += want.len();
            assert_eq!(offered(&set, s), want, "{s}");
        }
        assert!(matched >= 3, "the subjects should match some globs");
        // And a handful of plain globs gets one.
        let small = pending(&[], &[String::from("docs_*"), String::from("*_readonly")]);
        assert!(build_set(&small, &Limits::default()).unwrap().dfa.is_some());
    }

    #[test]
    fn regex_facts_narrow_without_excluding() {
        let group = pending(
            &[
                String::from("svc1_(?s:.*)"),
                String::from("(?s:.*)_readonly"),
                String::from("(?:read|list)_(?:file|dir)s?"),
                String::from("a(?s:.)c"),
            ],
            &[],
        );
        let set = build_set(&group, &Limits::default()).unwrap();
        let lits = &set.literals;
        let text = |r: &Range<usize>| core::str::from_utf8(&lits[r.clone()]).unwrap();
        let facts: Vec<_> = set
            .patterns
            .iter()
            .map(|p| match &p.shape {
                Shape::Regex {
                    max_len,
                    prefix,
                    suffix,
                } => (text(prefix), text(suffix), p.min_len, *max_len),
                Shape::Glob(_) => panic!("not a glob"),
            })
            .collect();
        assert_eq!(
            facts,
            [
                ("svc1_", "", 5, usize::MAX),
                ("", "_readonly", 9, usize::MAX),
                ("", "", 8, 10),
                ("a", "c", 3, 6),
            ]
        );
        let may = |i: usize, s: &str| {
            let b = s.as_bytes();
            set.patterns[i].may_match(s, head_of(b), byte_set(b), lits)
        };
        assert!(!may(0, "svc11_x"));
        assert!(may(0, "svc1_x"));
        assert!(!may(1, "x_readonlyx"));
        assert!(!may(1, "x_raedonly"));
        assert!(may(3, "aéc"));
    }

    #[test]
    fn globs_backtrack_to_the_last_star() {
        for (glob, subject, want) in [
            ("*_readonly", "a_b_readonly", true),
            ("a*b*c", "abxbyc", true),
            ("a*b*c", "abxbycd", false),
            ("a?c", "aéc", true),
            ("a?c", "ac", false),
            ("*", "", true),
            ("", "", true),
            ("?", "", false),
            ("**x", "yyx", true),
        ] {
            assert_eq!(
                glob_matches(glob.as_bytes(), subject.as_bytes()),
                want,
                "{glob} on {subject}"
            );
        }
    }

    #[test]
    fn every_invalid_pattern_is_named_in_one_line() {
        let p = br#"{"authorizations":[{"authorizedFeatures":[
            {"type":"TOOLS","patternType":"REGEX","patternValue":"(unclosed"},
            {"type":"TOOLS","patternType":"EXPRESSION","patternValue":"fine_*"},
            {"type":"TOOLS","patternType":"REGEX","patternValue":"\\p{Nope}"}]}]}"#;
        let err = Engine::from_json(p, &Limits::default()).unwrap_err();
        let got: Vec<(&str, &str)> = err
            .issues
            .iter()
            .map(|i| (i.path.as_str(), i.message.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "$.authorizations[0].authorizedFeatures[0].patternValue",
                    "invalid pattern: unclosed group"
                ),
                (
                    "$.authorizations[0].authorizedFeatures[2].patternValue",
                    "invalid pattern: Unicode property not found"
                ),
            ]
        );
    }

    #[test]
    fn engine_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Engine>();
    }
}
