//! The evaluator: walks the compiled tree with a step budget. Recursion follows the tree,
//! whose depth the parser bounded by `max_expr_depth`.

use alloc::borrow::Cow;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::cmp::Ordering;

use crate::context::{Data, MultiMap};
use crate::jsonrpc::{Kind, RawValue, write_json_string};

use super::Env;
use super::ast::{
    ApiField, BinOp, K, McpField, Method, Node, Obj, PathArg, RegexArg, ReqField, RespField,
    SubField, Var,
};
use super::error::{EvalError, EvalErrorKind as E};
use super::jsonpath::{JsonPath, Step};
use super::regex::{Pattern, searcher};
use super::value::{ObjectRef, Value, java_double, write_data, write_multi};

/// Nesting bound for conversions of nested data to text.
const MAX_NEST: usize = 128;

/// Evaluation state: the environment and the step budget.
pub(crate) struct Cx<'a> {
    pub(crate) env: &'a Env<'a>,
    pub(crate) steps: u32,
    pub(crate) max_steps: u32,
    pub(crate) max_regex: usize,
}

fn err(kind: E, msg: String, pos: u32) -> EvalError {
    EvalError::new(kind, msg, pos as usize)
}

impl<'a> Cx<'a> {
    #[inline]
    fn tick(&mut self, n: usize, pos: u32) -> Result<(), EvalError> {
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        self.steps = self.steps.saturating_add(n);
        if self.steps > self.max_steps {
            return Err(err(
                E::Budget,
                format!("evaluation exceeded max_expr_steps {}", self.max_steps),
                pos,
            ));
        }
        Ok(())
    }

    /// Charges for producing or scanning `len` bytes of text.
    fn tick_bytes(&mut self, len: usize, pos: u32) -> Result<(), EvalError> {
        self.tick(len / 64, pos)
    }
}

/// Evaluates a node.
pub(crate) fn eval<'a>(node: &'a Node, cx: &mut Cx<'a>) -> Result<Value<'a>, EvalError> {
    cx.tick(1, node.pos)?;
    // The kinds conditions are made of, in a small frame; the rest in `eval_cold`.
    match &node.kind {
        K::Str(s) => Ok(Value::Str(Cow::Borrowed(s.as_str()))),
        K::Var(v) => Ok(var(v, cx.env)),
        K::And(a, b) => {
            let l = eval(a, cx)?;
            if !operand_bool(&l, a.pos)? {
                return Ok(Value::Bool(false));
            }
            let r = eval(b, cx)?;
            Ok(Value::Bool(operand_bool(&r, b.pos)?))
        }
        K::Or(a, b) => {
            let l = eval(a, cx)?;
            if operand_bool(&l, a.pos)? {
                return Ok(Value::Bool(true));
            }
            let r = eval(b, cx)?;
            Ok(Value::Bool(operand_bool(&r, b.pos)?))
        }
        K::Matches(l, RegexArg::Compiled(p)) => match eval(l, cx)? {
            Value::Str(s) => {
                cx.tick_bytes(s.len(), node.pos)?;
                Ok(Value::Bool(p.is_full_match(&s)))
            }
            _ => eval_cold(node, cx),
        },
        K::Call {
            target,
            method,
            args,
            safe: false,
        } if args.len() <= 1 => {
            let t = eval(target, cx)?;
            if t.is_null() {
                return eval_cold(node, cx);
            }
            let a0 = match args.first() {
                Some(a) => eval(a, cx)?,
                None => Value::Null,
            };
            call(t, *method, a0, Value::Null, args.len(), cx, node.pos)
        }
        _ => eval_cold(node, cx),
    }
}

/// Every other kind (and the error paths of the hot ones, re-evaluated to build the error).
#[inline(never)]
fn eval_cold<'a>(node: &'a Node, cx: &mut Cx<'a>) -> Result<Value<'a>, EvalError> {
    let pos = node.pos;
    Ok(match &node.kind {
        K::Null => Value::Null,
        K::Bool(b) => Value::Bool(*b),
        K::Int(i) => Value::Int(*i),
        K::Float(f) => Value::Float(*f),
        K::Str(s) => Value::Str(Cow::Borrowed(s.as_str())),
        K::List(items) => {
            let mut out = Vec::with_capacity(items.len());
            for it in items {
                out.push(eval(it, cx)?);
            }
            Value::List(out)
        }
        K::Map(entries) => {
            let mut out = Vec::with_capacity(entries.len());
            for (k, v) in entries {
                out.push((Cow::Borrowed(k.as_str()), eval(v, cx)?));
            }
            Value::Map(out)
        }
        K::Var(v) => var(v, cx.env),
        K::Prop { target, name, safe } => {
            let t = eval(target, cx)?;
            if t.is_null() {
                if *safe {
                    return Ok(Value::Null);
                }
                return Err(err(
                    E::Null,
                    format!("property `{name}` cannot be read on null"),
                    pos,
                ));
            }
            property(t, name, cx, pos)?
        }
        K::Index { target, index } => {
            let t = eval(target, cx)?;
            let i = eval(index, cx)?;
            if t.is_null() {
                return Err(err(E::Null, String::from("cannot index into null"), pos));
            }
            index_value(t, i, cx, pos)?
        }
        K::Call {
            target,
            method,
            args,
            safe,
        } => {
            let t = eval(target, cx)?;
            if t.is_null() {
                if *safe {
                    return Ok(Value::Null);
                }
                return Err(err(
                    E::Null,
                    format!("method `{}()` called on null", method.name()),
                    pos,
                ));
            }
            let mut vals: [Value<'a>; 2] = [Value::Null, Value::Null];
            for (slot, a) in vals.iter_mut().zip(args.iter()) {
                *slot = eval(a, cx)?;
            }
            let [a0, a1] = vals;
            call(t, *method, a0, a1, args.len(), cx, pos)?
        }
        K::JsonPath { value, path } => {
            let v = eval(value, cx)?;
            match path {
                PathArg::Compiled(p) => json_path(v, p, cx, pos)?,
                PathArg::Dynamic(p) => {
                    let pv = eval(p, cx)?;
                    let Value::Str(ps) = pv else {
                        return Err(err(
                            E::JsonPath,
                            format!("the JSONPath must be a string, found {}", pv.type_name()),
                            pos,
                        ));
                    };
                    let jp = JsonPath::parse(&ps).map_err(|(m, _)| {
                        err(E::JsonPath, format!("invalid JSONPath: {m}"), pos)
                    })?;
                    json_path(v, &jp, cx, pos)?
                }
            }
        }
        K::Neg(a) => match eval(a, cx)? {
            Value::Int(i) => Value::Int(i.checked_neg().ok_or_else(|| overflow(pos))?),
            Value::Float(f) => Value::Float(-f),
            other => {
                return Err(err(
                    E::Type,
                    format!("cannot negate a {}", other.type_name()),
                    pos,
                ));
            }
        },
        K::Not(a) => {
            let v = eval(a, cx)?;
            Value::Bool(!operand_bool(&v, a.pos)?)
        }
        K::And(a, b) => {
            let l = eval(a, cx)?;
            if !operand_bool(&l, a.pos)? {
                return Ok(Value::Bool(false));
            }
            let r = eval(b, cx)?;
            Value::Bool(operand_bool(&r, b.pos)?)
        }
        K::Or(a, b) => {
            let l = eval(a, cx)?;
            if operand_bool(&l, a.pos)? {
                return Ok(Value::Bool(true));
            }
            let r = eval(b, cx)?;
            Value::Bool(operand_bool(&r, b.pos)?)
        }
        K::Ternary(c, a, b) => {
            let v = eval(c, cx)?;
            if operand_bool(&v, c.pos)? {
                eval(a, cx)?
            } else {
                eval(b, cx)?
            }
        }
        K::Elvis(a, b) => {
            let v = eval(a, cx)?;
            match &v {
                Value::Null => eval(b, cx)?,
                Value::Str(s) if s.is_empty() => eval(b, cx)?,
                _ => v,
            }
        }
        K::Matches(l, pat) => {
            let v = eval(l, cx)?;
            let Value::Str(s) = v else {
                return Err(err(
                    E::Type,
                    format!(
                        "`matches` needs a string on its left, found {} (headers are lists: use [0])",
                        v.type_name()
                    ),
                    pos,
                ));
            };
            cx.tick_bytes(s.len(), pos)?;
            match pat {
                RegexArg::Compiled(p) => Value::Bool(p.is_full_match(&s)),
                RegexArg::Dynamic(p) => {
                    let pv = eval(p, cx)?;
                    Value::Bool(dynamic_match(&s, &pv, cx, p.pos)?)
                }
            }
        }
        K::Bin(op, a, b) => {
            let l = eval(a, cx)?;
            let r = eval(b, cx)?;
            binary(*op, l, r, cx, pos)?
        }
    })
}

fn overflow(pos: u32) -> EvalError {
    err(E::Arithmetic, String::from("integer overflow"), pos)
}

fn dynamic_match(
    s: &str,
    pattern: &Value<'_>,
    cx: &mut Cx<'_>,
    pos: u32,
) -> Result<bool, EvalError> {
    let Value::Str(p) = pattern else {
        return Err(err(
            E::Type,
            format!(
                "a regular expression must be a string, found {}",
                pattern.type_name()
            ),
            pos,
        ));
    };
    cx.tick(p.len().saturating_mul(4), pos)?;
    let re = Pattern::full(p, cx.max_regex).map_err(|(m, _)| err(E::Pattern, m, pos))?;
    Ok(re.is_full_match(s))
}

// ----- variables -----------------------------------------------------------------------

fn opt_str<'a>(s: &'a Option<Cow<'a, str>>) -> Value<'a> {
    match s {
        Some(s) => Value::Str(Cow::Borrowed(s.as_ref())),
        None => Value::Null,
    }
}

fn map_or_empty<'a>(d: &'a Data<'a>) -> Value<'a> {
    match d {
        Data::Null => Value::Map(Vec::new()),
        d => Value::from_data(d),
    }
}

fn java_split_slash(s: &str) -> Value<'_> {
    let mut parts: Vec<Value<'_>> = s.split('/').map(|p| Value::Str(Cow::Borrowed(p))).collect();
    while matches!(parts.last(), Some(Value::Str(p)) if p.is_empty()) {
        parts.pop();
    }
    Value::List(parts)
}

