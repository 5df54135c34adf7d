//! Python bindings of the mcp-policy engine: the native module `mcp_policy._native`.
//!
//! Every decision is made by the `mcp-policy` crate; this crate converts Python objects to
//! its inputs and its results (in the engine's one answer format, `mcp_policy::answer`) back
//! to Python objects. Errors become one exception class per `ErrorCode`
//! (`python/mcp_policy/_errors.py`).

mod convert;
mod errors;
mod exchange;
mod oauth;
mod policy;

use pyo3::prelude::*;

/// The native module. The public API is the `mcp_policy` package, which re-exports it.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<policy::Policy>()?;
    m.add_class::<policy::Context>()?;
    m.add_class::<policy::Decision>()?;
    m.add_class::<policy::Filtered>()?;
    m.add_class::<exchange::Guard>()?;
    m.add_class::<exchange::Session>()?;
    m.add_class::<exchange::Exchange>()?;
    m.add_class::<exchange::Forward>()?;
    m.add_class::<exchange::Reply>()?;
    m.add_class::<exchange::Step>()?;
    m.add_class::<exchange::Answer>()?;
    m.add_class::<exchange::Delivery>()?;
    m.add_class::<oauth::JwtValidator>()?;
    m.add_class::<oauth::Principal>()?;
    m.add_function(wrap_pyfunction!(policy::evaluate, m)?)?;
    m.add_function(wrap_pyfunction!(errors::error_codes, m)?)?;
    m.add_function(wrap_pyfunction!(oauth::bearer_challenge, m)?)?;
    m.add_function(wrap_pyfunction!(oauth::parse_www_authenticate, m)?)?;
    m.add_function(wrap_pyfunction!(oauth::protected_resource_metadata, m)?)?;
    m.add_function(wrap_pyfunction!(oauth::protected_resource_metadata_url, m)?)?;
    m.add_function(wrap_pyfunction!(
        oauth::validate_protected_resource_metadata,
        m
    )?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
