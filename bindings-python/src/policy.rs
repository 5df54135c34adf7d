//! `Policy`, `Context`, `Decision`, `Filtered` and `evaluate`: the engine's judgements of
//! single messages, converted.

use std::sync::{Arc, LazyLock, OnceLock};

use mcp_policy::expr::ResultType;
use mcp_policy::policy::Engine;
use mcp_policy::{
    Body, Context as CoreContext, Decision as CoreDecision, ErrorCode, Limits, Message, answer,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};
use serde_json::Value;

use crate::convert::{header_pairs, input_bytes, json_input, to_json, to_py, type_name};
use crate::errors::{self, Kind};
use crate::exchange::Guard;

/// Inputs at least this long are judged with the GIL released, so other Python threads run
/// meanwhile; below it, releasing and taking the GIL back costs more than the work.
pub(crate) const DETACH_BYTES: usize = 64 * 1024;

static EMPTY: LazyLock<Arc<CoreContext<'static>>> =
    LazyLock::new(|| Arc::new(CoreContext::default()));

/// What conditions read about a request: its headers, attributes (user, roles, claims...), API
/// and subscription (ARCHITECTURE.md §3). Build it once per request and pass it to every call
/// for that request; a `dict` or JSON text works too, converted on each call.
///
/// `Context(document)` reads the §3 document (a `dict`, or JSON text as `str`/`bytes`);
/// `Context.from_headers(headers, attributes)` takes the request's header pairs (headers that
/// conditions may not see, such as `Authorization`, are left out) and an attributes `dict`.
#[pyclass(frozen, module = "mcp_policy._native")]
#[derive(Debug)]
pub struct Context {
    pub(crate) inner: Arc<CoreContext<'static>>,
}

#[pymethods]
impl Context {
    #[new]
    #[pyo3(signature = (document=None))]
    fn new(document: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let Some(doc) = document.filter(|d| !d.is_none()) else {
            return Ok(Self {
                inner: EMPTY.clone(),
            });
        };
        Ok(Self {
            inner: Arc::new(context_from_document(doc)?),
        })
    }

    /// A context from the request's header pairs (`(name, value)`, `bytes` or `str`; a
    /// `dict` works too) and its attributes (a `dict`, or `None`).
    #[staticmethod]
    #[pyo3(signature = (headers, attributes=None))]
    fn from_headers(
        headers: &Bound<'_, PyAny>,
        attributes: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let pairs = header_pairs(Some(headers))?;
        let borrowed: Vec<(&[u8], &[u8])> = pairs
            .iter()
            .map(|(n, v)| (n.as_slice(), v.as_slice()))
            .collect();
        let attrs = match attributes.filter(|a| !a.is_none()) {
            None => None,
            Some(a) => Some(
                serde_json::to_string(&to_json(a, "attributes", Kind::Context)?)
                    .map_err(|e| PyValueError::new_err(e.to_string()))?,
            ),
        };
        let ctx = CoreContext::from_parts(&borrowed, attrs.as_deref())
            .map_err(|e| errors::core(&e))?
            .into_owned();
        Ok(Self {
            inner: Arc::new(ctx),
        })
    }

    /// The request headers conditions see, as `{name: [values]}`.
    #[getter]
    fn headers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (name, values) in self.inner.request.headers.iter() {
            let vs: Vec<&str> = values.iter().map(|v| v.as_ref()).collect();
            d.set_item(name, vs)?;
        }
        Ok(d)
    }

    fn __repr__(&self) -> String {
        format!(
            "Context(headers={}, attributes={})",
            self.inner.request.headers.len(),
            self.inner.attributes.len()
        )
    }
}