fn content<'a>(env: &'a Env<'a>) -> Option<&'a str> {
    match &env.context.request.content {
        Some(c) => Some(c.as_ref()),
        None => env.mcp.as_ref().map(|m| m.body),
    }
}

fn json_content(text: Option<&str>) -> Value<'_> {
    match text.map(RawValue::parse) {
        Some(Ok(r)) if r.kind() == Kind::Object || r.kind() == Kind::Array => Value::Json(r),
        _ => Value::Map(Vec::new()),
    }
}

/// The value of a resolved variable path.
pub(crate) fn var<'a>(v: &Var, env: &'a Env<'a>) -> Value<'a> {
    let ctx = env.context;
    match v {
        Var::Root => Value::Null,
        Var::Obj(o) => Value::Object(ObjectRef { obj: *o, env }),
        Var::Req(f) => {
            let r = &ctx.request;
            match f {
                ReqField::Method => opt_str(&r.method),
                ReqField::Scheme => opt_str(&r.scheme),
                ReqField::Host => opt_str(&r.host),
                ReqField::Path => opt_str(&r.path),
                ReqField::PathInfo => opt_str(&r.path_info),
                ReqField::ContextPath => opt_str(&r.context_path),
                ReqField::RemoteAddress => opt_str(&r.remote_address),
                ReqField::Paths => r.path.as_deref().map_or(Value::Null, java_split_slash),
                ReqField::PathInfos => r.path_info.as_deref().map_or(Value::Null, java_split_slash),
                ReqField::Headers => Value::Multi(&r.headers),
                ReqField::Params => Value::Multi(&r.params),
                ReqField::Content => {
                    content(env).map_or(Value::Null, |c| Value::Str(Cow::Borrowed(c)))
                }
                ReqField::JsonContent => json_content(content(env)),
                ReqField::Absent => Value::Null,
            }
        }
        Var::Resp(f) => {
            let r = &ctx.response;
            match f {
                RespField::Status => r.status.map_or(Value::Null, |s| Value::Int(i64::from(s))),
                RespField::Headers => Value::Multi(&r.headers),
                RespField::Content => opt_str(&r.content),
                RespField::JsonContent => json_content(r.content.as_deref()),
                RespField::Absent => Value::Null,
            }
        }
        Var::Attr(name) => attribute(env, name),
        Var::Api(f) => match f {
            ApiField::Id => opt_str(&ctx.api.id),
            ApiField::Name => opt_str(&ctx.api.name),
            ApiField::Version => opt_str(&ctx.api.version),
            ApiField::Properties => map_or_empty(&ctx.api.properties),
        },
        Var::Sub(f) => {
            let s = &ctx.subscription;
            match f {
                SubField::Id => opt_str(&s.id),
                SubField::Type => opt_str(&s.kind),
                SubField::ApplicationName => opt_str(&s.application_name),
                SubField::ClientId => opt_str(&s.client_id),
                SubField::Metadata => map_or_empty(&s.metadata),
                SubField::Absent => Value::Null,
            }
        }
        Var::Mcp(f) => {
            let Some(m) = &env.mcp else {
                return Value::Null;
            };
            match f {
                McpField::Method => Value::Str(Cow::Borrowed(m.method)),
                McpField::Name => m.name.map_or(Value::Null, |s| Value::Str(Cow::Borrowed(s))),
                McpField::Uri => m.uri.map_or(Value::Null, |s| Value::Str(Cow::Borrowed(s))),
                McpField::Arguments => m.arguments.map_or(Value::Null, Value::from_raw),
                McpField::Params => m.params.map_or(Value::Null, Value::from_raw),
            }
        }
        Var::User(name) => data_get(&ctx.variables, name).unwrap_or(Value::Null),
    }
}

/// `#context.attributes[name]`: the engine's `mcp_tool_name` first, then the host's
/// attributes (with the `gravitee.attribute.` fallback).
pub(crate) fn attribute<'a>(env: &'a Env<'a>, name: &str) -> Value<'a> {
    if name == "mcp_tool_name"
        && let Some(m) = &env.mcp
        && m.method == "tools/call"
        && let Some(n) = m.name
    {
        return Value::Str(Cow::Borrowed(n));
    }
    env.context
        .attributes
        .get(name)
        .map_or(Value::Null, Value::from_data)
}

