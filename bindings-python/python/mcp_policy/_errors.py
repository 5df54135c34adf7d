"""One exception class per error code of the engine (core's ``ErrorCode``), all rooted in
:class:`McpPolicyError`, itself a :class:`ValueError`.

Each exception carries the code's stable ``code`` name (``"DUPLICATE_KEY"``), its ``number``
(the C ABI's value) and ``answer``: the engine's error answer
(``{"error": {"code", "number", "message", ...}}`` with ``path``, ``offset``, ``position``,
``hint`` or ``issues`` when the error knows them), exactly as Rust, C and Node report it.
"""

from __future__ import annotations

from typing import Any


class McpPolicyError(ValueError):
    """Any error of the engine. ``code`` is the stable name, ``number`` the stable number."""

    code: str = "INTERNAL"
    number: int = 999

    def __init__(self, message: str, answer: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.answer: dict[str, Any] = answer if answer is not None else {
            "error": {"code": self.code, "number": self.number, "message": message}
        }

    @property
    def details(self) -> dict[str, Any]:
        """The error object of ``answer`` (``code``, ``number``, ``message`` and extras)."""
        return self.answer.get("error", {})


class MessageError(McpPolicyError):
    """1xx: a message that cannot be read (size, depth, syntax, duplicates...)."""


class ProtocolError(McpPolicyError):
    """2xx: the MCP protocol around a message (headers, batches, media types...)."""


class ConfigurationError(McpPolicyError):
    """3xx: limits, a context or a policy that cannot be used."""


class ExpressionError(McpPolicyError):
    """4xx: a condition template that does not compile or failed to evaluate."""


class TokenError(McpPolicyError):
    """5xx: an access token refused (401) or without the scopes needed (403)."""


class OAuthDocumentError(McpPolicyError):
    """6xx: URLs, metadata documents, challenges, JWKS, validator settings."""


class HostError(McpPolicyError):
    """9xx: conditions a host reports (bad arguments, a bug)."""

# One class per code of the engine's ErrorCode set (number, NAME); a test checks this list
# against the native module's, so the two cannot drift apart.


class TooLargeError(MessageError):
    """The input is larger than the limit (max_body_bytes)."""

    code = "TOO_LARGE"
    number = 101


class TooDeepError(MessageError):
    """JSON nested deeper than the limit."""

    code = "TOO_DEEP"
    number = 102


class BatchTooLongError(MessageError):
    """A batch with more messages than the limit."""

    code = "BATCH_TOO_LONG"
    number = 103


class StringTooLongError(MessageError):
    """A string longer than the limit."""

    code = "STRING_TOO_LONG"
    number = 104


class TooManyKeysError(MessageError):
    """An object with more keys than the limit."""

    code = "TOO_MANY_KEYS"
    number = 105


class InvalidUtf8Error(MessageError):
    """Bytes that are not UTF-8."""

    code = "INVALID_UTF8"
    number = 106


class LoneSurrogateError(MessageError):
    """A \\u escape of a lone UTF-16 surrogate."""

    code = "LONE_SURROGATE"
    number = 107


class JsonSyntaxError(MessageError):
    """Text that is not JSON (named so as not to shadow Python's own ``SyntaxError``)."""

    code = "SYNTAX"
    number = 108


class TrailingDataError(MessageError):
    """Something after the JSON value."""

    code = "TRAILING_DATA"
    number = 109


class DuplicateKeyError(MessageError):
    """An object key given twice (receivers disagree on which counts)."""

    code = "DUPLICATE_KEY"
    number = 110


class InvalidRequestError(ProtocolError):
    """Not a JSON-RPC 2.0 message."""

    code = "INVALID_REQUEST"
    number = 201


class InvalidParamsError(ProtocolError):
    """Params that do not fit the method."""

    code = "INVALID_PARAMS"
    number = 202


class BatchNotAllowedError(ProtocolError):
    """A batch where the protocol revision forbids them."""

    code = "BATCH_NOT_ALLOWED"
    number = 203


class HeaderMismatchError(ProtocolError):
    """Mcp-Method / Mcp-Name headers that disagree with the body."""

    code = "HEADER_MISMATCH"
    number = 204


class UnsupportedProtocolVersionError(ProtocolError):
    """An unknown MCP-Protocol-Version."""

    code = "UNSUPPORTED_PROTOCOL_VERSION"
    number = 205


class UnsupportedMediaTypeError(ProtocolError):
    """A Content-Type or Content-Encoding that cannot be judged."""

    code = "UNSUPPORTED_MEDIA_TYPE"
    number = 206


class DuplicateIdError(ProtocolError):
    """A request id already waiting for its answer."""

    code = "DUPLICATE_ID"
    number = 207


class TooManyPendingError(ProtocolError):
    """Too many requests of one session waiting for answers."""

    code = "TOO_MANY_PENDING"
    number = 208


class InvalidLimitsError(ConfigurationError):
    """Limits that cannot be used."""

    code = "INVALID_LIMITS"
    number = 301


class InvalidContextError(ConfigurationError):
    """A context that cannot be read (names the member)."""

    code = "INVALID_CONTEXT"
    number = 302


class InvalidPolicyError(ConfigurationError):
    """A policy that does not compile (answer lists every issue)."""

    code = "INVALID_POLICY"
    number = 303


class InvalidExpressionError(ExpressionError):
    """A condition template that does not compile."""

    code = "INVALID_EXPRESSION"
    number = 401


class EvaluationFailedError(ExpressionError):
    """A condition that failed while evaluating."""

    code = "EVALUATION_FAILED"
    number = 402


class InvalidTokenError(TokenError):
    """An access token that is refused (401 invalid_token)."""

    code = "INVALID_TOKEN"
    number = 501


class InsufficientScopeError(TokenError):
    """An access token without the scopes needed (403)."""

    code = "INSUFFICIENT_SCOPE"
    number = 502


class InvalidUrlError(OAuthDocumentError):
    """A string that is not a usable URL."""

    code = "INVALID_URL"
    number = 601


class InvalidMetadataError(OAuthDocumentError):
    """An unusable OAuth metadata document."""

    code = "INVALID_METADATA"
    number = 602


class InvalidChallengeError(OAuthDocumentError):
    """A WWW-Authenticate value that does not parse."""

    code = "INVALID_CHALLENGE"
    number = 603


class InvalidJwksError(OAuthDocumentError):
    """A JWKS document without usable keys."""

    code = "INVALID_JWKS"
    number = 604


class InvalidValidatorConfigError(OAuthDocumentError):
    """A token validator that cannot be built."""

    code = "INVALID_VALIDATOR_CONFIG"
    number = 605


class RelayFailedError(OAuthDocumentError):
    """An upstream challenge or metadata document that cannot be relayed."""

    code = "RELAY_FAILED"
    number = 606


class InvalidArgumentError(HostError):
    """An argument the binding cannot use."""

    code = "INVALID_ARGUMENT"
    number = 901


class BufferTooSmallError(HostError):
    """A caller's buffer is too small (C ABI)."""

    code = "BUFFER_TOO_SMALL"
    number = 902


class InternalError(HostError):
    """A bug: report it."""

    code = "INTERNAL"
    number = 999


BY_CODE: dict[str, type[McpPolicyError]] = {
    "TOO_LARGE": TooLargeError,
    "TOO_DEEP": TooDeepError,
    "BATCH_TOO_LONG": BatchTooLongError,
    "STRING_TOO_LONG": StringTooLongError,
    "TOO_MANY_KEYS": TooManyKeysError,
    "INVALID_UTF8": InvalidUtf8Error,
    "LONE_SURROGATE": LoneSurrogateError,
    "SYNTAX": JsonSyntaxError,
    "TRAILING_DATA": TrailingDataError,
    "DUPLICATE_KEY": DuplicateKeyError,
    "INVALID_REQUEST": InvalidRequestError,
    "INVALID_PARAMS": InvalidParamsError,
    "BATCH_NOT_ALLOWED": BatchNotAllowedError,
    "HEADER_MISMATCH": HeaderMismatchError,
    "UNSUPPORTED_PROTOCOL_VERSION": UnsupportedProtocolVersionError,
    "UNSUPPORTED_MEDIA_TYPE": UnsupportedMediaTypeError,
    "DUPLICATE_ID": DuplicateIdError,
    "TOO_MANY_PENDING": TooManyPendingError,
    "INVALID_LIMITS": InvalidLimitsError,
    "INVALID_CONTEXT": InvalidContextError,
    "INVALID_POLICY": InvalidPolicyError,
    "INVALID_EXPRESSION": InvalidExpressionError,
    "EVALUATION_FAILED": EvaluationFailedError,
    "INVALID_TOKEN": InvalidTokenError,
    "INSUFFICIENT_SCOPE": InsufficientScopeError,
    "INVALID_URL": InvalidUrlError,
    "INVALID_METADATA": InvalidMetadataError,
    "INVALID_CHALLENGE": InvalidChallengeError,
    "INVALID_JWKS": InvalidJwksError,
    "INVALID_VALIDATOR_CONFIG": InvalidValidatorConfigError,
    "RELAY_FAILED": RelayFailedError,
    "INVALID_ARGUMENT": InvalidArgumentError,
    "BUFFER_TOO_SMALL": BufferTooSmallError,
    "INTERNAL": InternalError,
}
"""Each code's NAME to its exception class."""

__all__ = [
    "BY_CODE",
    "McpPolicyError",
    "MessageError",
    "ProtocolError",
    "ConfigurationError",
    "ExpressionError",
    "TokenError",
    "OAuthDocumentError",
    "HostError",
    "TooLargeError",
    "TooDeepError",
    "BatchTooLongError",
    "StringTooLongError",
    "TooManyKeysError",
    "InvalidUtf8Error",
    "LoneSurrogateError",
    "JsonSyntaxError",
    "TrailingDataError",
    "DuplicateKeyError",
    "InvalidRequestError",
    "InvalidParamsError",
    "BatchNotAllowedError",
    "HeaderMismatchError",
    "UnsupportedProtocolVersionError",
    "UnsupportedMediaTypeError",
    "DuplicateIdError",
    "TooManyPendingError",
    "InvalidLimitsError",
    "InvalidContextError",
    "InvalidPolicyError",
    "InvalidExpressionError",
    "EvaluationFailedError",
    "InvalidTokenError",
    "InsufficientScopeError",
    "InvalidUrlError",
    "InvalidMetadataError",
    "InvalidChallengeError",
    "InvalidJwksError",
    "InvalidValidatorConfigError",
    "RelayFailedError",
    "InvalidArgumentError",
    "BufferTooSmallError",
    "InternalError",
]
