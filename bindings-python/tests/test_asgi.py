"""The ASGI middleware and reverse proxy run for real: uvicorn, the `mcp` SDK's MCPServer
(formerly FastMCP) and server-everything, driven by the Python `mcp` client."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx2
import pytest
from conftest import ROOT, serve
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

POLICY = {
    "authorizations": [
        {
            "authorizedFeatures": [
                {"type": "TOOLS", "methods": ["TOOLS_LIST", "TOOLS_CALL"], "patternType": "ANY"},
                {
                    "type": "RESOURCES",
                    "methods": ["RESOURCES_LIST", "RESOURCES_READ"],
                    "patternType": "LITERAL",
                    "patternValue": "demo://visible",
                },
            ]
        },
        {
            "effect": "DENY",
            "authorizedFeatures": [
                {"type": "TOOLS", "methods": ["TOOLS_LIST", "TOOLS_CALL"], "patternType": "LITERAL", "patternValue": "get-env"},
                {"type": "SAMPLING", "methods": ["SAMPLING_CREATE_MESSAGE"], "patternType": "ANY"},
            ],
        },
    ]
}


@pytest.fixture(scope="module")
def policy_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("policy") / "policy.json"
    p.write_text(json.dumps(POLICY))
    return p


@pytest.fixture(scope="module")
def guarded_mcpserver(policy_file: Path) -> Iterator[str]:
    proc, url = serve("mcpserver", str(policy_file))
    try:
        yield url + "/mcp"
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def guarded_json_mcpserver(policy_file: Path) -> Iterator[str]:
    proc, url = serve("mcpserver-json", str(policy_file))
    try:
        yield url + "/mcp"
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def proxied_everything(everything: str) -> Iterator[str]:
    proc, url = serve("proxy", everything, str(ROOT / "examples/policy.json"))
    try:
        yield url + "/mcp"
    finally:
        proc.stop()


class Progress:
    """When each progress notification arrived, from the call's start."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.arrivals: list[tuple[float, float]] = []

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        self.arrivals.append((time.monotonic() - self.t0, progress))


@pytest.mark.anyio
async def test_middleware_in_front_of_mcpserver(guarded_mcpserver: str) -> None:
    with anyio.fail_after(60):
        async with streamable_http_client(guarded_mcpserver) as (read, write):
            async with ClientSession(read, write) as s:
                init = await s.initialize()
                assert init.server_info.name == "policy-test"
                names = sorted(t.name for t in (await s.list_tools()).tools)
                assert names == ["add", "ask", "echo", "slow"]
                echo = await s.call_tool("echo", {"message": "through the middleware"})
                assert echo.content[0].text == "Echo: through the middleware"
                assert (await s.call_tool("add", {"a": 2, "b": 40})).content[0].text == "42"
                with pytest.raises(MCPError) as err:
                    await s.call_tool("get-env", {})
                assert err.value.error.code == -32602
                assert err.value.error.message == "Unknown tool: get-env"

                uris = [str(r.uri) for r in (await s.list_resources()).resources]
                assert uris == ["demo://visible"]
                assert (await s.read_resource("demo://visible")).contents[0].text == "visible"
                with pytest.raises(MCPError):
                    await s.read_resource("demo://secret")

                progress = Progress()
                done = await s.call_tool("slow", {"steps": 3, "delay": 0.4}, progress_callback=progress)
                end = time.monotonic() - progress.t0
                assert done.content[0].text == "done after 3 steps"
                assert [p for _, p in progress.arrivals] == [1, 2, 3], progress.arrivals
                # Each notification came as it was sent, not all at once with the result.
                assert progress.arrivals[0][0] < end - 0.6, (progress.arrivals, end)
                assert progress.arrivals[-1][0] - progress.arrivals[0][0] >= 0.6, progress.arrivals


async def sampled(context: object, params: object) -> object:
    raise AssertionError("the policy refuses sampling: the client must never be asked")


