"""A policy in front of any ASGI MCP app, or in front of an MCP server at a URL.

- :class:`PolicyMiddleware` wraps an ASGI app (the ``mcp`` SDK's Streamable HTTP app,
  ``MCPServer(...).streamable_http_app()``, Starlette, FastAPI...) and enforces a policy on
  every MCP exchange through it.
- :func:`proxy` is a reverse proxy: an ASGI app that forwards to the MCP server at a URL,
  with the policy enforced (serve it with uvicorn).

Both stream event streams event by event: each chunk the server sends is judged as it comes
and the whole events it completes go to the client at once (progress notifications arrive as
they are sent).

Everything decided here is decided by the engine (:class:`mcp_policy.Guard`): this module only
moves bytes and keeps sessions. For each client ``POST`` the guard says forward (and then
judges what comes back: a JSON body whole, an event stream chunk by chunk) or reply; a
``GET`` event stream is judged as the session's stream; server requests the policy refuses
are answered back to the server (``to_server``) so its call does not hang.

::

    from mcp.server.mcpserver import MCPServer
    from mcp_policy import Policy
    from mcp_policy.asgi import PolicyMiddleware

    server = MCPServer("demo")
    app = PolicyMiddleware(server.streamable_http_app(), Policy.from_file("policy.json"))

    # or, in front of a server elsewhere:
    from mcp_policy.asgi import proxy
    app = proxy("http://127.0.0.1:3001/mcp", Policy.from_file("policy.json"))
"""

from __future__ import annotations

import asyncio
import inspect
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from ._native import Context, Exchange, Forward, Guard, Policy, Reply, Session

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

ContextFactory = Callable[[Scope], "Context | dict[str, Any] | None | Awaitable[Context | dict[str, Any] | None]"]

__all__ = ["PolicyMiddleware", "UpstreamApp", "proxy"]

SESSION_HEADER = b"mcp-session-id"

# Headers that describe one connection, not the message (RFC 9110 §7.6.1).
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"transfer-encoding",
        b"te",
        b"trailer",
        b"upgrade",
        b"proxy-authorization",
        b"proxy-authenticate",
    }
)


