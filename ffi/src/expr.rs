//! Condition expressions (Gravitee EL templates), evaluated on their own: for hosts that test
//! conditions, and for tools.

use mcp_policy::expr::{Env, McpVars, ResultType, Template};
use mcp_policy::{Limits, Message, answer};

use crate::buffer::mcp_policy_buffer;
use crate::context::{context_or_empty, mcp_policy_context};
use crate::error::{Failure, boundary, into_handle, optional, out, put, text};
use crate::mcp_policy_result;

/// The type a template's result is converted to.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum mcp_policy_expr_type {
    /// The value as computed.
    Auto = 0,
    /// A string (Gravitee's `String.class`).
    String = 1,
    /// A boolean (Gravitee's `Boolean.class`): what conditions use.
    Boolean = 2,
}

fn result_type(t: u32) -> Result<ResultType, Failure> {
    match t {
        0 => Ok(ResultType::Auto),
        1 => Ok(ResultType::String),
        2 => Ok(ResultType::Boolean),
        _ => Err(Failure::argument(
            "type",
            "not an mcp_policy_expr_type; pass AUTO (0), STRING (1) or BOOLEAN (2)",
        )),
    }
}

/// Evaluates a condition template (`{#request.headers['x-role'][0] == 'admin'}`) against a
/// context (NULL for empty) and, when `message` is not NULL, the MCP message being judged
/// (it fills `#mcp`). On success writes the value as JSON text (`true`, `"text"`, `null` for
/// Gravitee's empty result) to a new buffer.
///
/// Errors: `MCP_POLICY_RESULT_INVALID_EXPRESSION` (with the byte position in the last error's
/// JSON), `MCP_POLICY_RESULT_EVALUATION_FAILED`, a message that cannot be read (1xx, 2xx).
///
/// # Safety
/// `expression` must point to `len` bytes; `message` NULL or `message_len` bytes; `context`
/// NULL or live; `out_value` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_evaluate(
    expression: *const u8,
    len: usize,
    context: *const mcp_policy_context,
    message: *const u8,
    message_len: usize,
    r#type: u32,
    out_value: *mut *mut mcp_policy_buffer,
) -> mcp_policy_result {
    boundary(|| {
        out(out_value, "out_value")?;
        // SAFETY: forwarded from the caller's promise.
        let src = unsafe { text(expression, len, "expression") }?;
        // SAFETY: forwarded from the caller's promise.
        let ctx = unsafe { context_or_empty(context) };
        // SAFETY: forwarded from the caller's promise.
        let m = unsafe { optional(message, message_len, "message") }?;
        let ty = result_type(r#type)?;
        let limits = Limits::default();
        let msg = m
            .map(|m| Message::parse(m, &limits))
            .transpose()
            .map_err(|e| Failure::core(&e))?;
        let t = Template::compile(src, &limits)
            .map_err(|e| Failure::new(e.code(), e.message(), answer::compile_error(&e)))?;
        let mut env = Env::new(ctx);
        if let Some(vars) = msg.as_ref().and_then(McpVars::from_message) {
            env = env.with_mcp(vars);
        }
        let v = t
            .eval(&env, ty)
            .map_err(|e| Failure::new(e.code(), e.message(), answer::eval_error(&e)))?;
        // SAFETY: checked writable above.
        unsafe { put(out_value, into_handle(mcp_policy_buffer::new(v.to_json()))) };
        Ok(())
    })
}

/// Like [`mcp_policy_evaluate`], answering in the JSON answer format: `{"value": ...}` or
/// `{"error": {"code": "INVALID_EXPRESSION" | "EVALUATION_FAILED", "message", "position",
/// "hint", ...}}`. Fails only on unusable arguments or a message that cannot be read.
///
/// # Safety
/// As [`mcp_policy_evaluate`]; `out_json` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mcp_policy_evaluate_json(
    expression: *const u8,
    len: usize,
    context: *const mcp_policy_context,
    message: *const u8,
    message_len: usize,
    r#type: u32,
    out_json: *mut *mut mcp_policy_buffer,
) -> mcp_policy_result {
    boundary(|| {
        out(out_json, "out_json")?;
        // SAFETY: forwarded from the caller's promise.
        let src = unsafe { text(expression, len, "expression") }?;
        // SAFETY: forwarded from the caller's promise.
        let ctx = unsafe { context_or_empty(context) };
        // SAFETY: forwarded from the caller's promise.
        let m = unsafe { optional(message, message_len, "message") }?;
        let ty = result_type(r#type)?;
        let limits = Limits::default();
        let msg = m
            .map(|m| Message::parse(m, &limits))
            .transpose()
            .map_err(|e| Failure::core(&e))?;
        let a = answer::evaluate(src, ctx, msg.as_ref(), ty, &limits);
        // SAFETY: checked writable above.
        unsafe { put(out_json, into_handle(mcp_policy_buffer::new(a.to_string()))) };
        Ok(())
    })
}
