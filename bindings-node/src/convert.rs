//! Conversions from JavaScript values: bytes (the engine judges bytes, so a `Buffer` passes
//! byte for byte, a string as its UTF-8, an object as `JSON.stringify` writes it), contexts
//! and header lists.

use std::borrow::Cow;
use std::sync::Arc;

use mcp_policy::context::Context as CoreContext;
use napi::bindgen_prelude::{ClassInstance, Either, Either3, Object};
use napi::bindgen_prelude::{JsObjectValue, JsValue};
use napi::{Env, JSON};
use napi_derive::napi;
use serde_json::Value;

use crate::error::{self, Result};

/// A message or document: a `Buffer`/`Uint8Array` (its bytes, exactly), a string (its UTF-8)
/// or any other value (its `JSON.stringify` text).
pub(crate) type Input<'a> = Either3<&'a [u8], String, Object<'a>>;

/// The bytes of an [`Input`]; `what` names the argument in errors.
pub(crate) fn bytes<'a>(env: &Env, v: &'a Input<'a>, what: &str) -> Result<Cow<'a, [u8]>> {
    Ok(match v {
        Either3::A(b) => Cow::Borrowed(b),
        Either3::B(s) => Cow::Borrowed(s.as_bytes()),
        Either3::C(o) => {
            // A typed array of another kind (or a DataView, an ArrayBuffer) is not JSON to
            // write out: its bytes are what the caller means, in a form we refuse to guess.
            let binary = o.is_typedarray().map_err(error::napi)?
                || o.is_dataview().map_err(error::napi)?
                || o.is_arraybuffer().map_err(error::napi)?;
            if binary {
                return Err(error::bad_arg(format!(
                    "{what}: binary data must be a Buffer or a Uint8Array"
                )));
            }
            Cow::Owned(stringify(env, o, what)?.into_bytes())
        }
    })
}

fn stringify(env: &Env, o: &Object<'_>, what: &str) -> Result<String> {
    let json: JSON = env
        .get_global()
        .and_then(|g| g.get_named_property_unchecked("JSON"))
        .map_err(error::napi)?;
    json.stringify(o).map_err(|e| {
        error::bad_arg(format!(
            "{what}: JSON.stringify failed ({}); pass a Buffer or a string",
            e.reason
        ))
    })
}

/// A context: a prepared [`Context`] (fastest: read once, used for many calls) or the
/// ARCHITECTURE.md §3 document as an object or JSON text.
pub(crate) type CtxArg<'a> = Either<ClassInstance<'a, Context>, Input<'a>>;

/// The context of a call, shared: a prepared [`Context`]'s, one read for this call, or the
/// empty one (shared, so that calls without a context allocate nothing for it).
pub(crate) type Ctx = Arc<CoreContext<'static>>;

static EMPTY: std::sync::LazyLock<Ctx> =
    std::sync::LazyLock::new(|| Arc::new(CoreContext::default()));

/// The context `arg` gives (empty when absent).
pub(crate) fn ctx(env: &Env, arg: &Option<CtxArg<'_>>) -> Result<Ctx> {
    match arg {
        None => Ok(EMPTY.clone()),
        Some(Either::A(c)) => Ok(c.inner.clone()),
        Some(Either::B(doc)) => Ok(Arc::new(read_context(&bytes(env, doc, "context")?)?)),
    }
}

fn read_context(text: &[u8]) -> Result<CoreContext<'static>> {
    let text = std::str::from_utf8(text)
        .map_err(|_| error::bad_arg("context: the JSON text is not UTF-8"))?;
    CoreContext::from_json(text)
        .map(CoreContext::into_owned)
        .map_err(|e| error::core(&e))
}

/// What conditions read about a request (ARCHITECTURE.md §3): headers, attributes, the API,
/// the subscription... Build it once per request (or once for many) and pass it to `check`,
/// `client` and the exchange calls; reading a context document costs more than judging a
/// message.
#[napi]
#[derive(Debug)]
pub struct Context {
    pub(crate) inner: Ctx,
}

#[napi]
impl Context {
    /// Reads the context document (ARCHITECTURE.md §3): an object, or its JSON text (a string or
    /// a Buffer). No argument is the empty context. Throws `INVALID_CONTEXT` naming the member
    /// of the wrong type.
    #[napi(constructor, catch_unwind)]
    pub fn new(
        env: Env,
        #[napi(ts_arg_type = "object | string | Uint8Array")] document: Option<Input<'_>>,
    ) -> Result<Self> {
        Ok(Self {
            inner: match &document {
                None => EMPTY.clone(),
                Some(d) => Arc::new(read_context(&bytes(&env, d, "context")?)?),
            },
        })
    }

