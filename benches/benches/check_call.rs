//! `check_call`: one `tools/call` (~300 bytes) against a 50-rule ACL, from raw bytes to
//! decision, in mcp-policy and in the same ACL written for cel-rust, Cedar and regorus.
//!
//! `cargo bench -p mcp-policy-benches --bench check_call -- --warm-up-time 1 --measurement-time 3`
//!
//! Before measuring (and in test mode, `cargo test --benches`), every engine is asked for a
//! decision on every probe name and identity of `mcp_policy_benches`; all four must agree, and
//! so must `Guard::client`, the exchange API a host calls.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::hint::black_box;
use std::str::FromStr;
use std::sync::Arc;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use mcp_policy::context::Data;
use mcp_policy::exchange::{ClientVerdict, Guard, ReplyKind, RequestFacts};
use mcp_policy::policy::Engine;
use mcp_policy::{Context, Limits, Message};
use mcp_policy_benches::{
    Identity, PROBE_NAMES, RuleShape, call_message, check_policy_json, check_rules,
};

/// The bench cases: allowed by the second regex (rule 47, so peers that try rules in order
/// go through 47 of them), and denied because no rule grants the name (every rule tried).
const CASES: [(&str, &str); 2] = [("allow", "query_orders"), ("deny", "drop_database")];

// ---------------------------------------------------------------- mcp-policy

fn our_context(id: &Identity) -> Context<'static> {
    let mut claims: Vec<(Cow<'static, str>, Data<'static>)> =
        vec![(Cow::Borrowed("sub"), Data::from(id.sub))];
    for (k, v) in &id.claims {
        claims.push((Cow::Borrowed(*k), Data::from(*v)));
    }
    Context::builder()
        .attribute("user", id.sub)
        .attribute("user.roles", id.roles.clone())
        .attribute("jwt.claims", Data::Map(claims))
        .build()
}

fn ours(engine: &Engine, body: &[u8], ctx: &Context<'_>) -> bool {
    match Message::parse(body, engine.limits()) {
        Ok(msg) => engine.check(&msg, ctx).is_allowed(),
        Err(_) => false,
    }
}

/// The facts of a well-formed POST: only `Content-Type`, as a 2025-03-26 client sends it.
const FACTS: RequestFacts<'static> = RequestFacts {
    protocol_version: None,
    mcp_method: None,
    mcp_name: None,
    content_type: Some(b"application/json"),
    content_encoding: None,
    repeated: None,
};

/// What a host asks per POST: the verdict on the body, with the request registered in the
/// session as waiting for its answer when it is forwarded.
fn ours_exchange(guard: &Guard, body: &[u8], ctx: &Context<'_>) -> bool {
    let session = guard.session();
    match guard.client(body, &FACTS, ctx, &session) {
        ClientVerdict::Forward(_) => true,
        ClientVerdict::Reply(r) => {
            assert_eq!(
                r.kind,
                ReplyKind::Denied,
                "{:?}",
                String::from_utf8_lossy(&r.body)
            );
            false
        }
    }
}

// ---------------------------------------------------------------- shared by peers

/// What every peer extracts from the raw bytes: the typed shape a gateway deserialises
/// (arguments are kept as a JSON value, as rmcp-based gateways do).
#[derive(serde::Deserialize)]
struct CallRequest<'a> {
    #[allow(dead_code)]
    jsonrpc: Cow<'a, str>,
    #[allow(dead_code)]
    id: serde_json::Value,
    #[serde(borrow)]
    method: Cow<'a, str>,
    #[serde(borrow)]
    params: CallParams<'a>,
}

#[derive(serde::Deserialize)]
struct CallParams<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[allow(dead_code)]
    #[serde(default)]
    arguments: Option<serde_json::Map<String, serde_json::Value>>,
    #[allow(dead_code)]
    #[serde(default, rename = "_meta")]
    meta: Option<serde_json::Value>,
}

fn parse_call(body: &[u8]) -> Option<CallRequest<'_>> {
    let req: CallRequest<'_> = serde_json::from_slice(body).ok()?;
    (req.method == "tools/call").then_some(req)
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

// ---------------------------------------------------------------- cel-rust

/// One CEL program per ACL rule, tried in order until one is true (agentgateway's allow-list
/// semantics; an evaluation error counts as false). Variables: `mcp.tool.name`, `user.roles`,
/// `jwt.<claim>`.
struct Cel {
    env: Arc<cel::Env>,
    programs: Vec<cel::Program>,
}

