//! The compiled policy: judging one message, filtering one answer, evaluating a condition.

use std::sync::Arc;

use mcp_policy::expr::ResultType;
use mcp_policy::policy::Decision as CoreDecision;
use mcp_policy::policy::Engine;
use mcp_policy::{Body, Limits, Message, answer};
use napi::Env;
use napi::bindgen_prelude::Buffer;
use napi_derive::napi;
use serde_json::Value;

use crate::convert::{self, CtxArg, Input};
use crate::error::{self, Result};
use crate::exchange::{Guard, GuardOptions};

/// Bounds on the work any input can cause. Every field is optional; absent ones keep the
/// engine's defaults.
#[napi(object)]
#[derive(Debug, Default)]
pub struct LimitsOptions {
    /// Largest accepted body in bytes (default 16 MiB).
    pub max_body_bytes: Option<u32>,
    /// Deepest nesting of arrays and objects (default 128, at most 1024).
    pub max_depth: Option<u32>,
    /// Most messages in one JSON-RPC batch (default 64).
    pub max_batch_len: Option<u32>,
    /// Longest string in bytes (default 8 MiB).
    pub max_string_bytes: Option<u32>,
    /// Most keys of one object (default 10,000).
    pub max_object_keys: Option<u32>,
    /// Largest compiled size of the regular expressions of one policy feature (default 4 MiB).
    pub max_regex_bytes: Option<u32>,
    /// Most evaluation steps of one condition (default 10,000).
    pub max_expr_steps: Option<u32>,
    /// Deepest nesting of one condition expression (default 64).
    pub max_expr_depth: Option<u32>,
}

impl LimitsOptions {
    /// The options that give `l` (every field set).
    pub(crate) fn of(l: &Limits) -> Self {
        let n = |v: usize| Some(u32::try_from(v).unwrap_or(u32::MAX));
        Self {
            max_body_bytes: n(l.max_body_bytes),
            max_depth: n(l.max_depth),
            max_batch_len: n(l.max_batch_len),
            max_string_bytes: n(l.max_string_bytes),
            max_object_keys: n(l.max_object_keys),
            max_regex_bytes: n(l.max_regex_bytes),
            max_expr_steps: Some(l.max_expr_steps),
            max_expr_depth: n(l.max_expr_depth),
        }
    }

    fn limits(&self) -> Limits {
        let d = Limits::default();
        let n = |v: Option<u32>, def: usize| v.map_or(def, |v| v as usize);
        Limits {
            max_body_bytes: n(self.max_body_bytes, d.max_body_bytes),
            max_depth: n(self.max_depth, d.max_depth),
            max_batch_len: n(self.max_batch_len, d.max_batch_len),
            max_string_bytes: n(self.max_string_bytes, d.max_string_bytes),
            max_object_keys: n(self.max_object_keys, d.max_object_keys),
            max_regex_bytes: n(self.max_regex_bytes, d.max_regex_bytes),
            max_expr_steps: self.max_expr_steps.unwrap_or(d.max_expr_steps),
            max_expr_depth: n(self.max_expr_depth, d.max_expr_depth),
        }
    }
}

/// A compiled policy (Gravitee `mcp-acl` or mcp-policy's own format): immutable, shared by
/// every call. A reload is a new `Policy`.
#[napi]
#[derive(Debug, Clone)]
pub struct Policy {
    pub(crate) engine: Arc<Engine>,
}

#[napi]
impl Policy {
    /// Reads and compiles a policy document: an object, its JSON text, or a Buffer holding it.
    /// Throws `INVALID_POLICY` with every issue and its JSON path (`error.issues`), or
    /// `INVALID_LIMITS` for unusable `limits`.
    #[napi(factory, catch_unwind)]
    pub fn from_json(
        env: Env,
        #[napi(ts_arg_type = "object | string | Uint8Array")] policy: Input<'_>,
        limits: Option<LimitsOptions>,
    ) -> Result<Self> {
        let bytes = convert::bytes(&env, &policy, "policy")?;
        let limits = limits.unwrap_or_default().limits();
        limits.validate().map_err(|e| error::core(&e))?;
        let engine = Engine::from_json(&bytes, &limits)
            .map_err(|e| error::throw(answer::policy_error(&e)))?;
        Ok(Self {
            engine: Arc::new(engine),
        })
    }