fn attribute_present(env: &Env<'_>, name: &str) -> bool {
    (name == "mcp_tool_name"
        && env
            .mcp
            .as_ref()
            .is_some_and(|m| m.method == "tools/call" && m.name.is_some()))
        || env.context.attributes.get(name).is_some()
}

fn data_get<'a>(d: &'a Data<'a>, key: &str) -> Option<Value<'a>> {
    match d {
        Data::Map(entries) => entries
            .iter()
            .rev()
            .find(|(k, _)| k.as_ref() == key)
            .map(|(_, v)| Value::from_data(v)),
        Data::Json(r) if r.kind() == Kind::Object => r.get(key).map(Value::from_raw),
        _ => None,
    }
}

// ----- navigation ----------------------------------------------------------------------

/// `map[key]` for every kind of map (`None` when the key is absent or `v` is not a map).
fn map_get<'a>(v: Value<'a>, key: &str) -> Option<Value<'a>> {
    match v {
        Value::Map(entries) => entries
            .into_iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v),
        Value::Json(r) if r.kind() == Kind::Object => r.get(key).map(Value::from_raw),
        Value::Data(d) => data_get(d, key),
        Value::Multi(m) => m.get_all(key).map(Value::Strings),
        Value::Object(o) if o.obj == Obj::Attributes => {
            attribute_present(o.env, key).then(|| attribute(o.env, key))
        }
        _ => None,
    }
}

fn map_has(v: &Value<'_>, key: &str) -> bool {
    match v {
        Value::Map(entries) => entries.iter().any(|(k, _)| k == key),
        Value::Json(r) => r.kind() == Kind::Object && r.get(key).is_some(),
        Value::Data(Data::Map(entries)) => entries.iter().any(|(k, _)| k == key),
        Value::Data(Data::Json(r)) => r.kind() == Kind::Object && r.get(key).is_some(),
        Value::Multi(m) => m.contains_key(key),
        Value::Object(o) if o.obj == Obj::Attributes => attribute_present(o.env, key),
        _ => false,
    }
}

fn list_len(v: &Value<'_>) -> Option<usize> {
    Some(match v {
        Value::List(l) => l.len(),
        Value::Strings(s) => s.len(),
        Value::Json(r) if r.kind() == Kind::Array => r.len(),
        Value::Data(Data::List(l)) => l.len(),
        _ => return None,
    })
}

fn map_len(v: &Value<'_>) -> Option<usize> {
    Some(match v {
        Value::Map(m) => m.len(),
        Value::Multi(m) => m.len(),
        Value::Json(r) if r.kind() == Kind::Object => r.len(),
        Value::Data(Data::Map(m)) => m.len(),
        Value::Object(o) if o.obj == Obj::Attributes => o.env.context.attributes.len(),
        _ => return None,
    })
}

fn list_get<'a>(v: Value<'a>, i: usize) -> Option<Value<'a>> {
    match v {
        Value::List(l) => l.into_iter().nth(i),
        Value::Strings(s) => s.get(i).map(|c| Value::Str(Cow::Borrowed(c.as_ref()))),
        Value::Json(r) if r.kind() == Kind::Array => r.index(i).map(Value::from_raw),
        Value::Data(Data::List(l)) => l.get(i).map(Value::from_data),
        _ => None,
    }
}

/// Elements of a list, or values of a map (for wildcards and `values()`).
fn children<'a>(v: &Value<'a>, cx: &mut Cx<'a>, pos: u32) -> Result<Vec<Value<'a>>, EvalError> {
    let out: Vec<Value<'a>> = match v {
        Value::List(l) => l.clone(),
        Value::Strings(s) => s
            .iter()
            .map(|c| Value::Str(Cow::Borrowed(c.as_ref())))
            .collect(),
        Value::Json(r) if r.kind() == Kind::Array => r.elements().map(Value::from_raw).collect(),
        Value::Json(r) if r.kind() == Kind::Object => {
            r.members().map(|(_, v)| Value::from_raw(v)).collect()
        }
        Value::Data(Data::List(l)) => l.iter().map(Value::from_data).collect(),
        Value::Data(Data::Map(m)) => m.iter().map(|(_, v)| Value::from_data(v)).collect(),
        Value::Map(m) => m.iter().map(|(_, v)| v.clone()).collect(),
        Value::Multi(m) => m.iter().map(|(_, v)| Value::Strings(v)).collect(),
        Value::Object(o) if o.obj == Obj::Attributes => {
            let env = o.env;
            env.context
                .attributes
                .iter()
                .map(|(_, v)| Value::from_data(v))
                .collect()
        }
        _ => Vec::new(),
    };
    cx.tick(out.len(), pos)?;
    Ok(out)
}

fn keys<'a>(v: &Value<'a>) -> Vec<Value<'a>> {
    let s = |k: &'a str| Value::Str(Cow::Borrowed(k));
    match v {
        Value::Map(m) => m.iter().map(|(k, _)| Value::Str(k.clone())).collect(),
        Value::Json(r) => r.members().map(|(k, _)| Value::Str(k.decode())).collect(),
        Value::Data(Data::Map(m)) => m.iter().map(|(k, _)| s(k.as_ref())).collect(),
        Value::Multi(m) => m.iter().map(|(k, _)| s(k)).collect(),
        Value::Object(o) if o.obj == Obj::Attributes => {
            let env = o.env;
            env.context.attributes.iter().map(|(k, _)| s(k)).collect()
        }
        _ => Vec::new(),
    }
}

fn property<'a>(
    t: Value<'a>,
    name: &str,
    cx: &mut Cx<'a>,
    pos: u32,
) -> Result<Value<'a>, EvalError> {
    if let Value::Object(o) = &t
        && o.obj != Obj::Attributes
    {
        return match o.obj.field(name) {
            Some(v) => Ok(var(&v, o.env)),
            None => Err(err(
                E::UnknownProperty,
                format!(
                    "{} has no property `{name}` (it has {})",
                    o.obj.name(),
                    o.obj.known()
                ),
                pos,
            )),
        };
    }
    if t.is_map() {
        let _ = cx;
        return Ok(map_get(t, name).unwrap_or(Value::Null));
    }
    Err(err(
        E::UnknownProperty,
        format!("property `{name}` cannot be found on a {}", t.type_name()),
        pos,
    ))
}