impl Cel {
    fn new() -> Self {
        let env = Arc::new(cel::Env::stdlib());
        let programs = check_rules()
            .iter()
            .map(|r| {
                let n = "mcp.tool.name";
                let src = match r {
                    RuleShape::Literal(l) => format!("{n} == {}", quote(l)),
                    RuleShape::Prefix(p) => format!("{n}.startsWith({})", quote(p)),
                    RuleShape::Suffix(s) => format!("{n}.endsWith({})", quote(s)),
                    RuleShape::Contains(s) => format!("{n}.contains({})", quote(s)),
                    RuleShape::RegexFinite { names, .. } => {
                        let list: Vec<String> = names.iter().map(|x| quote(x)).collect();
                        format!("{n} in [{}]", list.join(", "))
                    }
                    RuleShape::RegexPrefixes { prefixes, .. } => format!(
                        "{n}.startsWith({}) || {n}.startsWith({})",
                        quote(prefixes[0]),
                        quote(prefixes[1])
                    ),
                    RuleShape::PrefixWithRole { prefix, role } => format!(
                        "{n}.startsWith({}) && {} in user.roles",
                        quote(prefix),
                        quote(role)
                    ),
                    RuleShape::LiteralWithClaim { name, claim, value } => {
                        format!("{n} == {} && jwt.{claim} == {}", quote(name), quote(value))
                    }
                };
                env.compile(&src).unwrap_or_else(|e| panic!("{src}: {e}"))
            })
            .collect();
        Self { env, programs }
    }

    /// The evaluation context a gateway builds per request.
    fn context(&self, tool: &str, id: &Identity) -> cel::Context<'static, 'static> {
        let mut ctx = cel::Context::with_env(Arc::clone(&self.env));
        let mut tool_map: HashMap<String, cel::Value> = HashMap::new();
        tool_map.insert("name".into(), tool.to_owned().into());
        let mut mcp: HashMap<String, cel::Value> = HashMap::new();
        mcp.insert("tool".into(), tool_map.into());
        ctx.add_variable_from_value("mcp", mcp);
        let roles: Vec<cel::Value> = id.roles.iter().map(|r| (*r).into()).collect();
        let mut user: HashMap<String, cel::Value> = HashMap::new();
        user.insert("roles".into(), cel::Value::List(Arc::new(roles)));
        ctx.add_variable_from_value("user", user);
        let mut jwt: HashMap<String, cel::Value> = HashMap::new();
        jwt.insert("sub".into(), id.sub.into());
        for (k, v) in &id.claims {
            jwt.insert((*k).into(), (*v).into());
        }
        ctx.add_variable_from_value("jwt", jwt);
        ctx
    }

    fn eval(&self, ctx: &cel::Context<'_, '_>) -> bool {
        self.programs
            .iter()
            .any(|p| matches!(p.execute(ctx), Ok(cel::Value::Bool(true))))
    }

    fn decide_raw(&self, body: &[u8], id: &Identity) -> bool {
        let Some(req) = parse_call(body) else {
            return false;
        };
        self.eval(&self.context(&req.params.name, id))
    }
}

// ---------------------------------------------------------------- Cedar

/// One Cedar policy per ACL rule: `permit(principal, action == Action::"tools/call", …)`.
/// The tool is the resource `Tool::"<name>"` and also `context.tool` (for `like`); roles are
/// the principal's parents `Role::"<role>"`; claims are `context.jwt`.
struct Cedar {
    policies: cedar_policy::PolicySet,
    authorizer: cedar_policy::Authorizer,
    action: cedar_policy::EntityUid,
}

fn cedar_uid(ty: &str, id: &str) -> cedar_policy::EntityUid {
    cedar_policy::EntityUid::from_type_name_and_id(
        cedar_policy::EntityTypeName::from_str(ty).expect("type name"),
        cedar_policy::EntityId::new(id),
    )
}