@pytest.mark.anyio
async def test_refused_server_request_is_answered_back_to_the_server(guarded_mcpserver: str) -> None:
    with anyio.fail_after(30):
        async with streamable_http_client(guarded_mcpserver) as (read, write):
            async with ClientSession(read, write, sampling_callback=sampled) as s:  # type: ignore[arg-type]
                await s.initialize()
                r = await s.call_tool("ask", {"question": "what time is it?"})
                # The engine kept the sampling request from the client and POSTed its error to
                # the server, whose call then ended instead of hanging.
                assert r.content[0].text.startswith("refused: "), r.content[0].text
                assert "Method not found: sampling/createMessage" in r.content[0].text


@pytest.mark.anyio
async def test_middleware_in_front_of_a_json_answering_server(guarded_json_mcpserver: str) -> None:
    with anyio.fail_after(30):
        async with streamable_http_client(guarded_json_mcpserver) as (read, write):
            async with ClientSession(read, write) as s:
                await s.initialize()
                names = sorted(t.name for t in (await s.list_tools()).tools)
                assert names == ["add", "ask", "echo", "slow"]
                assert (await s.call_tool("echo", {"message": "json"})).content[0].text == "Echo: json"
                with pytest.raises(MCPError) as err:
                    await s.call_tool("get-env", {})
                assert err.value.error.code == -32602
                uris = [str(r.uri) for r in (await s.list_resources()).resources]
                assert uris == ["demo://visible"]


@pytest.mark.anyio
async def test_middleware_replies_without_the_app(guarded_mcpserver: str) -> None:
    async with httpx2.AsyncClient(timeout=10) as http:
        # A body that is not JSON: 400-class JSON-RPC error, written by the engine.
        r = await http.post(guarded_mcpserver, content=b"{nope", headers={"content-type": "application/json", "accept": "application/json, text/event-stream"})
        assert r.json()["error"]["code"] == -32700
        # A type the engine does not judge: 415.
        r = await http.post(guarded_mcpserver, content=b"{}", headers={"content-type": "text/plain", "accept": "application/json"})
        assert r.status_code == 415
        # Denied before the app sees it (no session needed).
        call = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "get-env"}}
        r = await http.post(guarded_mcpserver, json=call, headers={"accept": "application/json, text/event-stream"})
        assert r.status_code == 200
        assert r.json() == {"jsonrpc": "2.0", "id": 7, "error": {"code": -32602, "message": "Unknown tool: get-env"}}
        # A GET of the endpoint that does not ask for a stream is still judged as one: the
        # server's JSON error (no waiting request) comes through the engine.
        r = await http.get(guarded_mcpserver, headers={"accept": "application/json"})
        assert r.status_code == 406 and r.json()["error"]["code"] == -32600


@pytest.mark.anyio
async def test_proxy_in_front_of_server_everything(proxied_everything: str) -> None:
    ids: list[str] = []

    async def keep_id(response: httpx2.Response) -> None:
        sid = response.headers.get("mcp-session-id")
        if sid and sid not in ids:
            ids.append(sid)

    with anyio.fail_after(60):
        async with httpx2.AsyncClient(timeout=httpx2.Timeout(30, read=60), event_hooks={"response": [keep_id]}) as http:
            async with streamable_http_client(proxied_everything, http_client=http) as (read, write):
                async with ClientSession(read, write) as s:
                    init = await s.initialize()
                    assert init.server_info.name == "mcp-servers/everything"
                    names = [t.name for t in (await s.list_tools()).tools]
                    assert "get-env" not in names
                    for n in ("echo", "get-sum", "trigger-long-running-operation"):
                        assert n in names
                    echo = await s.call_tool("echo", {"message": "from the proxy"})
                    assert echo.content[0].text == "Echo: from the proxy"
                    with pytest.raises(MCPError) as err:
                        await s.call_tool("get-env", {})
                    assert err.value.error.code == -32602

                    progress = Progress()
                    long = await s.call_tool(
                        "trigger-long-running-operation", {"duration": 1.5, "steps": 3}, progress_callback=progress
                    )
                    end = time.monotonic() - progress.t0
                    assert "completed" in long.content[0].text.lower()
                    assert [p for _, p in progress.arrivals] == [1, 2, 3], progress.arrivals
                    assert progress.arrivals[0][0] < end - 0.7, (progress.arrivals, end)
                    assert progress.arrivals[-1][0] - progress.arrivals[0][0] >= 0.6, progress.arrivals
            assert ids, "the proxy passed the server's session id on"


