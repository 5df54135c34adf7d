"""Type stubs of the native module (Rust, pyo3). The public API is :mod:`mcp_policy`."""

from collections.abc import Iterable, Mapping, Sequence
from os import PathLike
from typing import Any, Literal, final

__version__: str

JsonInput = bytes | bytearray | str | dict[str, Any] | list[Any]
"""JSON text (``bytes``/``str``, sent byte for byte) or a value serialized compactly."""
HeaderValue = bytes | str
Headers = Iterable[tuple[HeaderValue, HeaderValue]] | Mapping[HeaderValue, HeaderValue | Sequence[HeaderValue]]
ContextLike = Context | dict[str, Any] | str | bytes | None
ResultType = Literal["auto", "string", "boolean"]
FailureKind = Literal["unreachable", "timeout", "broken", "shutting_down", "unjudgeable"]

@final
class Context:
    """What conditions read about a request (ARCHITECTURE.md §3). Build once per request."""

    def __init__(self, document: dict[str, Any] | str | bytes | None = None) -> None:
        """Reads the §3 document; raises ``InvalidContextError`` naming the bad member."""
    @staticmethod
    def from_headers(headers: Headers, attributes: dict[str, Any] | None = None) -> Context:
        """From the request's header pairs and an attributes dict."""
    @property
    def headers(self) -> dict[str, list[str]]:
        """The request headers conditions see."""

@final
class Policy:
    """A compiled policy. Immutable and thread-safe."""

    @staticmethod
    def from_json(text: str | bytes | bytearray, limits: dict[str, int] | None = None) -> Policy:
        """Compiles JSON text; raises ``InvalidPolicyError`` listing every issue."""
    @staticmethod
    def from_file(path: str | PathLike[str], limits: dict[str, int] | None = None) -> Policy:
        """Compiles the JSON file at ``path``."""
    @staticmethod
    def from_dict(document: dict[str, Any], limits: dict[str, int] | None = None) -> Policy:
        """Compiles a parsed policy document."""
    @property
    def rule_count(self) -> int:
        """How many rules the policy has."""
    def check(self, message: JsonInput, context: ContextLike = None) -> Decision:
        """Judges one client message or batch."""
    def check_batch(self, messages: Iterable[JsonInput], context: ContextLike = None) -> list[Decision]:
        """Judges each message on its own."""
    def filter(self, request: JsonInput, response: JsonInput, context: ContextLike = None) -> Filtered:
        """Filters the server's whole answer to ``request``."""
    def filter_response(self, request: JsonInput, response: JsonInput, context: ContextLike = None) -> bytes | None:
        """The bytes to forward for the server's answer, or ``None`` for nothing."""
    def evaluate(
        self, expression: str, context: ContextLike = None, message: JsonInput | None = None, type: ResultType = "auto"
    ) -> Any:
        """Evaluates a condition template with this policy's limits."""
    def guard(
        self,
        resource_metadata_url: str | None = None,
        max_pending: int = 1024,
        challenge_scopes: Sequence[str] | None = None,
    ) -> Guard:
        """A guard enforcing this policy over whole exchanges."""

@final
class Decision:
    """The verdict on one message (or a batch). ``bool(decision)`` is ``allowed``."""

    @property
    def allowed(self) -> bool: ...
    @property
    def decision(self) -> Literal["allow", "deny"]: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def rule(self) -> int | None: ...
    @property
    def status(self) -> int: ...
    @property
    def kind(self) -> Literal["not_granted", "denied_by_rule", "condition_error", "invalid_message"] | None: ...
    @property
    def mode(self) -> Literal["hide", "forbid", "http"] | None:
        """How the policy wants a denial answered."""
    @property
    def error(self) -> dict[str, Any] | None:
        """The JSON-RPC error object to answer with."""
    @property
    def response(self) -> dict[str, Any] | None:
        """The whole JSON-RPC error response."""
    @property
    def required_scopes(self) -> list[str]: ...
    @property
    def audit(self) -> dict[str, Any] | None: ...
    @property
    def batch(self) -> tuple[Decision, ...] | None: ...
    @property
    def answer(self) -> dict[str, Any]:
        """The engine's answer (``answer::check``)."""
    def __bool__(self) -> bool: ...

@final
class Filtered:
    """A filtered server answer."""

    @property
    def rewrite(self) -> Literal["unchanged", "replaced", "dropped"]: ...
    @property
    def body(self) -> bytes | None: ...
    @property
    def hidden(self) -> list[dict[str, str]]: ...
    @property
    def answer(self) -> dict[str, Any]: ...

@final
class Guard:
    """Judges whole exchanges for one policy. Thread-safe."""

    def session(self) -> Session:
        """A new session."""
    def client(
        self,
        body: JsonInput,
        headers: Headers | None = None,
        context: ContextLike = None,
        session: Session | None = None,
    ) -> Forward | Reply:
        """Judges one client POST body."""
    def stream(self, session: Session, last_event_id: HeaderValue | None = None) -> Exchange:
        """An exchange for a GET stream, or a resumed one."""
    @property
    def resource_metadata_url(self) -> str | None: ...
    @property
    def challenge_scopes(self) -> list[str]: ...
    @property
    def max_pending(self) -> int: ...