impl Cedar {
    fn new() -> Self {
        let mut src = String::new();
        let head = r#"permit(principal, action == Action::"tools/call","#;
        for r in check_rules() {
            let p = match r {
                RuleShape::Literal(l) => format!("{head} resource == Tool::{});", quote(&l)),
                RuleShape::Prefix(p) => {
                    format!("{head} resource) when {{ context.tool like \"{p}*\" }};")
                }
                RuleShape::Suffix(s) => {
                    format!("{head} resource) when {{ context.tool like \"*{s}\" }};")
                }
                RuleShape::Contains(s) => {
                    format!("{head} resource) when {{ context.tool like \"*{s}*\" }};")
                }
                RuleShape::RegexFinite { names, .. } => {
                    let list: Vec<String> = names.iter().map(|x| quote(x)).collect();
                    format!(
                        "{head} resource) when {{ [{}].contains(context.tool) }};",
                        list.join(", ")
                    )
                }
                RuleShape::RegexPrefixes { prefixes, .. } => format!(
                    "{head} resource) when {{ context.tool like \"{}*\" || context.tool like \"{}*\" }};",
                    prefixes[0], prefixes[1]
                ),
                RuleShape::PrefixWithRole { prefix, role } => format!(
                    "permit(principal in Role::{}, action == Action::\"tools/call\", resource) when {{ context.tool like \"{prefix}*\" }};",
                    quote(role)
                ),
                RuleShape::LiteralWithClaim { name, claim, value } => format!(
                    "{head} resource == Tool::{}) when {{ context.jwt has {claim} && context.jwt.{claim} == {} }};",
                    quote(name),
                    quote(value)
                ),
            };
            src.push_str(&p);
            src.push('\n');
        }
        let policies = cedar_policy::PolicySet::from_str(&src).unwrap_or_else(|e| panic!("{e}"));
        Self {
            policies,
            authorizer: cedar_policy::Authorizer::new(),
            action: cedar_uid("Action", "tools/call"),
        }
    }

    /// The request and entities a gateway builds per request.
    fn request(
        &self,
        tool: &str,
        id: &Identity,
    ) -> (cedar_policy::Request, cedar_policy::Entities) {
        use cedar_policy::RestrictedExpression as X;
        let principal = cedar_uid("User", id.sub);
        let parents: HashSet<cedar_policy::EntityUid> =
            id.roles.iter().map(|r| cedar_uid("Role", r)).collect();
        let mut entities = vec![cedar_policy::Entity::new_no_attrs(
            principal.clone(),
            parents.clone(),
        )];
        entities.extend(
            parents
                .into_iter()
                .map(|p| cedar_policy::Entity::new_no_attrs(p, HashSet::new())),
        );
        let entities =
            cedar_policy::Entities::from_entities(entities, None).expect("valid entities");
        let mut jwt = vec![("sub".to_owned(), X::new_string(id.sub.to_owned()))];
        for (k, v) in &id.claims {
            jwt.push(((*k).to_owned(), X::new_string((*v).to_owned())));
        }
        let context = cedar_policy::Context::from_pairs([
            ("tool".to_owned(), X::new_string(tool.to_owned())),
            (
                "jwt".to_owned(),
                X::new_record(jwt).expect("distinct claim names"),
            ),
        ])
        .expect("valid context");
        let request = cedar_policy::Request::new(
            principal,
            self.action.clone(),
            cedar_uid("Tool", tool),
            context,
            None,
        )
        .expect("valid request");
        (request, entities)
    }

    fn eval(&self, request: &cedar_policy::Request, entities: &cedar_policy::Entities) -> bool {
        self.authorizer
            .is_authorized(request, &self.policies, entities)
            .decision()
            == cedar_policy::Decision::Allow
    }

    fn decide_raw(&self, body: &[u8], id: &Identity) -> bool {
        let Some(req) = parse_call(body) else {
            return false;
        };
        let (request, entities) = self.request(&req.params.name, id);
        self.eval(&request, &entities)
    }
}

// ---------------------------------------------------------------- regorus

/// One Rego `allow if …` per ACL rule, over `input.message` (the JSON-RPC body as regorus
/// parses it), `input.user.roles` and `input.jwt`; compiled with `data.mcp.allow` as entry
/// point.
struct Rego {
    compiled: regorus::CompiledPolicy,
}