@pytest.fixture(scope="module")
def proxied_nowhere(policy_file: Path) -> Iterator[str]:
    from conftest import free_port

    proc, url = serve("proxy", f"http://127.0.0.1:{free_port()}/mcp", str(policy_file))
    try:
        yield url + "/mcp"
    finally:
        proc.stop()


@pytest.mark.anyio
async def test_proxy_to_an_unreachable_server_answers_with_errors(proxied_nowhere: str) -> None:
    async with httpx2.AsyncClient(timeout=10) as http:
        r = await http.post(
            proxied_nowhere,
            json={"jsonrpc": "2.0", "id": 3, "method": "tools/list"},
            headers={"accept": "application/json, text/event-stream"},
        )
        assert r.status_code == 502
        body = r.json()
        assert body["id"] == 3 and body["error"]["code"] == -32603
        assert "cannot be reached" in body["error"]["message"]


def in_process(app: object) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://test")  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_middleware_bounds_bodies_and_passes_other_paths() -> None:
    from mcp_policy import Policy
    from mcp_policy.asgi import PolicyMiddleware

    seen: list[str] = []

    async def app(scope, receive, send):  # a plain ASGI app behind the policy
        seen.append(f"{scope['method']} {scope['path']}")
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"hello"})

    mw = PolicyMiddleware(app, Policy.from_dict(POLICY), path="/mcp", max_body_bytes=1000)
    async with in_process(mw) as http:
        r = await http.post("/mcp", content=b"x" * 2000, headers={"content-type": "application/json"})
        assert r.status_code == 413
        # Not the MCP endpoint: untouched.
        r = await http.get("/health")
        assert r.text == "hello"
        # A JSON-RPC answer the app sends as text/plain is not delivered: the waiting
        # request gets an error instead (502).
        r = await http.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        assert r.status_code == 502 and r.json()["error"]["code"] == -32603
    assert seen == ["GET /health", "POST /mcp"]
    with pytest.raises(TypeError, match="mcp_policy.Policy or Guard"):
        PolicyMiddleware(app, {"authorizations": []})  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_middleware_answers_for_an_app_that_fails() -> None:
    from mcp_policy import Policy
    from mcp_policy.asgi import PolicyMiddleware

    async def silent(scope, receive, send):  # returns without answering
        return None

    async def breaks_mid_stream(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
        await send({"type": "http.response.body", "body": b": still working\n\n", "more_body": True})
        raise ConnectionError("the server went away")

    policy = Policy.from_dict(POLICY)
    call = {"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "echo", "arguments": {}}}
    async with in_process(PolicyMiddleware(silent, policy)) as http:
        r = await http.post("/mcp", json=call)
        assert r.status_code == 502 and r.json()["id"] == 4
        assert "returned without answering" in r.json()["error"]["message"]
    async with in_process(PolicyMiddleware(breaks_mid_stream, policy)) as http:
        r = await http.post("/mcp", json=call)
        assert r.status_code == 200 and r.headers["content-type"] == "text/event-stream"
        events = [json.loads(line[6:]) for line in r.text.splitlines() if line.startswith("data: ")]
        assert events == [{"jsonrpc": "2.0", "id": 4, "error": {"code": -32603, "message": "the server went away"}}]
