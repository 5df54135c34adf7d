"""mcp-policy: the policy engine for MCP (Model Context Protocol) traffic.

Judge client messages with a compiled :class:`Policy` (``check``), filter the server's
answers (``filter_response``), enforce it over whole HTTP exchanges with a :class:`Guard`
(the host protocol: client bodies, JSON and SSE answers, sessions), evaluate condition
templates (:func:`evaluate`), and play the OAuth 2 protected-resource role
(:mod:`mcp_policy.oauth`). :mod:`mcp_policy.asgi` puts a policy in front of any ASGI MCP app,
or in front of an MCP server at a URL as a reverse proxy.

Every decision is made by the Rust engine; results expose ``answer``, the engine's JSON
answer format, so every host (Rust, C, Python, Node) reports the same thing.
"""

from __future__ import annotations

from . import _errors, oauth
from ._errors import *  # noqa: F401,F403  (one class per error code)
from ._errors import McpPolicyError
from ._native import (
    Answer,
    Context,
    Decision,
    Delivery,
    Exchange,
    Filtered,
    Forward,
    Guard,
    Policy,
    Reply,
    Session,
    Step,
    __version__,
    evaluate,
)

__all__ = [
    "Answer",
    "Context",
    "Decision",
    "Delivery",
    "Exchange",
    "Filtered",
    "Forward",
    "Guard",
    "McpPolicyError",
    "Policy",
    "Reply",
    "Session",
    "Step",
    "__version__",
    "evaluate",
    "oauth",
    *_errors.__all__,
]