impl Rego {
    fn new() -> Self {
        let mut src = String::from(
            "package mcp\n\ndefault allow := false\n\ntool := input.message.params.name if input.message.method == \"tools/call\"\n\n",
        );
        for r in check_rules() {
            let body = match r {
                RuleShape::Literal(l) => format!("tool == {}", quote(&l)),
                RuleShape::Prefix(p) => format!("startswith(tool, {})", quote(p)),
                RuleShape::Suffix(s) => format!("endswith(tool, {})", quote(s)),
                RuleShape::Contains(s) => format!("contains(tool, {})", quote(s)),
                RuleShape::RegexFinite { names, .. } => {
                    let list: Vec<String> = names.iter().map(|x| quote(x)).collect();
                    format!("tool in {{{}}}", list.join(", "))
                }
                RuleShape::RegexPrefixes { prefixes, .. } => {
                    src.push_str(&format!(
                        "allow if startswith(tool, {})\n",
                        quote(prefixes[0])
                    ));
                    format!("startswith(tool, {})", quote(prefixes[1]))
                }
                RuleShape::PrefixWithRole { prefix, role } => format!(
                    "{{\n  startswith(tool, {})\n  {} in input.user.roles\n}}",
                    quote(prefix),
                    quote(role)
                ),
                RuleShape::LiteralWithClaim { name, claim, value } => format!(
                    "{{\n  tool == {}\n  input.jwt.{claim} == {}\n}}",
                    quote(name),
                    quote(value)
                ),
            };
            src.push_str(&format!("allow if {body}\n"));
        }
        let mut engine = regorus::Engine::new();
        engine
            .add_policy("mcp.rego".into(), src.clone())
            .unwrap_or_else(|e| panic!("{e}\n{src}"));
        let compiled = engine
            .compile_with_entrypoint(&"data.mcp.allow".into())
            .unwrap_or_else(|e| panic!("{e}"));
        Self { compiled }
    }

    fn identity(id: &Identity) -> (regorus::Value, regorus::Value) {
        let roles: Vec<regorus::Value> = id.roles.iter().map(|r| (*r).into()).collect();
        let mut user = regorus::Value::new_object();
        let u = user.as_object_mut().expect("object");
        u.insert("sub".into(), id.sub.into());
        u.insert("roles".into(), roles.into());
        let mut jwt = regorus::Value::new_object();
        let j = jwt.as_object_mut().expect("object");
        j.insert("sub".into(), id.sub.into());
        for (k, v) in &id.claims {
            j.insert((*k).into(), (*v).into());
        }
        (user, jwt)
    }

    /// The input a gateway builds per request: the parsed body plus the identity.
    fn input(message: regorus::Value, id: &Identity) -> regorus::Value {
        let (user, jwt) = Self::identity(id);
        let mut input = regorus::Value::new_object();
        let i = input.as_object_mut().expect("object");
        i.insert("message".into(), message);
        i.insert("user".into(), user);
        i.insert("jwt".into(), jwt);
        input
    }

    fn eval(&self, input: regorus::Value) -> bool {
        matches!(self.compiled.eval_with_input(input), Ok(v) if v == regorus::Value::from(true))
    }

    fn decide_raw(&self, body: &[u8], id: &Identity) -> bool {
        let Ok(text) = std::str::from_utf8(body) else {
            return false;
        };
        let Ok(message) = regorus::Value::from_json_str(text) else {
            return false;
        };
        self.eval(Self::input(message, id))
    }
}

// ---------------------------------------------------------------- agreement

/// Every engine, from raw bytes and from a pre-built context, on every probe name and
/// identity: one decision each, all equal; and the expected mix of outcomes occurs.
fn assert_engines_agree(guard: &Guard, c: &Cel, cd: &Cedar, rg: &Rego) {
    let engine = guard.engine();
    let mut outcomes = HashSet::new();
    for id in [Identity::alice(), Identity::bob()] {
        let ctx = our_context(&id);
        for name in PROBE_NAMES {
            let body = call_message(name);
            let b = body.as_bytes();
            let want = ours(engine, b, &ctx);
            let (req, ents) = cd.request(name, &id);
            let msg = regorus::Value::from_json_str(&body).expect("valid JSON");
            let got = [
                ("Guard::client", ours_exchange(guard, b, &ctx)),
                ("cel-rust", c.decide_raw(b, &id)),
                ("cel-rust prebuilt", c.eval(&c.context(name, &id))),
                ("cedar", cd.decide_raw(b, &id)),
                ("cedar prebuilt", cd.eval(&req, &ents)),
                ("regorus", rg.decide_raw(b, &id)),
                ("regorus prebuilt", rg.eval(Rego::input(msg, &id))),
            ];
            for (peer, d) in got {
                assert_eq!(d, want, "{peer} disagrees on `{name}` for {}", id.sub);
            }
            outcomes.insert((id.sub, *name, want));
        }
    }
    // Allowed, denied by pattern, denied and allowed by each condition.
    for expected in [
        ("alice", "query_orders", true),
        ("alice", "drop_database", false),
        ("alice", "admin_reset", false),
        ("bob", "admin_reset", true),
        ("alice", "billing_invoice", true),
        ("bob", "billing_invoice", false),
    ] {
        assert!(outcomes.contains(&expected), "{expected:?}");
    }
}