fn context_from_document(doc: &Bound<'_, PyAny>) -> PyResult<CoreContext<'static>> {
    let text = if doc.is_instance_of::<PyDict>() {
        serde_json::to_string(&to_json(doc, "context", Kind::Context)?)
            .map_err(|e| PyValueError::new_err(e.to_string()))?
    } else if doc.is_instance_of::<PyString>() || doc.is_instance_of::<PyBytes>() {
        let b = input_bytes(doc, "context")?;
        String::from_utf8(b.into_owned())
            .map_err(|_| errors::plain(ErrorCode::InvalidUtf8, "the context is not UTF-8 text"))?
    } else {
        return Err(errors::plain(
            ErrorCode::InvalidContext,
            format!(
                "a context is a Context, a dict (ARCHITECTURE.md §3 document) or JSON text, not {}",
                type_name(doc)
            ),
        ));
    };
    CoreContext::from_json(&text)
        .map(CoreContext::into_owned)
        .map_err(|e| errors::core(&e))
}

/// The context of a call: a `Context`, a `dict` or JSON text, or `None` (empty).
pub(crate) fn context_arg(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Arc<CoreContext<'static>>> {
    match obj.filter(|o| !o.is_none()) {
        None => Ok(EMPTY.clone()),
        Some(o) => match o.cast::<Context>() {
            Ok(c) => Ok(c.get().inner.clone()),
            Err(_) => Ok(Arc::new(context_from_document(o)?)),
        },
    }
}

/// A compiled policy (Gravitee `mcp-acl` configuration and its extensions). Immutable and
/// thread-safe: share one across threads; a reload builds a new one.
#[pyclass(frozen, module = "mcp_policy._native")]
#[derive(Debug)]
pub struct Policy {
    pub(crate) engine: Arc<Engine>,
}

/// The limits named in `limits` (a `dict` of `Limits` field names), the defaults for the rest.
fn limits_arg(limits: Option<&Bound<'_, PyDict>>) -> PyResult<Limits> {
    let mut l = Limits::default();
    let Some(d) = limits else {
        return Ok(l);
    };
    for (k, v) in d.iter() {
        let key: String = k.extract().map_err(|_| {
            errors::plain(
                ErrorCode::InvalidLimits,
                "limits keys are field names (str)",
            )
        })?;
        let n: u64 = v.extract().map_err(|_| {
            errors::plain(
                ErrorCode::InvalidLimits,
                format!(
                    "limits[{key:?}] must be a non-negative int, not {}",
                    type_name(&v)
                ),
            )
        })?;
        let size = usize::try_from(n).unwrap_or(usize::MAX);
        match key.as_str() {
            "max_body_bytes" => l.max_body_bytes = size,
            "max_depth" => l.max_depth = size,
            "max_batch_len" => l.max_batch_len = size,
            "max_string_bytes" => l.max_string_bytes = size,
            "max_object_keys" => l.max_object_keys = size,
            "max_regex_bytes" => l.max_regex_bytes = size,
            "max_expr_steps" => l.max_expr_steps = u32::try_from(n).unwrap_or(u32::MAX),
            "max_expr_depth" => l.max_expr_depth = size,
            other => {
                return Err(errors::plain(
                    ErrorCode::InvalidLimits,
                    format!(
                        "unknown limit {other:?}; known: max_body_bytes, max_depth, max_batch_len, \
                         max_string_bytes, max_object_keys, max_regex_bytes, max_expr_steps, max_expr_depth"
                    ),
                ));
            }
        }
    }
    l.validate().map_err(|e| errors::core(&e))?;
    Ok(l)
}

fn compile(bytes: &[u8], limits: Option<&Bound<'_, PyDict>>) -> PyResult<Policy> {
    let limits = limits_arg(limits)?;
    match Engine::from_json(bytes, &limits) {
        Ok(e) => Ok(Policy {
            engine: Arc::new(e),
        }),
        Err(e) => Err(Python::attach(|py| {
            errors::from_answer(py, &answer::policy_error(&e))
        })),
    }
}

#[pymethods]
impl Policy {
    /// Compiles a policy from JSON text (`str` or `bytes`). Raises `InvalidPolicyError`
    /// listing every issue with its JSON path. `limits` (a `dict`, e.g.
    /// `{"max_body_bytes": 1048576}`) bounds what the engine reads; unknown or unusable
    /// limits raise `InvalidLimitsError`.
    #[staticmethod]
    #[pyo3(signature = (text, limits=None))]
    fn from_json(text: &Bound<'_, PyAny>, limits: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        compile(&input_bytes(text, "the policy")?, limits)
    }

    /// Compiles the policy in the JSON file at `path` (`str` or `os.PathLike`).
    #[staticmethod]
    #[pyo3(signature = (path, limits=None))]
    fn from_file(path: std::path::PathBuf, limits: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let bytes = std::fs::read(&path).map_err(|e| {
            errors::plain(
                ErrorCode::InvalidArgument,
                format!("cannot read the policy file {}: {e}", path.display()),
            )
        })?;
        compile(&bytes, limits)
    }

    /// Compiles a policy given as a `dict` (the parsed JSON document).
    #[staticmethod]
    #[pyo3(signature = (document, limits=None))]
    fn from_dict(
        document: &Bound<'_, PyAny>,
        limits: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        if !document.is_instance_of::<PyDict>() {
            return Err(errors::plain(
                ErrorCode::InvalidArgument,
                format!("from_dict takes a dict, not {}", type_name(document)),
            ));
        }
        let v = to_json(document, "policy", Kind::Argument)?;
        compile(
            &serde_json::to_vec(&v).map_err(|e| PyValueError::new_err(e.to_string()))?,
            limits,
        )
    }

    /// How many rules (authorizations) the policy has.
    #[getter]
    fn rule_count(&self) -> usize {
        self.engine.rule_count()
    }

    /// Judges one client message (or a batch): `message` is JSON text (`bytes`/`str`) or a
    /// `dict`/`list`. A message that cannot be read is denied (kind `invalid_message`), never
    /// raised; a context that cannot be read raises `InvalidContextError`.
    #[pyo3(signature = (message, context=None))]
    fn check(
        &self,
        py: Python<'_>,
        message: &Bound<'_, PyAny>,
        context: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Decision> {
        let bytes = json_input(message, "message")?;
        let ctx = context_arg(context)?;
        let engine = &self.engine;
        Ok(if bytes.len() >= DETACH_BYTES {
            py.detach(|| Decision::judge(engine, bytes.into_owned(), ctx))
        } else {
            Decision::judge(engine, bytes.into_owned(), ctx)
        })
    }

    /// Judges each message of `messages` (a list of messages, each JSON text or a `dict`)
    /// on its own, with one context.
    #[pyo3(signature = (messages, context=None))]
    fn check_batch(
        &self,
        py: Python<'_>,
        messages: &Bound<'_, PyAny>,
        context: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Vec<Decision>> {
        let ctx = context_arg(context)?;
        let inputs: Vec<Vec<u8>> = messages
            .try_iter()?
            .enumerate()
            .map(|(i, m)| json_input(&m?, &format!("messages[{i}]")).map(|b| b.into_owned()))
            .collect::<PyResult<_>>()?;
        let engine = &self.engine;
        let total: usize = inputs.iter().map(Vec::len).sum();
        let judge = || {
            inputs
                .into_iter()
                .map(|b| Decision::judge(engine, b, ctx.clone()))
                .collect()
        };
        Ok(if total >= DETACH_BYTES {
            py.detach(judge)
        } else {
            judge()
        })
    }

    /// Filters the server's whole answer `response` to the client's `request` (a list result
    /// loses what the caller may not see, a notification about a hidden subject is dropped).
    /// Returns what to forward, with what was hidden. Raises when either cannot be read: an
    /// answer that cannot be read must not be forwarded.
    #[pyo3(signature = (request, response, context=None))]
    fn filter(
        &self,
        py: Python<'_>,
        request: &Bound<'_, PyAny>,
        response: &Bound<'_, PyAny>,
        context: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Filtered> {
        let req = json_input(request, "request")?;
        let resp = json_input(response, "response")?;
        let ctx = context_arg(context)?;
        let engine = &self.engine;
        let run = || -> Result<Value, Result<Value, mcp_policy::Error>> {
            let msg = Message::parse(&req, engine.limits()).map_err(Err)?;
            match engine.filter_response(&msg, &resp, &ctx) {
                Ok(f) => Ok(answer::filtered(&f, &resp)),
                Err(e) => Err(Ok(answer::core_error(&e))),
            }
        };
        let out = if resp.len() >= DETACH_BYTES {
            py.detach(run)
        } else {
            run()
        };
        match out {
            Ok(a) => Ok(Filtered { answer: a }),
            Err(Ok(a)) => Err(errors::from_answer(py, &a)),
            Err(Err(e)) => Err(request_error(&e)),
        }
    }

    /// [`Policy.filter`]'s bytes: the answer to forward (the server's bytes when nothing was
    /// hidden), or `None` when nothing may be forwarded.
    #[pyo3(signature = (request, response, context=None))]
    fn filter_response<'py>(
        &self,
        py: Python<'py>,
        request: &Bound<'py, PyAny>,
        response: &Bound<'py, PyAny>,
        context: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let f = self.filter(py, request, response, context)?;
        Ok(f.answer["body"]
            .as_str()
            .map(|s| PyBytes::new(py, s.as_bytes())))
    }

    /// Evaluates a condition template (`{#request.headers['x-role'][0] == 'admin'}`) with
    /// this policy's limits. See the module's `evaluate`.
    #[pyo3(signature = (expression, context=None, message=None, r#type="auto"))]
    fn evaluate<'py>(
        &self,
        py: Python<'py>,
        expression: &str,
        context: Option<&Bound<'py, PyAny>>,
        message: Option<&Bound<'py, PyAny>>,
        r#type: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        evaluate_with(
            py,
            expression,
            context,
            message,
            r#type,
            self.engine.limits(),
        )
    }

    /// A guard enforcing this policy over whole exchanges (the host protocol).
    /// `resource_metadata_url` is named in step-up challenges, after it `challenge_scopes`
    /// (the scopes every request needs) before the rule's; `max_pending` bounds the requests
    /// of one session waiting for answers.
    #[pyo3(signature = (resource_metadata_url=None, max_pending=1024, challenge_scopes=None))]
    fn guard(
        &self,
        resource_metadata_url: Option<String>,
        max_pending: usize,
        challenge_scopes: Option<Vec<String>>,
    ) -> Guard {
        Guard::new(
            self.engine.clone(),
            resource_metadata_url,
            max_pending,
            challenge_scopes.unwrap_or_default(),
        )
    }

    fn __repr__(&self) -> String {
        format!("Policy(rules={})", self.engine.rule_count())
    }
}

fn request_error(e: &mcp_policy::Error) -> PyErr {
    Python::attach(|py| {
        let mut a = answer::core_error(e);
        if let Some(m) = a["error"]["message"].as_str() {
            let m = format!("the request does not parse: {m}");
            a["error"]["message"] = Value::String(m);
        }
        errors::from_answer(py, &a)
    })
}

fn result_type(t: &str) -> PyResult<ResultType> {
    match t {
        "auto" => Ok(ResultType::Auto),
        "string" => Ok(ResultType::String),
        "boolean" => Ok(ResultType::Boolean),
        other => Err(errors::plain(
            ErrorCode::InvalidArgument,
            format!("type must be \"auto\", \"string\" or \"boolean\", not {other:?}"),
        )),
    }
}

pub(crate) fn evaluate_with<'py>(
    py: Python<'py>,
    expression: &str,
    context: Option<&Bound<'py, PyAny>>,
    message: Option<&Bound<'py, PyAny>>,
    ty: &str,
    limits: &Limits,
) -> PyResult<Bound<'py, PyAny>> {
    let ty = result_type(ty)?;
    let ctx = context_arg(context)?;
    let msg_bytes = match message.filter(|m| !m.is_none()) {
        Some(m) => Some(json_input(m, "message")?),
        None => None,
    };
    let msg = match &msg_bytes {
        Some(b) => Some(Message::parse(b, limits).map_err(|e| errors::core(&e))?),
        None => None,
    };
    let a = answer::evaluate(expression, &ctx, msg.as_ref(), ty, limits);
    match a.get("value") {
        Some(v) => to_py(py, v),
        None => Err(errors::from_answer(py, &a)),
    }
}

