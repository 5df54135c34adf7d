//! Errors of template compilation ([`ExprError`]) and evaluation ([`EvalError`]): what was
//! wrong, where (byte offset in the template), and what to do.

use alloc::string::String;
use core::fmt;

/// Why a template failed to compile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExprErrorKind {
    /// The text is not a valid expression (bad token, missing operand, unbalanced brackets…).
    Syntax,
    /// Valid SpEL that this engine does not implement (`T(…)`, `new`, assignment, selection…).
    Unsupported,
    /// A variable property, method or function that does not exist.
    UnknownName,
    /// A `matches` pattern that is not a valid (or is a too large) regular expression, or an
    /// invalid JSONPath.
    Pattern,
    /// The expression nests deeper than [`crate::Limits::max_expr_depth`].
    TooDeep,
}

/// A template that cannot be compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError {
    kind: ExprErrorKind,
    message: String,
    position: usize,
    hint: &'static str,
}

impl ExprError {
    pub(crate) fn new(
        kind: ExprErrorKind,
        message: String,
        position: usize,
        hint: &'static str,
    ) -> Self {
        Self {
            kind,
            message,
            position,
            hint,
        }
    }

    pub(crate) fn at(mut self, position: usize) -> Self {
        self.position = position;
        self
    }

    /// The category.
    pub fn kind(&self) -> ExprErrorKind {
        self.kind
    }

    /// What was wrong.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Byte offset in the template where the problem is.
    pub fn position(&self) -> usize {
        self.position
    }

    /// What to do about it.
    pub fn hint(&self) -> &'static str {
        self.hint
    }
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (at byte {}): {}",
            self.message, self.position, self.hint
        )
    }
}

impl ExprError {
    /// The code in the crate-wide set.
    pub fn code(&self) -> crate::error::ErrorCode {
        crate::error::ErrorCode::InvalidExpression
    }
}

impl core::error::Error for ExprError {}

/// Why an evaluation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EvalErrorKind {
    /// An operator or method got a value of the wrong type.
    Type,
    /// A property, index or method was applied to null (use `?.` to get null instead).
    Null,
    /// A property that the value does not have.
    UnknownProperty,
    /// A list or string index out of range.
    Index,
    /// Division by zero or integer overflow.
    Arithmetic,
    /// A regular expression built at evaluation time is invalid or too large.
    Pattern,
    /// `#jsonPath` could not read its input or path.
    JsonPath,
    /// The result cannot be converted to the requested type.
    Conversion,
    /// The evaluation took more than [`crate::Limits::max_expr_steps`] steps.
    Budget,
}

/// An evaluation that failed. Policies fail closed on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalError {
    kind: EvalErrorKind,
    message: String,
    position: usize,
}

impl EvalError {
    pub(crate) fn new(kind: EvalErrorKind, message: String, position: usize) -> Self {
        Self {
            kind,
            message,
            position,
        }
    }

    /// The category.
    pub fn kind(&self) -> EvalErrorKind {
        self.kind
    }

    /// What was wrong.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Byte offset in the template of the sub-expression that failed.
    pub fn position(&self) -> usize {
        self.position
    }

    /// What to do about it.
    pub fn hint(&self) -> &'static str {
        match self.kind {
            EvalErrorKind::Type => {
                "check the operand types (headers are lists: use [0] or getFirst)"
            }
            EvalErrorKind::Null => "use ?. or ?: to handle missing values",
            EvalErrorKind::UnknownProperty => "check the property name against the context shape",
            EvalErrorKind::Index => "check the index against size()",
            EvalErrorKind::Arithmetic => "avoid dividing by zero and huge integers",
            EvalErrorKind::Pattern => "fix the regular expression or make it shorter",
            EvalErrorKind::JsonPath => {
                "give #jsonPath a JSON string or value and a path like $.a.b[0]"
            }
            EvalErrorKind::Conversion => "make the expression produce the requested type",
            EvalErrorKind::Budget => "simplify the expression or raise max_expr_steps",
        }
    }
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (at byte {}): {}",
            self.message,
            self.position,
            self.hint()
        )
    }
}

impl EvalError {
    /// The code in the crate-wide set.
    pub fn code(&self) -> crate::error::ErrorCode {
        crate::error::ErrorCode::EvaluationFailed
    }
}

impl core::error::Error for EvalError {}