// ---------------------------------------------------------------- benches

fn bench(c: &mut Criterion) {
    let limits = Limits::default();
    let guard = Guard::new(Arc::new(
        Engine::from_json(check_policy_json().as_bytes(), &limits)
            .unwrap_or_else(|e| panic!("{e}")),
    ));
    let engine: &Engine = guard.engine();
    assert_eq!(engine.rule_count(), 50);
    let cel = Cel::new();
    let cedar = Cedar::new();
    let rego = Rego::new();
    assert_engines_agree(&guard, &cel, &cedar, &rego);

    let id = Identity::alice();
    let ctx = our_context(&id);

    for (case, name) in CASES {
        let body = call_message(name);
        let b = body.as_bytes();
        let expected = case == "allow";
        assert_eq!(ours(engine, b, &ctx), expected);
        assert_eq!(ours_exchange(&guard, b, &ctx), expected);

        let mut g = c.benchmark_group(format!("check_call/{case}"));
        g.bench_function("mcp-policy, from raw bytes", |bn| {
            bn.iter(|| ours(engine, black_box(b), black_box(&ctx)))
        });
        // The same decision as a host gets it: media type, parse as a body (message or
        // batch), revision and mirrored headers, check, then either the denial rendered as the
        // HTTP reply or the request registered in the session with the exchange that will
        // judge its answer. A fresh session per call (made outside the timing, dropped with
        // the verdict after it) keeps the table of waiting requests at one entry.
        g.bench_function("mcp-policy, exchange (Guard::client verdict)", |bn| {
            bn.iter_batched(
                || guard.session(),
                |session| guard.client(black_box(b), &FACTS, black_box(&ctx), &session),
                BatchSize::SmallInput,
            )
        });
        g.bench_function("mcp-policy, from raw bytes + Context built", |bn| {
            bn.iter(|| {
                let ctx = our_context(black_box(&id));
                ours(engine, black_box(b), &ctx)
            })
        });
        g.bench_function("cel-rust, from raw bytes", |bn| {
            bn.iter(|| cel.decide_raw(black_box(b), black_box(&id)))
        });
        g.bench_function("cedar, from raw bytes", |bn| {
            bn.iter(|| cedar.decide_raw(black_box(b), black_box(&id)))
        });
        g.bench_function("regorus, from raw bytes", |bn| {
            bn.iter(|| rego.decide_raw(black_box(b), black_box(&id)))
        });

        // Reference points for the parse: serde_json only validating the same bytes (no
        // decision, no duplicate-key check, no member positions), and our parse alone.
        g.bench_function("serde_json IgnoredAny (validation only)", |bn| {
            bn.iter(|| serde_json::from_slice::<serde::de::IgnoredAny>(black_box(b)).is_ok())
        });
        g.bench_function("mcp-policy, Message::parse only", |bn| {
            bn.iter(|| Message::parse(black_box(b), &limits).is_ok())
        });
        let msg = Message::parse(b, &limits).expect("valid message");
        g.bench_function("mcp-policy, parsed message (check only)", |bn| {
            bn.iter(|| engine.check(black_box(&msg), black_box(&ctx)).is_allowed())
        });
        let cel_ctx = cel.context(name, &id);
        g.bench_function("cel-rust, prebuilt context (eval only)", |bn| {
            bn.iter(|| cel.eval(black_box(&cel_ctx)))
        });
        let (req, ents) = cedar.request(name, &id);
        g.bench_function("cedar, prebuilt context (eval only)", |bn| {
            bn.iter(|| cedar.eval(black_box(&req), black_box(&ents)))
        });
        let input = Rego::input(regorus::Value::from_json_str(&body).expect("JSON"), &id);
        g.bench_function("regorus, prebuilt context (eval only)", |bn| {
            bn.iter(|| rego.eval(black_box(&input).clone()))
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
