//! Errors cross into Python as one exception class per [`ErrorCode`], defined in
//! `mcp_policy/_errors.py` (rooted in `McpPolicyError(ValueError)`). Each carries the code's
//! name and number and the engine's error answer (`answer::core_error`, `policy_error`...), so
//! Python sees exactly what Rust, the C ABI and Node see.

use mcp_policy::ErrorCode;
use mcp_policy::answer;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;
use serde_json::{Map, Value};

use crate::convert::to_py;

static CLASSES: PyOnceLock<Py<PyDict>> = PyOnceLock::new();

/// The exception for `answer` (an error answer: `{"error": {"code": NAME, "message", …}}`).
pub(crate) fn from_answer(py: Python<'_>, answer: &Value) -> PyErr {
    match build(py, answer) {
        Ok(e) => e,
        Err(e) => e,
    }
}

fn build(py: Python<'_>, answer: &Value) -> PyResult<PyErr> {
    let classes = CLASSES.get_or_try_init(py, || -> PyResult<Py<PyDict>> {
        let m = py.import("mcp_policy._errors")?;
        Ok(m.getattr("BY_CODE")?.cast_into::<PyDict>()?.unbind())
    })?;
    let name = answer["error"]["code"].as_str().unwrap_or("INTERNAL");
    let message = answer["error"]["message"].as_str().unwrap_or("");
    let cls = match classes.bind(py).get_item(name)? {
        Some(c) => c,
        None => classes
            .bind(py)
            .get_item("INTERNAL")?
            .ok_or_else(|| pyo3::exceptions::PyRuntimeError::new_err("no INTERNAL class"))?,
    };
    let instance = cls.call1((message, to_py(py, answer)?))?;
    Ok(PyErr::from_value(instance))
}

/// An error of `code` with `message` and nothing more to say.
pub(crate) fn plain(code: ErrorCode, message: impl AsRef<str>) -> PyErr {
    Python::attach(|py| from_answer(py, &answer::error(code, message.as_ref(), Map::new())))
}

/// A core message, context or limits error.
pub(crate) fn core(e: &mcp_policy::Error) -> PyErr {
    Python::attach(|py| from_answer(py, &answer::core_error(e)))
}

/// Any error type of the crate with a `code()` and a message.
pub(crate) fn coded(code: ErrorCode, e: &impl std::fmt::Display) -> PyErr {
    plain(code, e.to_string())
}

/// What a bad Python value was given for: the error code it raises.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// A context (`INVALID_CONTEXT`).
    Context,
    /// Any other argument (`INVALID_ARGUMENT`).
    Argument,
}

impl Kind {
    pub(crate) fn error(self, message: String) -> PyErr {
        let code = match self {
            Kind::Context => ErrorCode::InvalidContext,
            Kind::Argument => ErrorCode::InvalidArgument,
        };
        plain(code, message)
    }
}

/// Every code as `(number, NAME)`, for the Python side to check its classes against.
#[pyfunction]
pub(crate) fn error_codes() -> Vec<(u32, &'static str)> {
    ErrorCode::ALL
        .iter()
        .map(|c| (c.code(), c.name()))
        .collect()
}
