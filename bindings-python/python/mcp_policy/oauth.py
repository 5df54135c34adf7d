"""OAuth 2 protected-resource helpers of the MCP authorization spec.

The host does the I/O (fetching a JWKS or a metadata document, reading the clock); the
engine decides:

- :func:`bearer_challenge`: a ``WWW-Authenticate: Bearer`` value (401 with
  ``resource_metadata`` and ``scope``, 403 ``insufficient_scope`` for step-up), with its status.
- :func:`parse_www_authenticate`: the challenges of a header value.
- :func:`protected_resource_metadata`, :func:`protected_resource_metadata_url`,
  :func:`validate_protected_resource_metadata`: the RFC 9728 document and its URL.
- :class:`JwtValidator`: access tokens checked against a JWKS; a valid one gives a
  :class:`Principal` whose ``attributes`` feed a :class:`mcp_policy.Context`.
"""

from __future__ import annotations

from ._native import (
    JwtValidator,
    Principal,
    bearer_challenge,
    parse_www_authenticate,
    protected_resource_metadata,
    protected_resource_metadata_url,
    validate_protected_resource_metadata,
)

__all__ = [
    "JwtValidator",
    "Principal",
    "bearer_challenge",
    "parse_www_authenticate",
    "protected_resource_metadata",
    "protected_resource_metadata_url",
    "validate_protected_resource_metadata",
]