@final
class Session:
    """The state of one MCP session. Thread-safe."""

    def set_resumable(self, resumable: bool) -> None: ...
    @property
    def pending_count(self) -> int: ...
    def route(self, message: JsonInput) -> int | Literal["unsolicited", "unreadable"]: ...
    def fail_all(self, message: str, code: int = -32603) -> list[tuple[int, bytes]]: ...

@final
class Exchange:
    """Judges what the server sends back for one exchange or stream."""

    @property
    def id(self) -> int: ...
    @property
    def waiting(self) -> int: ...
    @property
    def session(self) -> Session: ...
    def server_head(
        self, status: int, content_type: HeaderValue | None = None, content_encoding: HeaderValue | None = None
    ) -> Literal["stream", "whole"]: ...
    def server_chunk(self, chunk: bytes | bytearray | str, context: ContextLike = None) -> Step: ...
    def finish(self) -> Step: ...
    def server_body(self, body: bytes | bytearray | str, context: ContextLike = None) -> Answer: ...
    def server_message(self, message: JsonInput, context: ContextLike = None) -> Delivery: ...
    def fail_reply(self, failure_kind: FailureKind, detail: str) -> Reply: ...
    def fail_stream(self, failure_kind: FailureKind, detail: str) -> Step: ...

@final
class Forward:
    """Forward the body with ``content_type``; judge the answer with ``exchange``."""

    @property
    def exchange(self) -> Exchange: ...
    @property
    def content_type(self) -> str: ...
    @property
    def summary(self) -> dict[str, Any]: ...
    @property
    def answer(self) -> dict[str, Any]: ...

@final
class Reply:
    """An HTTP answer the engine wrote."""

    @property
    def status(self) -> int: ...
    @property
    def content_type(self) -> str | None: ...
    @property
    def www_authenticate(self) -> str | None: ...
    @property
    def headers(self) -> list[tuple[str, str]]: ...
    @property
    def body(self) -> bytes: ...
    @property
    def kind(self) -> Literal["denied", "invalid", "dropped", "failed"]: ...
    @property
    def error_code(self) -> int | None: ...
    @property
    def summary(self) -> dict[str, Any]: ...
    @property
    def answer(self) -> dict[str, Any]: ...

@final
class Step:
    """What to send after one step of a server stream."""

    @property
    def to_client(self) -> bytes: ...
    @property
    def to_server(self) -> list[bytes]: ...
    @property
    def end(self) -> bool: ...
    @property
    def notes(self) -> dict[str, Any]: ...
    @property
    def answer(self) -> dict[str, Any]: ...

@final
class Answer:
    """The server's whole answer, judged."""

    @property
    def status(self) -> int: ...
    @property
    def content_type(self) -> str | None: ...
    @property
    def body(self) -> bytes: ...
    @property
    def unchanged(self) -> bool: ...
    @property
    def to_server(self) -> list[bytes]: ...
    @property
    def notes(self) -> dict[str, Any]: ...
    @property
    def answer(self) -> dict[str, Any]: ...

@final
class Delivery:
    """One server message judged (a stdio line)."""

    @property
    def message(self) -> bytes | None: ...
    @property
    def to_server(self) -> list[bytes]: ...
    @property
    def notes(self) -> dict[str, Any]: ...
    @property
    def answer(self) -> dict[str, Any]: ...

@final
class JwtValidator:
    """Validates JWT access tokens against a JWKS."""

    def __init__(
        self,
        jwks: JsonInput,
        issuers: Sequence[str],
        resource_url: str,
        *,
        algorithms: Sequence[str] | None = None,
        leeway: int = 60,
        required_scopes: Sequence[str] | None = None,
        resource_metadata: str | None = None,
    ) -> None: ...
    def validate(self, token: str, now: int | None = None) -> Principal: ...
    @property
    def key_count(self) -> int: ...

@final
class Principal:
    """The caller established from a valid token."""

    @property
    def user(self) -> str | None: ...
    @property
    def scopes(self) -> list[str]: ...
    @property
    def client_id(self) -> str | None: ...
    @property
    def issuer(self) -> str | None: ...
    @property
    def audience(self) -> list[str]: ...
    @property
    def expires_at(self) -> int | None: ...
    @property
    def claims(self) -> dict[str, Any]: ...
    @property
    def attributes(self) -> dict[str, Any]: ...

def evaluate(
    expression: str, context: ContextLike = None, message: JsonInput | None = None, type: ResultType = "auto"
) -> Any:
    """Evaluates a condition template."""

def error_codes() -> list[tuple[int, str]]:
    """Every error code as (number, NAME)."""

def bearer_challenge(
    resource_metadata: str,
    *,
    scopes: Sequence[str] | None = None,
    error: str | None = None,
    description: str | None = None,
    realm: str | None = None,
) -> tuple[int, str]: ...
def parse_www_authenticate(value: str) -> list[dict[str, Any]]: ...
def protected_resource_metadata(
    public_url: str,
    authorization_servers: Sequence[str],
    *,
    scopes_supported: Sequence[str] | None = None,
    resource_name: str | None = None,
) -> dict[str, Any]: ...
def protected_resource_metadata_url(resource: str) -> str: ...
def validate_protected_resource_metadata(document: JsonInput, requested: str) -> dict[str, Any]: ...