fn as_index(i: &Value<'_>) -> Option<i64> {
    match i {
        Value::Int(n) => Some(*n),
        Value::Str(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn index_value<'a>(
    t: Value<'a>,
    i: Value<'a>,
    cx: &mut Cx<'a>,
    pos: u32,
) -> Result<Value<'a>, EvalError> {
    if let Some(len) = list_len(&t) {
        let Some(n) = as_index(&i) else {
            return Err(err(
                E::Type,
                format!("a list index must be an integer, found {}", i.type_name()),
                pos,
            ));
        };
        let idx = usize::try_from(n).ok().filter(|&u| u < len);
        let Some(idx) = idx else {
            return Err(err(
                E::Index,
                format!("index {n} is out of range for a list of size {len}"),
                pos,
            ));
        };
        cx.tick(idx / 16, pos)?;
        return list_get(t, idx)
            .ok_or_else(|| err(E::Index, format!("index {n} is out of range"), pos));
    }
    if let Value::Str(s) = &t {
        let Some(n) = as_index(&i) else {
            return Err(err(
                E::Type,
                format!(
                    "a string can only be indexed by an integer, found {} (is it JSON text? use #jsonPath)",
                    match &i {
                        Value::Str(k) => format!("'{k}'"),
                        other => String::from(other.type_name()),
                    }
                ),
                pos,
            ));
        };
        let units: Vec<u16> = s.encode_utf16().collect();
        let Some(u) = usize::try_from(n).ok().and_then(|k| units.get(k)) else {
            return Err(err(
                E::Index,
                format!(
                    "index {n} is out of range for a string of length {}",
                    units.len()
                ),
                pos,
            ));
        };
        return Ok(Value::Str(Cow::Owned(String::from_utf16_lossy(&[*u]))));
    }
    if let Value::Object(o) = &t
        && o.obj != Obj::Attributes
    {
        let Value::Str(k) = &i else {
            return Err(err(
                E::Type,
                format!("{} is indexed by property name", o.obj.name()),
                pos,
            ));
        };
        return property(t, &k.clone(), cx, pos);
    }
    if t.is_map() {
        let key: Cow<'_, str> = match &i {
            Value::Str(k) => k.clone(),
            Value::Int(n) => Cow::Owned(format!("{n}")),
            Value::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
            Value::Null => return Ok(Value::Null),
            other => {
                return Err(err(
                    E::Type,
                    format!("a map key must be a string, found {}", other.type_name()),
                    pos,
                ));
            }
        };
        return Ok(map_get(t, &key).unwrap_or(Value::Null));
    }
    Err(err(
        E::Type,
        format!("cannot index into a {}", t.type_name()),
        pos,
    ))
}

// ----- conversions ---------------------------------------------------------------------

/// Spring's String → Boolean: `true/on/yes/1`, `false/off/no/0` (trimmed, any case); an empty
/// string is null.
pub(crate) fn string_to_bool(s: &str) -> Result<Option<bool>, String> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let l = t.to_ascii_lowercase();
    match l.as_str() {
        "true" | "on" | "yes" | "1" => Ok(Some(true)),
        "false" | "off" | "no" | "0" => Ok(Some(false)),
        _ => Err(format!("invalid boolean value '{s}'")),
    }
}

/// Conversion of a value to Boolean (the result of a condition): null stays null.
pub(crate) fn to_bool(v: &Value<'_>, pos: u32) -> Result<Option<bool>, EvalError> {
    match v {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(*b)),
        Value::Str(s) => string_to_bool(s).map_err(|m| err(E::Conversion, m, pos)),
        _ if v.is_list() => match list_get(v.clone(), 0) {
            None => Ok(None),
            Some(first) => match first {
                Value::Bool(_) | Value::Str(_) | Value::Null => to_bool(&first, pos),
                other => Err(err(
                    E::Conversion,
                    format!(
                        "cannot convert a list of {} to a boolean",
                        other.type_name()
                    ),
                    pos,
                )),
            },
        },
        other => Err(err(
            E::Conversion,
            format!("cannot convert a {} to a boolean", other.type_name()),
            pos,
        )),
    }
}

/// An operand of `&&`, `||`, `!` or `?:`: must convert to a non-null boolean.
#[inline]
fn operand_bool(v: &Value<'_>, pos: u32) -> Result<bool, EvalError> {
    if let Value::Bool(b) = v {
        return Ok(*b);
    }
    match to_bool(v, pos)? {
        Some(b) => Ok(b),
        None => Err(err(
            E::Conversion,
            String::from("null cannot be used as a boolean (use ?: false, or != null)"),
            pos,
        )),
    }
}

/// Conversion to String as Spring does it: a list is comma-joined (one element → that
/// element), a map prints as `{k=v}`, null is `None`.
pub(crate) fn to_string<'a>(
    v: &Value<'a>,
    cx: &mut Cx<'a>,
    pos: u32,
) -> Result<Option<Cow<'a, str>>, EvalError> {
    match v {
        Value::Null => Ok(None),
        Value::Str(s) => Ok(Some(s.clone())),
        _ => {
            let mut out = String::new();
            convert_into(v, &mut out, cx, pos, 0)?;
            Ok(Some(Cow::Owned(out)))
        }
    }
}

/// String conversion (collections comma-joined) appended to `out`.
fn convert_into<'a>(
    v: &Value<'a>,
    out: &mut String,
    cx: &mut Cx<'a>,
    pos: u32,
    depth: usize,
) -> Result<(), EvalError> {
    if v.is_list() {
        let items = children(v, cx, pos)?;
        for (i, it) in items.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            if depth >= MAX_NEST {
                out.push_str("...");
            } else {
                convert_into(it, out, cx, pos, depth + 1)?;
            }
        }
        return Ok(());
    }
    java_to_string(v, out, cx, pos, depth)
}

/// Java's `toString()` (lists `[a, b]`, maps `{k=v}`).
fn java_to_string<'a>(
    v: &Value<'a>,
    out: &mut String,
    cx: &mut Cx<'a>,
    pos: u32,
    depth: usize,
) -> Result<(), EvalError> {
    cx.tick(1, pos)?;
    if depth >= MAX_NEST {
        out.push_str("...");
        return Ok(());
    }
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&format!("{i}")),
        Value::Float(f) => out.push_str(&java_double(*f)),
        Value::Str(s) => {
            cx.tick_bytes(s.len(), pos)?;
            out.push_str(s);
        }
        Value::Object(o) if o.obj != Obj::Attributes => {
            return Err(err(
                E::Conversion,
                format!(
                    "{} cannot be converted to a string; read one of its properties",
                    o.obj.name()
                ),
                pos,
            ));
        }
        _ if v.is_list() => {
            out.push('[');
            for (i, it) in children(v, cx, pos)?.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                java_to_string(it, out, cx, pos, depth + 1)?;
            }
            out.push(']');
        }
        _ => {
            let ks = keys(v);
            let vs = children(v, cx, pos)?;
            out.push('{');
            for (i, (k, it)) in ks.iter().zip(vs.iter()).enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                if let Value::Str(k) = k {
                    out.push_str(k);
                }
                out.push('=');
                java_to_string(it, out, cx, pos, depth + 1)?;
            }
            out.push('}');
        }
    }
    if out.len() > 64 * (cx.max_steps as usize).max(1) {
        return Err(err(
            E::Budget,
            String::from("string conversion is too large"),
            pos,
        ));
    }
    Ok(())
}

// ----- equality and comparison ---------------------------------------------------------