    /// A policy granting every tool, resource and prompt: for proxies without a policy, which
    /// still get what the engine does beyond rules (unreadable messages refused, answers
    /// matched by id, event streams and media types checked).
    #[napi(factory, catch_unwind)]
    pub fn allow_all(limits: Option<LimitsOptions>) -> Result<Self> {
        let limits = limits.unwrap_or_default().limits();
        limits.validate().map_err(|e| error::core(&e))?;
        let engine =
            Engine::allow_all(&limits).map_err(|e| error::throw(answer::policy_error(&e)))?;
        Ok(Self {
            engine: Arc::new(engine),
        })
    }

    /// The limits the policy was compiled with (every field set). Hosts read at most
    /// `maxBodyBytes` + 1 bytes of a body, so that the engine answers a larger one (413).
    #[napi(getter, catch_unwind)]
    pub fn limits(&self) -> LimitsOptions {
        LimitsOptions::of(self.engine.limits())
    }

    /// How many rules the policy has.
    #[napi(getter, catch_unwind)]
    pub fn rule_count(&self) -> u32 {
        u32::try_from(self.engine.rule_count()).unwrap_or(u32::MAX)
    }

    /// The verdict on one client message or a batch, for `check` (`index.js` builds the
    /// `Decision` from it, and asks `__answer` for the rest only when it is read, so that a
    /// check that only needs `allowed` creates no object in Rust): bit 0 is set when the
    /// message may be forwarded, the bits above hold the HTTP status (0 for a batch). Not for
    /// applications: use `check`.
    #[napi(js_name = "__verdict", catch_unwind)]
    pub fn verdict(
        &self,
        env: Env,
        #[napi(ts_arg_type = "Uint8Array | string")] message: Input<'_>,
        #[napi(ts_arg_type = "Context | string")] context: Option<CtxArg<'_>>,
    ) -> Result<u32> {
        let bytes = convert::bytes(&env, &message, "message")?;
        let ctx = convert::ctx(&env, &context)?;
        let (allowed, status) = match Body::parse(&bytes, self.engine.limits()) {
            Err(e) => (false, e.http_status()),
            Ok(Body::Single(m)) => match self.engine.check(&m, &ctx) {
                CoreDecision::Allow(..) => (true, 200),
                CoreDecision::Deny(denial) => (false, denial.http_status()),
            },
            Ok(Body::Batch(ms)) => (
                ms.iter().all(|m| self.engine.check(m, &ctx).is_allowed()),
                0,
            ),
        };
        Ok(u32::from(status) << 1 | u32::from(allowed))
    }

    /// Core's decision answer (`answer::check`) on a message, as JSON text: what
    /// `Decision.answer` holds, parsed (the same bytes and context give the same answer as the
    /// verdict; JSON text is the cheapest way to hand a tree to JavaScript). Not for
    /// applications: use `check(...).answer`.
    #[napi(js_name = "__answer", catch_unwind)]
    pub fn check_answer(
        &self,
        env: Env,
        #[napi(ts_arg_type = "Uint8Array | string")] message: Input<'_>,
        #[napi(ts_arg_type = "Context | string")] context: Option<CtxArg<'_>>,
    ) -> Result<String> {
        let bytes = convert::bytes(&env, &message, "message")?;
        let ctx = convert::ctx(&env, &context)?;
        Ok(answer::check(&self.engine, &bytes, &ctx).to_string())
    }

    /// Filters one whole server answer (`response`: a result, an error or a notification) to
    /// the client `request` it answers: list items the policy hides are removed, links to
    /// hidden resources too. Throws the message error (`SYNTAX`, `DUPLICATE_KEY`...) when
    /// `response` cannot be read (it must not be forwarded), `INVALID_ARGUMENT` when `request`
    /// cannot.
    #[napi(catch_unwind)]
    pub fn filter_response(
        &self,
        env: Env,
        #[napi(ts_arg_type = "Uint8Array | string | object")] request: Input<'_>,
        #[napi(ts_arg_type = "Uint8Array | string | object")] response: Input<'_>,
        #[napi(ts_arg_type = "Context | object | string")] context: Option<CtxArg<'_>>,
    ) -> Result<Filtered> {
        let req = convert::bytes(&env, &request, "request")?;
        let resp = convert::bytes(&env, &response, "response")?;
        let ctx = convert::ctx(&env, &context)?;
        let req = Message::parse(&req, self.engine.limits()).map_err(|e| {
            error::bad_arg(format!("request: the client request does not parse: {e}"))
        })?;
        let f = self
            .engine
            .filter_response(&req, &resp, &ctx)
            .map_err(|e| error::core(&e))?;
        let body = f.apply(&resp).map(<[u8]>::to_vec);
        Ok(Filtered {
            answer: answer::filtered(&f, &resp),
            body,
        })
    }

