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


_GROUPS: dict[int, type[McpPolicyError]] = {
    1: MessageError,
    2: ProtocolError,
    3: ConfigurationError,
    4: ExpressionError,
    5: TokenError,
    6: OAuthDocumentError,
    9: HostError,
}

# (number, NAME, docstring): the engine's ErrorCode set. A test checks it against the
# native module's list, so the two cannot drift apart.
_CODES: list[tuple[int, str, str]] = [
    (101, "TOO_LARGE", "The input is larger than the limit (max_body_bytes)."),
    (102, "TOO_DEEP", "JSON nested deeper than the limit."),
    (103, "BATCH_TOO_LONG", "A batch with more messages than the limit."),
    (104, "STRING_TOO_LONG", "A string longer than the limit."),
    (105, "TOO_MANY_KEYS", "An object with more keys than the limit."),
    (106, "INVALID_UTF8", "Bytes that are not UTF-8."),
    (107, "LONE_SURROGATE", "A \\u escape of a lone UTF-16 surrogate."),
    (108, "SYNTAX", "Text that is not JSON."),
    (109, "TRAILING_DATA", "Something after the JSON value."),
    (110, "DUPLICATE_KEY", "An object key given twice (receivers disagree on which counts)."),
    (201, "INVALID_REQUEST", "Not a JSON-RPC 2.0 message."),
    (202, "INVALID_PARAMS", "Params that do not fit the method."),
    (203, "BATCH_NOT_ALLOWED", "A batch where the protocol revision forbids them."),
    (204, "HEADER_MISMATCH", "Mcp-Method / Mcp-Name headers that disagree with the body."),
    (205, "UNSUPPORTED_PROTOCOL_VERSION", "An unknown MCP-Protocol-Version."),
    (206, "UNSUPPORTED_MEDIA_TYPE", "A Content-Type or Content-Encoding that cannot be judged."),
    (207, "DUPLICATE_ID", "A request id already waiting for its answer."),
    (208, "TOO_MANY_PENDING", "Too many requests of one session waiting for answers."),
    (301, "INVALID_LIMITS", "Limits that cannot be used."),
    (302, "INVALID_CONTEXT", "A context that cannot be read (names the member)."),
    (303, "INVALID_POLICY", "A policy that does not compile (answer lists every issue)."),
    (401, "INVALID_EXPRESSION", "A condition template that does not compile."),
    (402, "EVALUATION_FAILED", "A condition that failed while evaluating."),
    (501, "INVALID_TOKEN", "An access token that is refused (401 invalid_token)."),
    (502, "INSUFFICIENT_SCOPE", "An access token without the scopes needed (403)."),
    (601, "INVALID_URL", "A string that is not a usable URL."),
    (602, "INVALID_METADATA", "An unusable OAuth metadata document."),
    (603, "INVALID_CHALLENGE", "A WWW-Authenticate value that does not parse."),
    (604, "INVALID_JWKS", "A JWKS document without usable keys."),
    (605, "INVALID_VALIDATOR_CONFIG", "A token validator that cannot be built."),
    (606, "RELAY_FAILED", "An upstream challenge or metadata document that cannot be relayed."),
    (901, "INVALID_ARGUMENT", "An argument the binding cannot use."),
    (902, "BUFFER_TOO_SMALL", "A caller's buffer is too small (C ABI)."),
    (999, "INTERNAL", "A bug: report it."),
]


def _class_name(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_")) + "Error"


BY_CODE: dict[str, type[McpPolicyError]] = {}
"""Each code's NAME to its exception class."""

for _number, _name, _doc in _CODES:
    _cls = type(
        _class_name(_name),
        (_GROUPS[_number // 100],),
        {"code": _name, "number": _number, "__doc__": _doc, "__module__": "mcp_policy"},
    )
    BY_CODE[_name] = _cls
    globals()[_cls.__name__] = _cls

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
] + [c.__name__ for c in BY_CODE.values()]