def _first(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    for k, v in headers:
        if k.lower() == name:
            return v
    return None


def _without(headers: Iterable[tuple[bytes, bytes]], names: Iterable[bytes]) -> list[tuple[bytes, bytes]]:
    drop = set(names)
    return [(k, v) for k, v in headers if k.lower() not in drop]


def _end_to_end(headers: Iterable[tuple[bytes, bytes]], skip: Iterable[bytes] = ()) -> list[tuple[bytes, bytes]]:
    """``headers`` without hop-by-hop ones (and those a ``Connection`` header names) and
    without ``skip``."""
    headers = list(headers)
    listed = {
        t.strip().lower()
        for k, v in headers
        if k.lower() == b"connection"
        for t in v.split(b",")
    }
    drop = HOP_BY_HOP | listed | set(skip)
    return [(k, v) for k, v in headers if k.lower() not in drop]


class _Sessions:
    """The engine's session of each MCP session, by ``Mcp-Session-Id``; at most ``limit``,
    the least recently used forgotten first (a client that keeps it gets errors for the
    streams of a forgotten session, never a silent allow)."""

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self._map: OrderedDict[bytes, Session] = OrderedDict()

    def get(self, sid: bytes | None) -> Session | None:
        if sid is None:
            return None
        s = self._map.get(sid)
        if s is not None:
            self._map.move_to_end(sid)
        return s

    def keep(self, sid: bytes, session: Session) -> None:
        if sid in self._map:
            self._map.move_to_end(sid)
            return
        # Kept under an id the client sends back: a stream of it can be resumed.
        session.set_resumable(True)
        self._map[sid] = session
        while len(self._map) > self.limit:
            self._map.popitem(last=False)

    def forget(self, sid: bytes | None) -> None:
        if sid is not None:
            self._map.pop(sid, None)

    def __len__(self) -> int:
        return len(self._map)


class UpstreamUnreachable(Exception):
    """The upstream could not be reached (raised by :class:`UpstreamApp` before any answer)."""


class UpstreamTimeout(Exception):
    """The upstream did not answer in time."""


class PolicyMiddleware:
    """Enforces a policy on the MCP traffic of an ASGI app.

    ``policy`` is a :class:`~mcp_policy.Policy` or a ready :class:`~mcp_policy.Guard`.
    ``context(scope)`` (optional, may be ``async``) gives the context conditions read for a
    request (a :class:`~mcp_policy.Context`, a ``dict`` or ``None``); by default it is built
    from the request headers (``Context.from_headers``; headers conditions may not see, such
    as ``Authorization``, are left out by the engine). ``path`` limits enforcement to one
    endpoint (``"/mcp"``); other requests pass untouched. Give it when the app serves more
    than MCP: then every ``GET`` of the endpoint is judged as the session's stream (without
    it, only a ``GET`` that accepts ``text/event-stream`` is). ``max_sessions`` bounds the sessions
    kept; ``max_body_bytes`` bounds a client body (413 past it) and a server's JSON body
    (the waiting requests get errors past it).
    """

    def __init__(
        self,
        app: ASGIApp,
        policy: Policy | Guard,
        *,
        context: ContextFactory | None = None,
        path: str | None = None,
        resource_metadata_url: str | None = None,
        max_pending: int = 1024,
        max_sessions: int = 10_000,
        max_body_bytes: int = 16 * 1024 * 1024,
    ) -> None:
        self.app = app
        if isinstance(policy, Guard):
            self.guard = policy
        elif isinstance(policy, Policy):
            self.guard = policy.guard(resource_metadata_url=resource_metadata_url, max_pending=max_pending)
        else:
            raise TypeError(f"policy must be a mcp_policy.Policy or Guard, not {type(policy).__name__}")
        self.context = context
        self.path = path
        self.max_body_bytes = max_body_bytes
        self.sessions = _Sessions(max_sessions)
        self._tasks: set[asyncio.Task[None]] = set()

    # -- ASGI ----------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (self.path is not None and scope.get("path") != self.path):
            await self.app(scope, receive, send)
            return
        method = scope.get("method", "GET")
        headers: list[tuple[bytes, bytes]] = list(scope.get("headers") or [])
        if method == "POST":
            await self._post(scope, receive, send, headers)
        elif method == "GET" and (self.path is not None or b"text/event-stream" in (_first(headers, b"accept") or b"")):
            # On the MCP endpoint every GET is the session's stream, whatever it accepts;
            # without a path, only requests for an event stream are taken as one.
            await self._get(scope, receive, send, headers)
        elif method == "DELETE":
            await self._delete(scope, receive, send, headers)
        else:
            await self.app(scope, receive, send)

    async def _context(self, scope: Scope, headers: list[tuple[bytes, bytes]]) -> Context | dict[str, Any] | None:
        if self.context is None:
            return Context.from_headers(headers)
        ctx = self.context(scope)
        if inspect.isawaitable(ctx):
            ctx = await ctx
        return ctx

    async def _post(self, scope: Scope, receive: Receive, send: Send, headers: list[tuple[bytes, bytes]]) -> None:
        body = await _read_body(receive, self.max_body_bytes)
        if body is None:
            await _reply_plain(send, 413, b"request body too large")
            return
        sid = _first(headers, SESSION_HEADER)
        session = self.sessions.get(sid) or self.guard.session()
        ctx = await self._context(scope, headers)
        verdict = self.guard.client(body, headers, ctx, session)
        if isinstance(verdict, Reply):
            await _send_reply(send, verdict)
            return
        assert isinstance(verdict, Forward)
        # The body goes with the type it was judged as, and nothing else describing it; the
        # app must not compress (the engine judges bytes as they are).
        fwd_headers = _without(
            headers, (b"content-type", b"content-length", b"content-encoding", b"accept-encoding")
        ) + [
            (b"content-type", verdict.content_type.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"accept-encoding", b"identity"),
        ]
        inner_scope = dict(scope, headers=fwd_headers)
        await self._judged(inner_scope, _replay(body, receive), send, verdict.exchange, ctx, session, sid)

    async def _get(self, scope: Scope, receive: Receive, send: Send, headers: list[tuple[bytes, bytes]]) -> None:
        sid = _first(headers, SESSION_HEADER)
        session = self.sessions.get(sid) or self.guard.session()
        ctx = await self._context(scope, headers)
        exchange = self.guard.stream(session, _first(headers, b"last-event-id"))
        inner_scope = dict(scope, headers=_without(headers, (b"accept-encoding",)) + [(b"accept-encoding", b"identity")])
        await self._judged(inner_scope, receive, send, exchange, ctx, session, sid)

    async def _delete(self, scope: Scope, receive: Receive, send: Send, headers: list[tuple[bytes, bytes]]) -> None:
        sid = _first(headers, SESSION_HEADER)
        status: list[int] = []

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        await self.app(scope, receive, watch)
        if status and (200 <= status[0] < 300 or status[0] == 404):
            self.sessions.forget(sid)

    async def _judged(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        exchange: Exchange,
        ctx: Any,
        session: Session,
        sid: bytes | None,
    ) -> None:
        judge = _Judge(self, scope, send, exchange, ctx, session, sid)
        try:
            await self.app(scope, receive, judge)
        except UpstreamUnreachable as e:
            await judge.failed("unreachable", str(e))
        except UpstreamTimeout as e:
            await judge.failed("timeout", str(e))
        except asyncio.CancelledError:
            raise
        except ConnectionError as e:  # the upstream broke off its answer
            await judge.failed("broken", str(e))
        except Exception as e:  # the app failed: its waiting requests get errors
            await judge.failed("broken", f"the MCP app failed: {type(e).__name__}: {e}")
            raise
        else:
            await judge.done()

    # -- answers to the server -------------------------------------------------------------

    def _to_server(self, scope: Scope, bodies: list[bytes]) -> None:
        """POSTs each body (errors answering server requests the policy refused) to the app,
        with the session's headers; the app's answer (202) is not the client's."""
        for body in bodies:
            task = asyncio.ensure_future(self._post_back(scope, body))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _post_back(self, scope: Scope, body: bytes) -> None:
        keep = (SESSION_HEADER, b"mcp-protocol-version", b"authorization", b"host")
        headers = [(k, v) for k, v in scope.get("headers") or [] if k.lower() in keep] + [
            (b"content-type", b"application/json"),
            (b"accept", b"application/json, text/event-stream"),
            (b"accept-encoding", b"identity"),
            (b"content-length", str(len(body)).encode()),
        ]
        inner = dict(scope, method="POST", headers=headers, query_string=b"")

        async def discard(message: Message) -> None:
            return None

        try:
            await self.app(inner, _replay(body, _never), discard)
        except Exception:  # the server gone: nothing waits for this answer any more
            return


class _Judge:
    """The ``send`` the app writes to: what it sends is judged by the exchange, and what the
    engine says goes to the client."""

    def __init__(
        self,
        mw: PolicyMiddleware,
        scope: Scope,
        send: Send,
        exchange: Exchange,
        ctx: Any,
        session: Session,
        sid: bytes | None,
    ) -> None:
        self.mw = mw
        self.scope = scope
        self.send = send
        self.exchange = exchange
        self.ctx = ctx
        self.session = session
        self.sid = sid
        self.mode: str | None = None  # "stream" / "whole" once the head came
        self.started = False  # the client got its response head
        self.closed = False  # the client's response is complete
        self.head: tuple[int, list[tuple[bytes, bytes]]] | None = None
        self.buf = bytearray()

    async def __call__(self, message: Message) -> None:
        if self.closed:
            return  # the engine ended the stream; the rest cannot be judged
        t = message["type"]
        if t == "http.response.start":
            await self._start(message)
        elif t == "http.response.body":
            await self._body(message.get("body", b""), message.get("more_body", False))
        else:
            await self.send(message)

    async def _start(self, message: Message) -> None:
        status: int = message["status"]
        headers: list[tuple[bytes, bytes]] = list(message.get("headers") or [])
        server_sid = _first(headers, SESSION_HEADER)
        if 200 <= status < 300 and server_sid is not None and self.sessions_get(server_sid) is None:
            # The engine's session of this first exchange becomes the MCP session's.
            self.mw.sessions.keep(server_sid, self.session)
        if status == 404 and self.sid is not None:
            # The server forgot the session (restart, expiry): forget it too.
            self.mw.sessions.forget(self.sid)
        self.mode = self.exchange.server_head(
            status, _first(headers, b"content-type"), _first(headers, b"content-encoding")
        )
        headers = _end_to_end(headers, (b"content-length",))
        if self.mode == "stream":
            headers = _without(headers, (b"content-type",)) + [(b"content-type", b"text/event-stream")]
            self.started = True
            await self.send({"type": "http.response.start", "status": status, "headers": headers})
        else:
            self.head = (status, headers)

    def sessions_get(self, sid: bytes) -> Session | None:
        return self.mw.sessions.get(sid)

    async def _body(self, chunk: bytes, more: bool) -> None:
        if self.mode == "stream":
            if chunk:
                await self._step(self.exchange.server_chunk(chunk, self.ctx))
            if not more and not self.closed:
                await self._step(self.exchange.finish(), last=True)
            return
        if self.mode is None:
            return  # a body before any head: nothing to judge it with
        if len(self.buf) + len(chunk) > self.mw.max_body_bytes:
            await self.failed("unjudgeable", f"the server's answer is larger than {self.mw.max_body_bytes} bytes")
            return
        self.buf += chunk
        if not more:
            await self._whole()

    async def _step(self, step: Any, last: bool = False) -> None:
        if step.to_server:
            self.mw._to_server(self.scope, step.to_server)
        data = step.to_client
        end = step.end or last
        if data or end:
            await self.send({"type": "http.response.body", "body": data, "more_body": not end})
        if end:
            self.closed = True

    async def _whole(self) -> None:
        assert self.head is not None
        status, headers = self.head
        answer = self.exchange.server_body(bytes(self.buf), self.ctx)
        if answer.to_server:
            self.mw._to_server(self.scope, answer.to_server)
        body = answer.body
        headers = _without(headers, (b"content-type",))
        if answer.content_type is not None:
            headers.append((b"content-type", answer.content_type.encode()))
        headers.append((b"content-length", str(len(body)).encode()))
        self.started = True
        await self.send({"type": "http.response.start", "status": answer.status, "headers": headers})
        await self.send({"type": "http.response.body", "body": body, "more_body": False})
        self.closed = True

    async def failed(self, failure: str, detail: str) -> None:
        """The app or upstream failed: errors for the requests waiting on this exchange, as a
        reply (before the head was sent) or as the last events of the stream."""
        if self.closed:
            return
        if self.started and self.mode == "stream":
            await self._step(self.exchange.fail_stream(failure, detail), last=True)
            return
        if self.started:
            self.closed = True
            return
        self.started = True
        await _send_reply(self.send, self.exchange.fail_reply(failure, detail))
        self.closed = True

    async def done(self) -> None:
        """The app returned: a response it left unfinished is finished here."""
        if self.closed:
            return
        if self.mode == "stream":
            await self._step(self.exchange.finish(), last=True)
        elif self.mode == "whole":
            await self._whole()
        else:
            await self.failed("broken", "the MCP app returned without answering")


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives ``body`` once, then waits on the client's (for its
    disconnect)."""
    sent = False

    async def inner() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return inner


async def _never() -> Message:
    await asyncio.Event().wait()
    return {"type": "http.disconnect"}  # pragma: no cover


async def _send_reply(send: Send, reply: Reply) -> None:
    body = reply.body
    headers = [(n.encode(), v.encode()) for n, v in reply.headers]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _reply_plain(send: Send, status: int, text: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(text)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": text, "more_body": False})


# -- reverse proxy ---------------------------------------------------------------------------


class UpstreamApp:
    """An ASGI app that forwards every HTTP request to the MCP server at ``url`` and streams
    its answer back chunk by chunk (no policy: wrap it in :class:`PolicyMiddleware`, or use
    :func:`proxy`). Uses ``httpx2`` (or ``httpx``). ``forward_authorization`` passes the
    client's ``Authorization`` header on (off when the upstream must not see client tokens).
    ``timeout`` is the seconds to wait for the upstream's head; streams may then run idle as
    long as they like (a GET stream waits for server messages).
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 30.0,
        forward_authorization: bool = True,
        client: Any = None,
    ) -> None:
        try:
            import httpx2 as httpx  # type: ignore[import-not-found]
        except ImportError:  # pragma: no cover - the older name of the same client
            import httpx  # type: ignore[import-not-found,no-redef]
        self._httpx = httpx
        self.url = url
        self.timeout = timeout
        self.forward_authorization = forward_authorization
        self._own_client = client is None
        self._client = client

    def _http(self) -> Any:
        if self._client is None:
            httpx = self._httpx
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout, read=None),
                limits=httpx.Limits(max_connections=None, max_keepalive_connections=64),
            )
        return self._client

    async def aclose(self) -> None:
        """Closes the HTTP client it made."""
        if self._own_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await self.aclose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        httpx = self._httpx
        body = await _read_body(receive, 1 << 31) or b""
        skip = [b"host", b"content-length", b"accept-encoding"]
        if not self.forward_authorization:
            skip.append(b"authorization")
        headers = _end_to_end(scope.get("headers") or [], skip) + [(b"accept-encoding", b"identity")]
        url = self.url
        if scope.get("query_string"):
            url += ("&" if "?" in url else "?") + scope["query_string"].decode("latin-1")
        client = self._http()
        request = client.build_request(scope.get("method", "GET"), url, headers=headers, content=body)
        try:
            response = await client.send(request, stream=True)
        except httpx.TimeoutException as e:
            raise UpstreamTimeout(f"the MCP server at {self.url} did not answer within {self.timeout} s") from e
        except httpx.TransportError as e:
            raise UpstreamUnreachable(f"the MCP server at {self.url} cannot be reached: {e}") from e
        try:
            out = _end_to_end(response.headers.raw, (b"content-length",))
            await send({"type": "http.response.start", "status": response.status_code, "headers": out})
            pump = asyncio.ensure_future(self._pump(response, send))
            gone = asyncio.ensure_future(_disconnected(receive))
            done, _ = await asyncio.wait({pump, gone}, return_when=asyncio.FIRST_COMPLETED)
            if pump in done:
                gone.cancel()
                pump.result()
            else:
                # The client left: stop reading the upstream (a GET stream would run forever).
                pump.cancel()
                try:
                    await pump
                except asyncio.CancelledError:
                    pass
        finally:
            await response.aclose()

    async def _pump(self, response: Any, send: Send) -> None:
        httpx = self._httpx
        try:
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except httpx.TransportError as e:
            raise ConnectionError(f"the MCP server at {self.url} broke off its answer: {e}") from e
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _disconnected(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


def proxy(url: str, policy: Policy | Guard, **options: Any) -> PolicyMiddleware:
    """A reverse proxy to the MCP server at ``url`` enforcing ``policy``: an ASGI app (serve
    it with ``uvicorn``). ``options`` go to :class:`PolicyMiddleware` (``context``,
    ``resource_metadata_url``, ``max_pending``, ``max_sessions``, ``max_body_bytes``) and to
    :class:`UpstreamApp` (``timeout``, ``forward_authorization``)."""
    upstream_keys = {"timeout", "forward_authorization", "client"}
    upstream = UpstreamApp(url, **{k: v for k, v in options.items() if k in upstream_keys})
    return PolicyMiddleware(upstream, policy, **{k: v for k, v in options.items() if k not in upstream_keys})
