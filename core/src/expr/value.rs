//! Values an expression produces: scalars, owned lists and maps, and borrowed views of the
//! context and of the MCP message.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write as _;

use crate::context::{Data, MultiMap};
use crate::jsonrpc::{Kind, RawValue, write_json_string};

use super::Env;
use super::ast::Obj;

/// A value. Views borrow from the context, the message or the template; nothing is copied to
/// read them.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Value<'a> {
    /// null (Gravitee's "empty" result).
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A string.
    Str(Cow<'a, str>),
    /// A list built by the expression (inline list, `split`, JSONPath wildcard…).
    List(Vec<Value<'a>>),
    /// A map built by the expression (inline map, `toSingleValueMap`).
    Map(Vec<(Cow<'a, str>, Value<'a>)>),
    /// A JSON object or array (from the message, `#jsonPath`, or context JSON).
    Json(RawValue<'a>),
    /// A list or map the host provided.
    Data(&'a Data<'a>),
    /// The values of one header or query parameter.
    Strings(&'a [Cow<'a, str>]),
    /// Headers or query parameters.
    Multi(&'a MultiMap<'a>),
    /// `#request`, `#response`, `#context`, `#context.attributes`, `#api`, `#subscription`,
    /// `#mcp`.
    Object(ObjectRef<'a>),
}

/// A view of one of the environment's objects.
#[derive(Clone, Copy)]
pub struct ObjectRef<'a> {
    pub(crate) obj: Obj,
    pub(crate) env: &'a Env<'a>,
}

impl core::fmt::Debug for ObjectRef<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.obj.name())
    }
}

impl ObjectRef<'_> {
    /// The variable name (`#request`…).
    pub fn name(&self) -> &'static str {
        self.obj.name()
    }
}

impl<'a> Value<'a> {
    /// A JSON value seen through the expression language: scalars become scalars, objects and
    /// arrays stay views.
    pub fn from_raw(r: RawValue<'a>) -> Value<'a> {
        match r.kind() {
            Kind::Null => Value::Null,
            Kind::Bool => Value::Bool(r.as_bool().unwrap_or(false)),
            Kind::Number => match r.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(r.as_f64().unwrap_or(f64::NAN)),
            },
            Kind::String => Value::Str(r.as_str().unwrap_or(Cow::Borrowed(""))),
            Kind::Array | Kind::Object => Value::Json(r),
        }
    }

    /// Host data seen through the expression language.
    pub fn from_data(d: &'a Data<'a>) -> Value<'a> {
        match d {
            Data::Null => Value::Null,
            Data::Bool(b) => Value::Bool(*b),
            Data::Int(i) => Value::Int(*i),
            Data::Float(f) => Value::Float(*f),
            Data::Str(s) => Value::Str(Cow::Borrowed(s.as_ref())),
            Data::List(_) | Data::Map(_) => Value::Data(d),
            Data::Json(r) => Value::from_raw(*r),
        }
    }

    /// Whether this is null.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The type name used in error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::Float(_) => "float",
            Value::Str(_) => "string",
            Value::List(_) | Value::Strings(_) => "list",
            Value::Map(_) | Value::Multi(_) => "map",
            Value::Json(r) => {
                if r.kind() == Kind::Array {
                    "list"
                } else {
                    "map"
                }
            }
            Value::Data(d) => {
                if matches!(d, Data::List(_)) {
                    "list"
                } else {
                    "map"
                }
            }
            Value::Object(o) => o.obj.name(),
        }
    }

    pub(crate) fn is_list(&self) -> bool {
        match self {
            Value::List(_) | Value::Strings(_) => true,
            Value::Json(r) => r.kind() == Kind::Array,
            Value::Data(d) => matches!(d, Data::List(_)),
            _ => false,
        }
    }

    pub(crate) fn is_map(&self) -> bool {
        match self {
            Value::Map(_) | Value::Multi(_) => true,
            Value::Json(r) => r.kind() == Kind::Object,
            Value::Data(d) => matches!(d, Data::Map(_)),
            Value::Object(o) => o.obj == Obj::Attributes,
            _ => false,
        }
    }

    /// The value as JSON text (views are written as they are; `#request` and the other
    /// objects as objects of their fields).
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        write_json(self, &mut out, 0);
        out
    }
}

/// Java's `Double.toString`.
pub(crate) fn java_double(f: f64) -> String {
    if f.is_nan() {
        return String::from("NaN");
    }
    if f.is_infinite() {
        return String::from(if f > 0.0 { "Infinity" } else { "-Infinity" });
    }
    let a = f.abs();
    if a == 0.0 {
        return String::from(if f.is_sign_negative() { "-0.0" } else { "0.0" });
    }
    if (1e-3..1e7).contains(&a) {
        let mut s = alloc::format!("{f}");
        if !s.contains('.') {
            s.push_str(".0");
        }
        s
    } else {
        let s = alloc::format!("{f:e}");
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let mut out = String::from(m);
        if !out.contains('.') {
            out.push_str(".0");
        }
        out.push('E');
        out.push_str(e);
        out
    }
}

const MAX_JSON_DEPTH: usize = 128;

fn write_json(v: &Value<'_>, out: &mut String, depth: usize) {
    if depth > MAX_JSON_DEPTH {
        out.push_str("null");
        return;
    }
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => {
            if f.is_finite() {
                let _ = write!(out, "{f}");
            } else {
                out.push_str("null");
            }
        }
        Value::Str(s) => write_json_string(out, s),
        Value::List(items) => {
            out.push('[');
            for (i, it) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(it, out, depth + 1);
            }
            out.push(']');
        }
        Value::Map(entries) => {
            out.push('{');
            for (i, (k, it)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(out, k);
                out.push(':');
                write_json(it, out, depth + 1);
            }
            out.push('}');
        }
        Value::Json(r) => out.push_str(r.as_text()),
        Value::Data(d) => write_data(d, out, depth),
        Value::Strings(s) => write_strings(s, out),
        Value::Multi(m) => write_multi(m, out),
        Value::Object(o) => super::eval::write_object(*o, out),
    }
}

pub(crate) fn write_strings(s: &[Cow<'_, str>], out: &mut String) {
    out.push('[');
    for (i, it) in s.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_json_string(out, it);
    }
    out.push(']');
}

pub(crate) fn write_multi(m: &MultiMap<'_>, out: &mut String) {
    out.push('{');
    for (i, (k, vs)) in m.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_json_string(out, k);
        out.push(':');
        write_strings(vs, out);
    }
    out.push('}');
}

pub(crate) fn write_data(d: &Data<'_>, out: &mut String, depth: usize) {
    if depth > MAX_JSON_DEPTH {
        out.push_str("null");
        return;
    }
    match d {
        Data::List(items) => {
            out.push('[');
            for (i, it) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_data(it, out, depth + 1);
            }
            out.push(']');
        }
        Data::Map(entries) => {
            out.push('{');
            for (i, (k, it)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(out, k);
                out.push(':');
                write_data(it, out, depth + 1);
            }
            out.push('}');
        }
        other => write_json(&Value::from_data(other), out, depth),
    }
}