    /// The context a proxy builds per request: the request's headers (a list of
    /// `[name, value]` pairs, Node's flat `rawHeaders`, or an object of strings or string
    /// arrays) and the attributes as an object (or its JSON text). Credentials and cookies
    /// (`authorization`, `cookie`, `x-api-key`...) are left out: conditions never see them.
    #[napi(factory, catch_unwind)]
    pub fn from_parts(
        env: Env,
        #[napi(ts_arg_type = "HeaderList")] headers: Option<Value>,
        #[napi(ts_arg_type = "object | string | null")] attributes: Option<Input<'_>>,
    ) -> Result<Self> {
        let list = match &headers {
            None => Vec::new(),
            Some(h) => header_list(h)?,
        };
        let pairs: Vec<(&[u8], &[u8])> = list
            .iter()
            .map(|(n, v)| (n.as_bytes(), v.as_slice()))
            .collect();
        let attrs = attributes
            .as_ref()
            .map(|a| bytes(&env, a, "attributes"))
            .transpose()?;
        let attrs = attrs
            .as_deref()
            .map(std::str::from_utf8)
            .transpose()
            .map_err(|_| error::bad_arg("attributes: the JSON text is not UTF-8"))?;
        let ctx = CoreContext::from_parts(&pairs, attrs).map_err(|e| error::core(&e))?;
        Ok(Self {
            inner: Arc::new(ctx.into_owned()),
        })
    }
}

/// A header list as `(name, value bytes)`: a list of `[name, value]` pairs, a flat list
/// `[name, value, name, value...]` (Node's `rawHeaders`), or an object whose values are
/// strings or lists of strings (Node's `IncomingHttpHeaders`; note that Node drops a repeated
/// `Content-Type` there, so proxies pass `rawHeaders`). Header values are Latin-1 strings in
/// Node (one character per byte), turned back into those bytes.
pub(crate) fn header_list(v: &Value) -> Result<Vec<(String, Vec<u8>)>> {
    let value = |name: &str, v: &Value| -> Result<Vec<u8>> {
        match v {
            Value::String(s) => latin1(s).ok_or_else(|| {
                error::bad_arg(format!(
                    "headers: the value of `{name}` has a character above U+00FF; header values \
                     are bytes (pass them as Node gives them, one character per byte)"
                ))
            }),
            Value::Number(n) => Ok(n.to_string().into_bytes()),
            other => Err(error::bad_arg(format!(
                "headers: the value of `{name}` must be a string, not {other}"
            ))),
        }
    };
    let mut out = Vec::new();
    match v {
        Value::Null => {}
        Value::Array(items) if items.iter().all(Value::is_array) => {
            for p in items {
                match p.as_array().map(Vec::as_slice) {
                    Some([Value::String(n), v]) => out.push((n.clone(), value(n, v)?)),
                    _ => {
                        return Err(error::bad_arg(format!(
                            "headers: a pair must be [name, value], found {p}"
                        )));
                    }
                }
            }
        }
        Value::Array(flat) => {
            if flat.len() % 2 != 0 {
                return Err(error::bad_arg(
                    "headers: a flat list (rawHeaders) must hold name, value, name, value...",
                ));
            }
            for nv in flat.chunks(2) {
                let Value::String(n) = &nv[0] else {
                    return Err(error::bad_arg(format!(
                        "headers: a header name must be a string, found {}",
                        nv[0]
                    )));
                };
                out.push((n.clone(), value(n, &nv[1])?));
            }
        }
        Value::Object(map) => {
            for (n, v) in map {
                match v {
                    Value::Array(vs) => {
                        for v in vs {
                            out.push((n.clone(), value(n, v)?));
                        }
                    }
                    Value::Null => {}
                    v => out.push((n.clone(), value(n, v)?)),
                }
            }
        }
        other => {
            return Err(error::bad_arg(format!(
                "headers must be a list of [name, value] pairs, rawHeaders or an object, not {other}"
            )));
        }
    }
    Ok(out)
}

/// The bytes of a Latin-1 string (each character one byte), as Node reads header values.
pub(crate) fn latin1(s: &str) -> Option<Vec<u8>> {
    s.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect()
}