    /// The host protocol over this policy: judges whole exchanges (client bodies with their
    /// headers, server answers as JSON or event streams, sessions).
    #[napi(catch_unwind)]
    pub fn guard(&self, options: Option<GuardOptions>) -> Guard {
        Guard::new(self.engine.clone(), options.unwrap_or_default())
    }
}

/// Reads a string field of an answer.
fn field(answer: &Value, key: &str) -> Value {
    answer.get(key).cloned().unwrap_or(Value::Null)
}

/// A server answer filtered (`Policy.filterResponse`).
#[napi]
#[derive(Debug)]
pub struct Filtered {
    answer: Value,
    body: Option<Vec<u8>>,
}

#[napi]
impl Filtered {
    /// `"unchanged"`, `"replaced"` or `"dropped"`.
    #[napi(
        getter,
        catch_unwind,
        ts_return_type = "'unchanged' | 'replaced' | 'dropped'"
    )]
    pub fn rewrite(&self) -> Value {
        field(&self.answer, "rewrite")
    }

    /// The bytes to forward (the original when unchanged), or `null` when the message must not
    /// be delivered.
    #[napi(getter, catch_unwind)]
    pub fn body(&self) -> Option<Buffer> {
        self.body.clone().map(Buffer::from)
    }

    /// What was removed and why: `[{subject, reason}]`.
    #[napi(
        getter,
        catch_unwind,
        ts_return_type = "Array<{ subject: string, reason: string }>"
    )]
    pub fn hidden(&self) -> Value {
        field(&self.answer, "hidden")
    }

    /// Core's answer (`answer::filtered`).
    #[napi(getter, catch_unwind, ts_return_type = "Record<string, any>")]
    pub fn answer(&self) -> Value {
        self.answer.clone()
    }

    /// The answer, for `JSON.stringify`.
    #[napi(
        js_name = "toJSON",
        catch_unwind,
        ts_return_type = "Record<string, any>"
    )]
    pub fn to_json(&self) -> Value {
        self.answer.clone()
    }
}

/// Evaluates a condition template (`{#request.headers['x-role'][0] == 'admin'}`) against a
/// context and, optionally, the message being judged (which fills `#mcp`). `resultType` is `auto`
/// (default), `string` or `boolean`. Returns the value; throws `INVALID_EXPRESSION` (with
/// `error.position`) or `EVALUATION_FAILED` (with `error.hint`).
#[napi(catch_unwind)]
pub fn evaluate(
    env: Env,
    expression: String,
    #[napi(ts_arg_type = "Context | object | string")] context: Option<CtxArg<'_>>,
    #[napi(ts_arg_type = "Uint8Array | string | object")] message: Option<Input<'_>>,
    #[napi(ts_arg_type = "'auto' | 'string' | 'boolean'")] result_type: Option<String>,
) -> Result<Value> {
    let ty = match result_type.as_deref() {
        None | Some("auto") => ResultType::Auto,
        Some("string") => ResultType::String,
        Some("boolean") => ResultType::Boolean,
        Some(other) => {
            return Err(error::bad_arg(format!(
                "type: `{other}` is not one of auto, string, boolean"
            )));
        }
    };
    let limits = Limits::default();
    let ctx = convert::ctx(&env, &context)?;
    let bytes = message
        .as_ref()
        .map(|m| convert::bytes(&env, m, "message"))
        .transpose()?;
    let msg = bytes
        .as_deref()
        .map(|b| Message::parse(b, &limits))
        .transpose()
        .map_err(|e| error::core(&e))?;
    let mut a = answer::evaluate(&expression, &ctx, msg.as_ref(), ty, &limits);
    match a.get_mut("value") {
        Some(v) => Ok(v.take()),
        None => Err(error::throw(a)),
    }
}