/// Evaluates a condition template against a context (and the message judged, which fills
/// `#mcp`): returns the value (`None` is Gravitee's empty result; a condition applies only
/// on `True`). `type` is `"auto"`, `"string"` or `"boolean"`. Raises
/// `InvalidExpressionError` (does not compile) or `EvaluationFailedError`, each with the
/// byte `position` in the template.
#[pyfunction]
#[pyo3(signature = (expression, context=None, message=None, r#type="auto"))]
pub(crate) fn evaluate<'py>(
    py: Python<'py>,
    expression: &str,
    context: Option<&Bound<'py, PyAny>>,
    message: Option<&Bound<'py, PyAny>>,
    r#type: &str,
) -> PyResult<Bound<'py, PyAny>> {
    evaluate_with(py, expression, context, message, r#type, &Limits::default())
}

/// The verdict on one message (or a batch). Frozen. `bool(decision)` is `allowed`.
#[pyclass(frozen, module = "mcp_policy._native")]
#[derive(Debug)]
pub struct Decision {
    allowed: bool,
    status: u16,
    /// What the answer is made from, when it was not made at once.
    source: Option<Source>,
    answer: OnceLock<Value>,
}

/// The inputs of a decision whose answer is written only when asked for: the engine judges
/// the same bytes in the same context to the same answer, and most callers only read
/// `allowed` (writing the answer costs more than judging).
#[derive(Debug)]
struct Source {
    engine: Arc<Engine>,
    message: Vec<u8>,
    ctx: Arc<CoreContext<'static>>,
}