/// Java `equals` (strict: an integer never equals a float); `numeric_eq` relaxes that for
/// SpEL's `==` at the top level.
fn equals<'a>(
    a: &Value<'a>,
    b: &Value<'a>,
    numeric_eq: bool,
    cx: &mut Cx<'a>,
    pos: u32,
    depth: usize,
) -> Result<bool, EvalError> {
    cx.tick(1, pos)?;
    Ok(match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Null, _) | (_, Value::Null) => false,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Int(x), Value::Float(y)) | (Value::Float(y), Value::Int(x)) => {
            numeric_eq && (*x as f64) == *y
        }
        (Value::Str(x), Value::Str(y)) => {
            cx.tick_bytes(x.len(), pos)?;
            x == y
        }
        _ if a.is_list() && b.is_list() => {
            if depth >= MAX_NEST || list_len(a) != list_len(b) {
                return Ok(false);
            }
            let xs = children(a, cx, pos)?;
            let ys = children(b, cx, pos)?;
            for (x, y) in xs.iter().zip(ys.iter()) {
                if !equals(x, y, false, cx, pos, depth + 1)? {
                    return Ok(false);
                }
            }
            true
        }
        _ if a.is_map() && b.is_map() => {
            if depth >= MAX_NEST || map_len(a) != map_len(b) {
                return Ok(false);
            }
            let ks = keys(a);
            for k in ks {
                let Value::Str(k) = k else { return Ok(false) };
                let (Some(x), Some(y)) = (map_get(a.clone(), &k), map_get(b.clone(), &k)) else {
                    return Ok(false);
                };
                if !equals(&x, &y, false, cx, pos, depth + 1)? {
                    return Ok(false);
                }
            }
            true
        }
        _ => false,
    })
}

fn compare(a: &Value<'_>, b: &Value<'_>, pos: u32) -> Result<Ordering, EvalError> {
    Ok(match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        (Value::Int(x), Value::Int(y)) => x.cmp(y),
        (Value::Int(x), Value::Float(y)) => (*x as f64).partial_cmp(y).unwrap_or(Ordering::Equal),
        (Value::Float(x), Value::Int(y)) => x.partial_cmp(&(*y as f64)).unwrap_or(Ordering::Equal),
        (Value::Float(x), Value::Float(y)) => x.partial_cmp(y).unwrap_or(Ordering::Equal),
        (Value::Str(x), Value::Str(y)) => x.encode_utf16().cmp(y.encode_utf16()),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ => {
            return Err(err(
                E::Type,
                format!(
                    "cannot compare a {} with a {}",
                    a.type_name(),
                    b.type_name()
                ),
                pos,
            ));
        }
    })
}

// ----- operators -----------------------------------------------------------------------

fn num(v: &Value<'_>) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

fn binary<'a>(
    op: BinOp,
    l: Value<'a>,
    r: Value<'a>,
    cx: &mut Cx<'a>,
    pos: u32,
) -> Result<Value<'a>, EvalError> {
    let type_err = |l: &Value<'_>, r: &Value<'_>, sym: &str| {
        err(
            E::Type,
            format!(
                "operator `{sym}` is not supported between a {} and a {}",
                l.type_name(),
                r.type_name()
            ),
            pos,
        )
    };
    Ok(match op {
        BinOp::Eq => Value::Bool(equals(&l, &r, true, cx, pos, 0)?),
        BinOp::Ne => Value::Bool(!equals(&l, &r, true, cx, pos, 0)?),
        BinOp::Lt => Value::Bool(compare(&l, &r, pos)? == Ordering::Less),
        BinOp::Le => Value::Bool(compare(&l, &r, pos)? != Ordering::Greater),
        BinOp::Gt => Value::Bool(compare(&l, &r, pos)? == Ordering::Greater),
        BinOp::Ge => Value::Bool(compare(&l, &r, pos)? != Ordering::Less),
        BinOp::Add => match (&l, &r) {
            (Value::Int(x), Value::Int(y)) => {
                Value::Int(x.checked_add(*y).ok_or_else(|| overflow(pos))?)
            }
            _ if num(&l).is_some() && num(&r).is_some() => {
                Value::Float(num(&l).unwrap_or(0.0) + num(&r).unwrap_or(0.0))
            }
            (Value::Str(_), _) | (_, Value::Str(_)) => {
                let mut out = String::new();
                for v in [&l, &r] {
                    match v {
                        Value::Null => out.push_str("null"),
                        v => convert_into(v, &mut out, cx, pos, 0)?,
                    }
                }
                cx.tick_bytes(out.len(), pos)?;
                Value::Str(Cow::Owned(out))
            }
            _ => return Err(type_err(&l, &r, "+")),
        },
        BinOp::Sub => match (&l, &r) {
            (Value::Int(x), Value::Int(y)) => {
                Value::Int(x.checked_sub(*y).ok_or_else(|| overflow(pos))?)
            }
            _ => match (num(&l), num(&r)) {
                (Some(x), Some(y)) => Value::Float(x - y),
                _ => return Err(type_err(&l, &r, "-")),
            },
        },
        BinOp::Mul => match (&l, &r) {
            (Value::Int(x), Value::Int(y)) => {
                Value::Int(x.checked_mul(*y).ok_or_else(|| overflow(pos))?)
            }
            (Value::Str(s), Value::Int(n)) => {
                let n = usize::try_from(*n).map_err(|_| type_err(&l, &r, "*"))?;
                let total = s.len().saturating_mul(n);
                cx.tick_bytes(total, pos)?;
                Value::Str(Cow::Owned(s.repeat(n)))
            }
            _ => match (num(&l), num(&r)) {
                (Some(x), Some(y)) => Value::Float(x * y),
                _ => return Err(type_err(&l, &r, "*")),
            },
        },
        BinOp::Div => match (&l, &r) {
            (Value::Int(_), Value::Int(0)) => {
                return Err(err(E::Arithmetic, String::from("division by zero"), pos));
            }
            (Value::Int(x), Value::Int(y)) => {
                Value::Int(x.checked_div(*y).ok_or_else(|| overflow(pos))?)
            }
            _ => match (num(&l), num(&r)) {
                (Some(x), Some(y)) => Value::Float(x / y),
                _ => return Err(type_err(&l, &r, "/")),
            },
        },
        BinOp::Rem => match (&l, &r) {
            (Value::Int(_), Value::Int(0)) => {
                return Err(err(E::Arithmetic, String::from("division by zero"), pos));
            }
            (Value::Int(x), Value::Int(y)) => {
                Value::Int(x.checked_rem(*y).ok_or_else(|| overflow(pos))?)
            }
            _ => match (num(&l), num(&r)) {
                (Some(x), Some(y)) => Value::Float(x % y),
                _ => return Err(type_err(&l, &r, "%")),
            },
        },
        BinOp::Pow => match (&l, &r) {
            (Value::Int(x), Value::Int(y)) if *y >= 0 => {
                let e = u32::try_from(*y).map_err(|_| overflow(pos))?;
                Value::Int(x.checked_pow(e).ok_or_else(|| overflow(pos))?)
            }
            _ => match (num(&l), num(&r)) {
                (Some(x), Some(y)) => Value::Float(libm_pow(x, y)),
                _ => return Err(type_err(&l, &r, "^")),
            },
        },
    })
}

/// `x^y` for floats without std: integral exponents by squaring, others unsupported (NaN).
fn libm_pow(x: f64, y: f64) -> f64 {
    // `f64::fract` needs std; an integral value survives a round trip through i64.
    if y.abs() < 1e9 && (y as i64) as f64 == y {
        let mut e = y.abs() as u64;
        let mut base = x;
        let mut acc = 1.0;
        while e > 0 {
            if e & 1 == 1 {
                acc *= base;
            }
            base *= base;
            e >>= 1;
        }
        if y < 0.0 { 1.0 / acc } else { acc }
    } else {
        f64::NAN
    }
}

// ----- methods -------------------------------------------------------------------------

fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// Byte offset of UTF-16 index `u` (None when it falls inside a character or past the end).
fn byte_at_utf16(s: &str, u: usize) -> Option<usize> {
    let mut units = 0usize;
    for (b, c) in s.char_indices() {
        if units == u {
            return Some(b);
        }
        units += c.len_utf16();
        if units > u {
            return None;
        }
    }
    (units == u).then_some(s.len())
}

fn utf16_index_of(hay: &str, byte: usize) -> i64 {
    i64::try_from(utf16_len(hay.get(..byte).unwrap_or(""))).unwrap_or(-1)
}

fn java_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

fn str_arg<'v>(v: &'v Value<'_>, m: Method, pos: u32) -> Result<&'v str, EvalError> {
    match v {
        Value::Str(s) => Ok(s),
        Value::Null => Err(err(E::Null, format!("`{}` was given null", m.name()), pos)),
        other => Err(err(
            E::Type,
            format!(
                "`{}` expects a string argument, found {}",
                m.name(),
                other.type_name()
            ),
            pos,
        )),
    }
}

fn int_arg(v: &Value<'_>, m: Method, pos: u32) -> Result<i64, EvalError> {
    match v {
        Value::Int(i) => Ok(*i),
        other => Err(err(
            E::Type,
            format!(
                "`{}` expects an integer argument, found {}",
                m.name(),
                other.type_name()
            ),
            pos,
        )),
    }
}

fn no_method(m: Method, t: &Value<'_>, pos: u32) -> EvalError {
    err(
        E::Type,
        format!(
            "method `{}` is not available on a {}",
            m.name(),
            t.type_name()
        ),
        pos,
    )
}

fn java_equals_ignore_case(a: &str, b: &str) -> bool {
    let mut x = a.chars();
    let mut y = b.chars();
    loop {
        match (x.next(), y.next()) {
            (None, None) => return true,
            (Some(p), Some(q)) => {
                if p != q
                    && !p.to_uppercase().eq(q.to_uppercase())
                    && !p.to_lowercase().eq(q.to_lowercase())
                {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

/// `String.split(regex)`: trailing empty strings removed; a zero-width match at the start
/// yields no leading empty string.
fn java_split<'a>(
    s: &str,
    pattern: &str,
    cx: &mut Cx<'a>,
    pos: u32,
) -> Result<Value<'a>, EvalError> {
    cx.tick(pattern.len().saturating_mul(4), pos)?;
    cx.tick_bytes(s.len(), pos)?;
    let re = searcher(pattern, cx.max_regex).map_err(|(m, _)| err(E::Pattern, m, pos))?;
    let mut parts: Vec<Value<'a>> = Vec::new();
    let mut last = 0usize;
    for m in re.find_iter(s) {
        if m.end() == 0 {
            continue;
        }
        if m.start() == m.end() && m.start() >= s.len() {
            break;
        }
        cx.tick(1, pos)?;
        parts.push(Value::Str(Cow::Owned(String::from(
            s.get(last..m.start()).unwrap_or(""),
        ))));
        last = m.end();
    }
    if parts.is_empty() {
        return Ok(Value::List(alloc::vec![Value::Str(Cow::Owned(
            String::from(s)
        ))]));
    }
    parts.push(Value::Str(Cow::Owned(String::from(
        s.get(last..).unwrap_or(""),
    ))));
    while matches!(parts.last(), Some(Value::Str(p)) if p.is_empty()) {
        parts.pop();
    }
    Ok(Value::List(parts))
}

fn call<'a>(
    t: Value<'a>,
    m: Method,
    a0: Value<'a>,
    a1: Value<'a>,
    argc: usize,
    cx: &mut Cx<'a>,
    pos: u32,
) -> Result<Value<'a>, EvalError> {
    // Methods every value has.
    match m {
        Method::Equals => return Ok(Value::Bool(equals(&t, &a0, false, cx, pos, 0)?)),
        Method::ToString => {
            let mut out = String::new();
            java_to_string(&t, &mut out, cx, pos, 0)?;
            return Ok(Value::Str(Cow::Owned(out)));
        }
        _ => {}
    }
    if let Value::Str(s) = &t {
        cx.tick_bytes(s.len(), pos)?;
        return Ok(match m {
            Method::EqualsIgnoreCase => Value::Bool(match &a0 {
                Value::Str(o) => java_equals_ignore_case(s, o),
                _ => false,
            }),
            Method::Contains => Value::Bool(s.contains(str_arg(&a0, m, pos)?)),
            Method::StartsWith => Value::Bool(s.starts_with(str_arg(&a0, m, pos)?)),
            Method::EndsWith => Value::Bool(s.ends_with(str_arg(&a0, m, pos)?)),
            Method::Matches => Value::Bool(dynamic_match(s, &a0, cx, pos)?),
            Method::IsEmpty => Value::Bool(s.is_empty()),
            Method::Length => Value::Int(i64::try_from(utf16_len(s)).unwrap_or(i64::MAX)),
            Method::ToLowerCase => Value::Str(Cow::Owned(s.to_lowercase())),
            Method::ToUpperCase => Value::Str(Cow::Owned(s.to_uppercase())),
            Method::Trim => match t {
                Value::Str(Cow::Borrowed(b)) => Value::Str(Cow::Borrowed(java_trim(b))),
                _ => Value::Str(Cow::Owned(String::from(java_trim(s)))),
            },
            Method::Substring => {
                let len = utf16_len(s);
                let b = int_arg(&a0, m, pos)?;
                let e = if argc == 2 {
                    int_arg(&a1, m, pos)?
                } else {
                    i64::try_from(len).unwrap_or(i64::MAX)
                };
                let range = usize::try_from(b)
                    .ok()
                    .zip(usize::try_from(e).ok())
                    .filter(|(b, e)| b <= e && *e <= len)
                    .and_then(|(b, e)| Some((byte_at_utf16(s, b)?, byte_at_utf16(s, e)?)));
                let Some((bb, eb)) = range else {
                    return Err(err(
                        E::Index,
                        format!("substring({b}, {e}) is out of range for a string of length {len}"),
                        pos,
                    ));
                };
                match t {
                    Value::Str(Cow::Borrowed(x)) => {
                        Value::Str(Cow::Borrowed(x.get(bb..eb).unwrap_or("")))
                    }
                    _ => Value::Str(Cow::Owned(String::from(s.get(bb..eb).unwrap_or("")))),
                }
            }
            Method::IndexOf => {
                let needle = str_arg(&a0, m, pos)?;
                Value::Int(s.find(needle).map_or(-1, |b| utf16_index_of(s, b)))
            }
            Method::LastIndexOf => {
                let needle = str_arg(&a0, m, pos)?;
                Value::Int(s.rfind(needle).map_or(-1, |b| utf16_index_of(s, b)))
            }
            Method::Split => {
                let p = str_arg(&a0, m, pos)?;
                java_split(s, p, cx, pos)?
            }
            _ => return Err(no_method(m, &t, pos)),
        });
    }
    if let Value::Multi(mm) = &t {
        let mm: &'a MultiMap<'a> = mm;
        let name =
            |v: &Value<'_>| -> Result<String, EvalError> { Ok(String::from(str_arg(v, m, pos)?)) };
        return Ok(match m {
            Method::Get if mm.is_case_insensitive() => mm
                .get_first(&name(&a0)?)
                .map_or(Value::Null, |s| Value::Str(Cow::Borrowed(s))),
            Method::Get => mm.get_all(&name(&a0)?).map_or(Value::Null, Value::Strings),
            Method::GetFirst if argc == 1 => mm
                .get_first(&name(&a0)?)
                .map_or(Value::Null, |s| Value::Str(Cow::Borrowed(s))),
            Method::GetAll => mm
                .get_all(&name(&a0)?)
                .map_or(Value::List(Vec::new()), Value::Strings),
            Method::ContainsKey | Method::Contains => Value::Bool(mm.contains_key(&name(&a0)?)),
            Method::Size => Value::Int(i64::try_from(mm.len()).unwrap_or(i64::MAX)),
            Method::IsEmpty => Value::Bool(mm.is_empty()),
            Method::KeySet => Value::List(keys(&t)),
            Method::Values => Value::List(children(&t, cx, pos)?),
            Method::ContainsAllKeys => contains_all_keys(&t, &a0, cx, pos)?,
            Method::ToSingleValueMap => Value::Map(
                mm.iter()
                    .map(|(k, v)| {
                        (
                            Cow::Borrowed(k),
                            v.first()
                                .map_or(Value::Null, |s| Value::Str(Cow::Borrowed(s.as_ref()))),
                        )
                    })
                    .collect(),
            ),
            _ => return Err(no_method(m, &t, pos)),
        });
    }
    if t.is_list() {
        return Ok(match m {
            Method::Contains => Value::Bool(list_contains(&t, &a0, cx, pos)?),
            Method::Size => {
                Value::Int(i64::try_from(list_len(&t).unwrap_or(0)).unwrap_or(i64::MAX))
            }
            Method::IsEmpty => Value::Bool(list_len(&t) == Some(0)),
            Method::Get => {
                let i = int_arg(&a0, m, pos)?;
                return index_value(t, Value::Int(i), cx, pos);
            }
            Method::GetFirst if argc == 0 => {
                if list_len(&t) == Some(0) {
                    return Err(err(
                        E::Index,
                        String::from("getFirst() on an empty list"),
                        pos,
                    ));
                }
                return index_value(t, Value::Int(0), cx, pos);
            }
            _ => return Err(no_method(m, &t, pos)),
        });
    }
    if t.is_map() {
        return Ok(match m {
            Method::ContainsKey => Value::Bool(map_has(&t, str_arg(&a0, m, pos)?)),
            Method::Get => {
                let k = String::from(str_arg(&a0, m, pos)?);
                map_get(t, &k).unwrap_or(Value::Null)
            }
            Method::Size => Value::Int(i64::try_from(map_len(&t).unwrap_or(0)).unwrap_or(i64::MAX)),
            Method::IsEmpty => Value::Bool(map_len(&t) == Some(0)),
            Method::KeySet => Value::List(keys(&t)),
            Method::Values => Value::List(children(&t, cx, pos)?),
            Method::ContainsAllKeys => contains_all_keys(&t, &a0, cx, pos)?,
            _ => return Err(no_method(m, &t, pos)),
        });
    }
    Err(no_method(m, &t, pos))
}

/// `List.contains` without collecting the elements (the common path allocates nothing).
fn list_contains<'a>(
    t: &Value<'a>,
    needle: &Value<'a>,
    cx: &mut Cx<'a>,
    pos: u32,
) -> Result<bool, EvalError> {
    match t {
        Value::List(l) => {
            for it in l {
                if equals(it, needle, false, cx, pos, 0)? {
                    return Ok(true);
                }
            }
        }
        Value::Strings(l) => {
            for it in l.iter() {
                cx.tick(1, pos)?;
                if matches!(needle, Value::Str(n) if n.as_ref() == it.as_ref()) {
                    return Ok(true);
                }
            }
        }
        Value::Data(Data::List(l)) => {
            for it in l {
                if equals(&Value::from_data(it), needle, false, cx, pos, 0)? {
                    return Ok(true);
                }
            }
        }
        Value::Json(r) => {
            for it in r.elements() {
                if let (Some(js), Value::Str(n)) = (it.as_json_str(), needle) {
                    cx.tick(1, pos)?;
                    if js.eq_str(n) {
                        return Ok(true);
                    }
                    continue;
                }
                if equals(&Value::from_raw(it), needle, false, cx, pos, 0)? {
                    return Ok(true);
                }
            }
        }
        _ => {}
    }
    Ok(false)
}

