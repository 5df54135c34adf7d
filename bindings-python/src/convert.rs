//! Conversions between Python objects and the engine's inputs and answers: bytes in, JSON
//! values out. Nothing here decides anything.

use std::borrow::Cow;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple,
};
use serde_json::{Map, Number, Value};

use crate::errors;

/// The bytes of an input given as `bytes`, `bytearray`, `memoryview`-free `str` (UTF-8).
/// `what` names the argument in the error.
pub(crate) fn input_bytes<'a>(obj: &'a Bound<'_, PyAny>, what: &str) -> PyResult<Cow<'a, [u8]>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Cow::Borrowed(b.as_bytes()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Cow::Owned(s.to_str()?.as_bytes().to_vec()));
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        return Ok(Cow::Owned(b.to_vec()));
    }
    Err(PyTypeError::new_err(format!(
        "{what} must be bytes, bytearray or str (JSON text), not {}",
        type_name(obj)
    )))
}

/// Like [`input_bytes`], and a `dict` or `list` is serialized to compact JSON first.
pub(crate) fn json_input<'a>(obj: &'a Bound<'_, PyAny>, what: &str) -> PyResult<Cow<'a, [u8]>> {
    if obj.is_instance_of::<PyDict>() || obj.is_instance_of::<PyList>() {
        let v = to_json(obj, what, errors::Kind::Argument)?;
        return Ok(Cow::Owned(
            serde_json::to_vec(&v).map_err(|e| PyTypeError::new_err(e.to_string()))?,
        ));
    }
    input_bytes(obj, what)
}

pub(crate) fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map_or_else(|_| "?".to_owned(), |n| n.to_string())
}

/// A Python value made of `dict` (str keys), `list`, `tuple`, `str`, `int`, `float`, `bool`
/// and `None`, as JSON. Anything else is refused, naming where it was (`what.key[2]`): a
/// context that silently dropped a value would judge a different request.
pub(crate) fn to_json(obj: &Bound<'_, PyAny>, what: &str, kind: errors::Kind) -> PyResult<Value> {
    let mut path = what.to_owned();
    walk(obj, &mut path, kind, 0)
}

const MAX_DEPTH: usize = 128;

fn walk(
    obj: &Bound<'_, PyAny>,
    path: &mut String,
    kind: errors::Kind,
    depth: usize,
) -> PyResult<Value> {
    if depth > MAX_DEPTH {
        return Err(kind.error(format!("{path} is nested deeper than {MAX_DEPTH} levels")));
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::from(i));
        }
        if let Ok(u) = obj.extract::<u64>() {
            return Ok(Value::from(u));
        }
        return Err(kind.error(format!("{path} is an integer outside the 64-bit range")));
    }
    if obj.is_instance_of::<PyFloat>() {
        let f: f64 = obj.extract()?;
        return Number::from_f64(f)
            .map(Value::Number)
            .ok_or_else(|| kind.error(format!("{path} is {f}, which JSON cannot hold")));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.to_str()?.to_owned()));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut m = Map::new();
        for (k, v) in d.iter() {
            let Ok(key) = k.cast::<PyString>() else {
                return Err(kind.error(format!(
                    "{path} has a key of type {} (JSON object keys are str)",
                    type_name(&k)
                )));
            };
            let key = key.to_str()?.to_owned();
            let len = path.len();
            path.push('.');
            path.push_str(&key);
            let value = walk(&v, path, kind, depth + 1)?;
            path.truncate(len);
            m.insert(key, value);
        }
        return Ok(Value::Object(m));
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let mut out = Vec::new();
        for (i, item) in obj.try_iter()?.enumerate() {
            let len = path.len();
            path.push_str(&format!("[{i}]"));
            out.push(walk(&item?, path, kind, depth + 1)?);
            path.truncate(len);
        }
        return Ok(Value::Array(out));
    }
    Err(kind.error(format!(
        "{path} is a {}; give dict, list, tuple, str, int, float, bool or None",
        type_name(obj)
    )))
}

/// A JSON value as Python objects (`dict`, `list`, `str`, `int`, `float`, `bool`, `None`).
pub(crate) fn to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(a) => {
            let items = a
                .iter()
                .map(|x| to_py(py, x))
                .collect::<PyResult<Vec<_>>>()?;
            PyList::new(py, items)?.into_any()
        }
        Value::Object(o) => {
            let d = PyDict::new(py);
            for (k, x) in o {
                d.set_item(k, to_py(py, x)?)?;
            }
            d.into_any()
        }
    })
}

/// Header pairs `(name, value)`, each `bytes` or `str`, from a list of pairs or a mapping
/// (whose values may also be lists, for a header sent more than once).
pub(crate) fn header_pairs(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<(Vec<u8>, Vec<u8>)>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    let part = |x: &Bound<'_, PyAny>, which: &str| -> PyResult<Vec<u8>> {
        input_bytes(x, which).map(Cow::into_owned).map_err(|_| {
            PyTypeError::new_err(format!(
                "a header {which} must be bytes or str, not {}",
                type_name(x)
            ))
        })
    };
    if let Ok(d) = obj.cast::<PyDict>() {
        for (k, v) in d.iter() {
            let name = part(&k, "name")?;
            if v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>() {
                for item in v.try_iter()? {
                    out.push((name.clone(), part(&item?, "value")?));
                }
            } else {
                out.push((name, part(&v, "value")?));
            }
        }
        return Ok(out);
    }
    if obj.is_instance_of::<PyString>() || obj.is_instance_of::<PyBytes>() {
        return Err(PyTypeError::new_err(
            "headers must be a list of (name, value) pairs or a dict, not a string",
        ));
    }
    for (i, item) in obj.try_iter()?.enumerate() {
        let item = item?;
        let pair: Vec<Bound<'_, PyAny>> = item
            .try_iter()
            .and_then(|it| it.collect::<PyResult<Vec<_>>>())
            .map_err(|_| {
                PyTypeError::new_err(format!("headers[{i}] is not a (name, value) pair"))
            })?;
        let [name, value] = &pair[..] else {
            return Err(PyTypeError::new_err(format!(
                "headers[{i}] has {} items; a header is a (name, value) pair",
                pair.len()
            )));
        };
        out.push((part(name, "name")?, part(value, "value")?));
    }
    Ok(out)
}