impl Decision {
    /// Judges `message`: one message is judged at once and its answer written later; a batch
    /// or an unreadable body gets its answer at once.
    fn judge(engine: &Arc<Engine>, message: Vec<u8>, ctx: Arc<CoreContext<'static>>) -> Self {
        let verdict = match Body::parse(&message, engine.limits()) {
            Ok(Body::Single(m)) => Some(match engine.check(&m, &ctx) {
                CoreDecision::Allow(..) => (true, 200),
                CoreDecision::Deny(d) => (false, d.http_status()),
            }),
            _ => None,
        };
        match verdict {
            Some((allowed, status)) => Self {
                allowed,
                status,
                source: Some(Source {
                    engine: engine.clone(),
                    message,
                    ctx,
                }),
                answer: OnceLock::new(),
            },
            None => Self::new(answer::check(engine, &message, &ctx)),
        }
    }

    fn new(answer: Value) -> Self {
        let allowed = answer["allowed"].as_bool().unwrap_or(false);
        let status = answer["status"]
            .as_u64()
            .and_then(|s| u16::try_from(s).ok())
            .unwrap_or(200);
        Self {
            allowed,
            status,
            source: None,
            answer: OnceLock::from(answer),
        }
    }

    fn value(&self) -> &Value {
        self.answer.get_or_init(|| match &self.source {
            Some(s) => answer::check(&s.engine, &s.message, &s.ctx),
            None => Value::Null,
        })
    }