fn contains_all_keys<'a>(
    t: &Value<'a>,
    keys_v: &Value<'a>,
    cx: &mut Cx<'a>,
    pos: u32,
) -> Result<Value<'a>, EvalError> {
    if !keys_v.is_list() {
        return Err(err(
            E::Type,
            format!(
                "`containsAllKeys` expects a list, found {}",
                keys_v.type_name()
            ),
            pos,
        ));
    }
    for k in children(keys_v, cx, pos)? {
        let Value::Str(k) = k else {
            return Ok(Value::Bool(false));
        };
        if !map_has(t, &k) {
            return Ok(Value::Bool(false));
        }
    }
    Ok(Value::Bool(true))
}

// ----- JSONPath ------------------------------------------------------------------------

/// A JSON value that outlives a temporary text: copied into owned values.
fn owned_from_raw(r: RawValue<'_>, depth: usize) -> Value<'static> {
    match r.kind() {
        Kind::Array if depth < MAX_NEST => {
            Value::List(r.elements().map(|e| owned_from_raw(e, depth + 1)).collect())
        }
        Kind::Object if depth < MAX_NEST => Value::Map(
            r.members()
                .map(|(k, v)| {
                    (
                        Cow::Owned(k.decode().into_owned()),
                        owned_from_raw(v, depth + 1),
                    )
                })
                .collect(),
        ),
        Kind::Array | Kind::Object => Value::Null,
        _ => match Value::from_raw(r) {
            Value::Str(s) => Value::Str(Cow::Owned(s.into_owned())),
            Value::Int(i) => Value::Int(i),
            Value::Float(f) => Value::Float(f),
            Value::Bool(b) => Value::Bool(b),
            _ => Value::Null,
        },
    }
}

fn json_path<'a>(
    v: Value<'a>,
    path: &JsonPath,
    cx: &mut Cx<'a>,
    pos: u32,
) -> Result<Value<'a>, EvalError> {
    let root: Value<'a> = match v {
        Value::Null => {
            return Err(err(
                E::JsonPath,
                String::from("#jsonPath was given null"),
                pos,
            ));
        }
        Value::Str(Cow::Borrowed(text)) => {
            cx.tick_bytes(text.len(), pos)?;
            let r = RawValue::parse(text).map_err(|e| {
                err(
                    E::JsonPath,
                    format!("#jsonPath input is not JSON: {}", e.detail()),
                    pos,
                )
            })?;
            Value::from_raw(r)
        }
        Value::Str(Cow::Owned(text)) => {
            cx.tick_bytes(text.len().saturating_mul(2), pos)?;
            let r = RawValue::parse(&text).map_err(|e| {
                err(
                    E::JsonPath,
                    format!("#jsonPath input is not JSON: {}", e.detail()),
                    pos,
                )
            })?;
            owned_from_raw(r, 0)
        }
        Value::Object(o) if o.obj != Obj::Attributes => {
            return Err(err(
                E::JsonPath,
                format!(
                    "#jsonPath cannot read {}; pass JSON text or a value",
                    o.obj.name()
                ),
                pos,
            ));
        }
        other => other,
    };
    if path.definite {
        let mut cur = root;
        let n = path.steps.len();
        for (i, step) in path.steps.iter().enumerate() {
            cx.tick(1, pos)?;
            let leaf = i + 1 == n;
            match step {
                Step::Key(k) => {
                    if !cur.is_map() {
                        return Err(err(
                            E::JsonPath,
                            format!(
                                "expected an object with property `{k}` but found a {}",
                                cur.type_name()
                            ),
                            pos,
                        ));
                    }
                    match map_get(cur, k) {
                        Some(v) => cur = v,
                        None if leaf => return Ok(Value::Null),
                        None => {
                            return Err(err(
                                E::JsonPath,
                                format!("missing property `{k}` in path"),
                                pos,
                            ));
                        }
                    }
                }
                Step::Index(ix) => {
                    let Some(len) = list_len(&cur) else {
                        return Err(err(
                            E::JsonPath,
                            format!(
                                "expected an array for index [{ix}] but found a {}",
                                cur.type_name()
                            ),
                            pos,
                        ));
                    };
                    let at = if *ix < 0 {
                        i64::try_from(len).unwrap_or(0) + ix
                    } else {
                        *ix
                    };
                    match usize::try_from(at)
                        .ok()
                        .filter(|&u| u < len)
                        .and_then(|u| list_get(cur, u))
                    {
                        Some(v) => cur = v,
                        None => {
                            return Err(err(
                                E::JsonPath,
                                format!("no result for index [{ix}]"),
                                pos,
                            ));
                        }
                    }
                }
                _ => {}
            }
        }
        return Ok(cur);
    }
    let mut set: Vec<Value<'a>> = alloc::vec![root];
    for step in &path.steps {
        let mut next: Vec<Value<'a>> = Vec::new();
        for c in set {
            cx.tick(1, pos)?;
            match step {
                Step::Key(k) => {
                    if c.is_map()
                        && let Some(v) = map_get(c, k)
                    {
                        next.push(v);
                    }
                }
                Step::Index(ix) => {
                    if let Some(len) = list_len(&c) {
                        let at = if *ix < 0 {
                            i64::try_from(len).unwrap_or(0) + ix
                        } else {
                            *ix
                        };
                        if let Some(v) = usize::try_from(at)
                            .ok()
                            .filter(|&u| u < len)
                            .and_then(|u| list_get(c, u))
                        {
                            next.push(v);
                        }
                    }
                }
                Step::Wild => next.extend(children(&c, cx, pos)?),
                Step::DeepKey(_) | Step::DeepWild => {
                    // Pre-order walk with an explicit stack.
                    let mut stack = alloc::vec![c];
                    let mut first = true;
                    while let Some(n) = stack.pop() {
                        cx.tick(1, pos)?;
                        match step {
                            Step::DeepKey(k) => {
                                if n.is_map()
                                    && let Some(v) = map_get(n.clone(), k)
                                {
                                    next.push(v);
                                }
                            }
                            _ => {
                                if !first {
                                    next.push(n.clone());
                                }
                            }
                        }
                        first = false;
                        let mut kids = children(&n, cx, pos)?;
                        kids.retain(|k| {
                            k.is_list() || k.is_map() || matches!(step, Step::DeepWild)
                        });
                        kids.reverse();
                        stack.extend(kids);
                    }
                }
            }
        }
        set = next;
    }
    Ok(Value::List(set))
}

