//! Bounds on the work any input can cause (ARCHITECTURE.md §2.2, invariant 4).

use crate::error::{Error, ErrorKind};

/// Hard ceiling on nesting depth, whatever the configuration says: the scanner keeps one bit per
/// open container in a fixed array of this many bits, so it never allocates to validate.
pub const MAX_DEPTH_CEILING: usize = 1024;

/// Configurable limits applied while parsing messages and compiling policies.
///
/// The defaults fit real MCP traffic (large `tools/list` results from big servers are around
/// 1 MB) with a wide margin, while keeping a hostile input's cost linear and bounded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted body in bytes.
    pub max_body_bytes: usize,
    /// Deepest accepted nesting of arrays and objects (the top-level value is depth 1).
    pub max_depth: usize,
    /// Most messages accepted in one JSON-RPC batch.
    pub max_batch_len: usize,
    /// Longest accepted string (raw bytes between the quotes, escapes not yet decoded).
    pub max_string_bytes: usize,
    /// Most keys one object may hold (bounds the duplicate-key check).
    pub max_object_keys: usize,
    /// Largest compiled size, in bytes, of the regular expressions of one policy feature.
    pub max_regex_bytes: usize,
    /// Most evaluation steps one condition may take before it is stopped (and counts as an error).
    pub max_expr_steps: u32,
    /// Deepest nesting of one condition expression.
    pub max_expr_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 16 * 1024 * 1024,
            max_depth: 128,
            max_batch_len: 64,
            max_string_bytes: 8 * 1024 * 1024,
            max_object_keys: 10_000,
            max_regex_bytes: 4 * 1024 * 1024,
            max_expr_steps: 10_000,
            max_expr_depth: 64,
        }
    }
}

impl Limits {
    /// Checks that the limits are usable, so a misconfiguration is reported once at start-up
    /// instead of as odd rejections later.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |field: &'static str, why: &str| {
            Err(Error::new(ErrorKind::InvalidLimits, why).at_path(field))
        };
        if self.max_depth == 0 || self.max_depth > MAX_DEPTH_CEILING {
            return bad("max_depth", "must be between 1 and 1024");
        }
        if self.max_body_bytes == 0 {
            return bad("max_body_bytes", "must be at least 1");
        }
        if self.max_batch_len == 0 {
            return bad("max_batch_len", "must be at least 1");
        }
        if self.max_object_keys == 0 {
            return bad("max_object_keys", "must be at least 1");
        }
        Ok(())
    }

    /// The depth actually enforced: the configured one, clamped to [`MAX_DEPTH_CEILING`].
    pub(crate) fn depth(&self) -> usize {
        self.max_depth.clamp(1, MAX_DEPTH_CEILING)
    }
}