    fn field<'py>(&self, py: Python<'py>, key: &str) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, self.value().get(key).unwrap_or(&Value::Null))
    }
}

#[pymethods]
impl Decision {
    /// Whether the message may be forwarded.
    #[getter]
    fn allowed(&self) -> bool {
        self.allowed
    }

    /// `"allow"` or `"deny"`.
    #[getter]
    fn decision<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.field(py, "decision")
    }

    /// Why: an allow reason (`granted`, `not_governed`, `list_filtered`) or the denial's
    /// text. `None` for a batch.
    #[getter]
    fn reason<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.field(py, "reason")
    }

    /// The index of the rule that decided, or `None`.
    #[getter]
    fn rule<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.field(py, "rule")
    }

    /// The HTTP status to answer with (200, or 403 for `http` denials and step-up).
    #[getter]
    fn status(&self) -> u16 {
        self.status
    }

    /// The kind of denial (`not_granted`, `denied_by_rule`, `condition_error`,
    /// `invalid_message`), `None` when allowed.
    #[getter]
    fn kind<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.field(py, "kind")
    }

    /// How the policy wants a denial answered: `"hide"` (as if the subject did not exist),
    /// `"forbid"` (a JSON-RPC error saying so) or `"http"` (HTTP 403); `None` when allowed.
    #[getter]
    fn mode<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.field(py, "mode")
    }

    /// The JSON-RPC error object to answer with (`{"code", "message", "data"?}`), `None`
    /// when allowed.
    #[getter]
    fn error<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.field(py, "error")
    }

    /// The whole JSON-RPC error response (echoing the request's id), `None` when allowed.
    #[getter]
    fn response<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.field(py, "response")
    }

    /// Scopes that would cure the denial (step-up); empty otherwise.
    #[getter]
    fn required_scopes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match self.value().get("requiredScopes") {
            Some(v) => to_py(py, v),
            None => Ok(PyList::empty(py).into_any()),
        }
    }

    /// The audit record (`method`, `aclMethod`, `subject`, `rule`, `conditions`); `None` for
    /// a message that cannot be read, or a batch.
    #[getter]
    fn audit<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.field(py, "audit")
    }

    /// For a batch, the decision on each message; `None` otherwise.
    #[getter]
    fn batch<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let Some(Value::Array(each)) = self.value().get("batch") else {
            return Ok(None);
        };
        let items = each
            .iter()
            .map(|a| Bound::new(py, Decision::new(a.clone())))
            .collect::<PyResult<Vec<_>>>()?;
        Ok(Some(PyTuple::new(py, items)?))
    }

    /// The decision in the engine's answer format (`answer::check`), as a `dict`.
    #[getter]
    fn answer<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, self.value())
    }

    fn __bool__(&self) -> bool {
        self.allowed
    }

    fn __repr__(&self) -> String {
        let reason = self
            .value()
            .get("reason")
            .and_then(Value::as_str)
            .unwrap_or("");
        format!(
            "Decision(allowed={}, status={}, reason={:?})",
            if self.allowed { "True" } else { "False" },
            self.status,
            reason
        )
    }
}

/// A filtered server answer. Frozen.
#[pyclass(frozen, module = "mcp_policy._native")]
#[derive(Debug)]
pub struct Filtered {
    answer: Value,
}

#[pymethods]
impl Filtered {
    /// `"unchanged"`, `"replaced"` or `"dropped"`.
    #[getter]
    fn rewrite<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.answer["rewrite"])
    }

    /// The bytes to forward, `None` when nothing may be forwarded.
    #[getter]
    fn body<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.answer["body"]
            .as_str()
            .map(|s| PyBytes::new(py, s.as_bytes()))
    }

    /// What was removed: `[{"subject", "reason"}]`.
    #[getter]
    fn hidden<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.answer["hidden"])
    }

    /// The result in the engine's answer format (`answer::filtered`).
    #[getter]
    fn answer<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.answer)
    }

    fn __repr__(&self) -> String {
        format!(
            "Filtered(rewrite={}, hidden={})",
            self.answer["rewrite"],
            self.answer["hidden"].as_array().map_or(0, Vec::len)
        )
    }
}