// ----- JSON output of objects ----------------------------------------------------------

fn field_str(out: &mut String, first: &mut bool, name: &str, v: Option<&str>) {
    let Some(v) = v else { return };
    if !*first {
        out.push(',');
    }
    *first = false;
    write_json_string(out, name);
    out.push(':');
    write_json_string(out, v);
}

fn field_raw(out: &mut String, first: &mut bool, name: &str, f: impl FnOnce(&mut String)) {
    if !*first {
        out.push(',');
    }
    *first = false;
    write_json_string(out, name);
    out.push(':');
    f(out);
}

/// `#request`, `#context`… as JSON objects of their fields.
pub(crate) fn write_object(o: ObjectRef<'_>, out: &mut String) {
    let env = o.env;
    let ctx = env.context;
    let mut first = true;
    out.push('{');
    match o.obj {
        Obj::Request => {
            let r = &ctx.request;
            field_str(out, &mut first, "method", r.method.as_deref());
            field_str(out, &mut first, "scheme", r.scheme.as_deref());
            field_str(out, &mut first, "host", r.host.as_deref());
            field_str(out, &mut first, "path", r.path.as_deref());
            field_str(out, &mut first, "pathInfo", r.path_info.as_deref());
            field_str(out, &mut first, "contextPath", r.context_path.as_deref());
            field_str(
                out,
                &mut first,
                "remoteAddress",
                r.remote_address.as_deref(),
            );
            field_raw(out, &mut first, "headers", |o| write_multi(&r.headers, o));
            field_raw(out, &mut first, "params", |o| write_multi(&r.params, o));
            field_str(out, &mut first, "content", content(env));
        }
        Obj::Response => {
            let r = &ctx.response;
            if let Some(s) = r.status {
                field_raw(out, &mut first, "status", |o| o.push_str(&format!("{s}")));
            }
            field_raw(out, &mut first, "headers", |o| write_multi(&r.headers, o));
            field_str(out, &mut first, "content", r.content.as_deref());
        }
        Obj::Context => {
            field_raw(out, &mut first, "attributes", |o| {
                write_object(
                    ObjectRef {
                        obj: Obj::Attributes,
                        env,
                    },
                    o,
                );
            });
        }
        Obj::Attributes => {
            for (k, v) in ctx.attributes.iter() {
                field_raw(out, &mut first, k, |o| write_data(v, o, 0));
            }
            if let Value::Str(n) = attribute(env, "mcp_tool_name")
                && ctx.attributes.get("mcp_tool_name").is_none()
            {
                field_str(out, &mut first, "mcp_tool_name", Some(&n));
            }
        }
        Obj::Api => {
            let a = &ctx.api;
            field_str(out, &mut first, "id", a.id.as_deref());
            field_str(out, &mut first, "name", a.name.as_deref());
            field_str(out, &mut first, "version", a.version.as_deref());
            field_raw(out, &mut first, "properties", |o| {
                write_data(&a.properties, o, 0)
            });
        }
        Obj::Subscription => {
            let s = &ctx.subscription;
            field_str(out, &mut first, "id", s.id.as_deref());
            field_str(out, &mut first, "type", s.kind.as_deref());
            field_str(
                out,
                &mut first,
                "applicationName",
                s.application_name.as_deref(),
            );
            field_str(out, &mut first, "clientId", s.client_id.as_deref());
            field_raw(out, &mut first, "metadata", |o| {
                write_data(&s.metadata, o, 0)
            });
        }
        Obj::Mcp => {
            if let Some(m) = &env.mcp {
                field_str(out, &mut first, "method", Some(m.method));
                field_str(out, &mut first, "name", m.name);
                field_str(out, &mut first, "uri", m.uri);
                if let Some(a) = m.arguments {
                    field_raw(out, &mut first, "arguments", |o| o.push_str(a.as_text()));
                }
                if let Some(p) = m.params {
                    field_raw(out, &mut first, "params", |o| o.push_str(p.as_text()));
                }
            }
        }
    }
    out.push('}');
}
