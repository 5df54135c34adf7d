"""End-to-end: the gateway in front of server-everything, driven by the Python `mcp` client.

    python3 -m venv e2e/python/.venv && e2e/python/.venv/bin/pip install -r e2e/python/requirements.txt
    MCP_POLICY_BIN=target/debug/mcp-policy e2e/python/.venv/bin/pytest -q e2e/python

Needs `npm ci` in e2e/ (server-everything) and a built gateway binary.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

ROOT = Path(__file__).resolve().parents[2]
EVERYTHING = ROOT / "e2e/node_modules/@modelcontextprotocol/server-everything/dist/index.js"
BIN = (ROOT / os.environ.get("MCP_POLICY_BIN", "target/debug/mcp-policy")).resolve()
POLICY = ROOT / "examples/policy.json"
NODE = os.environ.get("NODE", "node")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_line(stream, pattern: str, timeout: float, what: str) -> re.Match[str]:
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            break
        seen.append(line)
        m = re.search(pattern, line)
        if m:
            return m
    raise RuntimeError(f"{what}: no {pattern!r} within {timeout}s: {''.join(seen)}")


@contextlib.contextmanager
def everything_behind_gateway(config: Callable[[int], str], prefix: str) -> Iterator[str]:
    """server-everything over HTTP on a free port and a gateway of its own in front, with the
    configuration `config(port)`; yields the gateway's base URL and stops both afterwards."""
    port = free_port()
    everything = subprocess.Popen(
        [NODE, str(EVERYTHING), "streamableHttp"],
        env={**os.environ, "PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    gw = None
    try:
        wait_line(everything.stderr, r"listening on port", 20, "server-everything")
        path = Path(tempfile.mkdtemp(prefix=prefix)) / "gateway.toml"
        path.write_text(config(port))
        gw = subprocess.Popen(
            [str(BIN), "serve", "--config", str(path)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        m = wait_line(gw.stderr, r"listening on (http://127\.0\.0\.1:\d+)", 15, "gateway")
        yield m.group(1)
    finally:
        for p in (gw, everything):
            if p is not None:
                p.terminate()
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    p.kill()


@pytest.fixture(scope="module")
def gateway():
    node = json.dumps(NODE)

    def config(port: int) -> str:
        return f"""listen = "127.0.0.1:0"
        
        [[api]]
        name = "stdio"
        path = "/mcp"
        backend = {{ command = [{node}, {json.dumps(str(EVERYTHING))}, "stdio"] }}
        
        [[api]]
        name = "http"
        path = "/mcp-http"
        backend = {{ url = "http://127.0.0.1:{port}/mcp" }}
        
        [[api]]
        name = "acl"
        path = "/acl"
        policy = {json.dumps(str(POLICY))}
        backend = {{ url = "http://127.0.0.1:{port}/mcp" }}
        """

    with everything_behind_gateway(config, "mcp-gw-py-") as base:
        yield base


@pytest.fixture
def anyio_backend():
    return "asyncio"


class SessionIds:
    """Remembers the Mcp-Session-Id the gateway hands out (the transport keeps it private)."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    async def __call__(self, response: httpx2.Response) -> None:
        sid = response.headers.get("mcp-session-id")
        if sid and sid not in self.ids:
            self.ids.append(sid)


@pytest.mark.anyio
@pytest.mark.parametrize("path", ["/mcp", "/mcp-http"])
async def test_core_flow(gateway: str, path: str) -> None:
    url = gateway + path
    ids = SessionIds()
    with anyio.fail_after(60):
        async with httpx2.AsyncClient(
            timeout=httpx2.Timeout(30, read=60), event_hooks={"response": [ids]}
        ) as http:
            async with streamable_http_client(url, http_client=http) as (read, write):
                async with ClientSession(read, write) as s:
                    init = await s.initialize()
                    assert init.server_info.name == "mcp-servers/everything"

                    names = [t.name for t in (await s.list_tools()).tools]
                    for n in ("echo", "get-sum", "trigger-long-running-operation"):
                        assert n in names

                    echo = await s.call_tool("echo", {"message": "from python"})
                    assert echo.content[0].text == "Echo: from python"
                    total = await s.call_tool("get-sum", {"a": 2, "b": 3})
                    assert "5" in total.content[0].text

                    resources = (await s.list_resources()).resources
                    assert len(resources) >= 7
                    read_result = await s.read_resource("demo://resource/dynamic/text/1")
                    assert read_result.contents[0].text

                    prompt = await s.get_prompt("args-prompt", {"city": "Lyon"})
                    assert "Lyon" in prompt.model_dump_json()

                    arrivals: list[tuple[float, float]] = []
                    t0 = time.monotonic()

                    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
                        arrivals.append((time.monotonic() - t0, progress))

                    long = await s.call_tool(
                        "trigger-long-running-operation",
                        {"duration": 1.5, "steps": 3},
                        progress_callback=on_progress,
                    )
                    done = time.monotonic() - t0
                    assert "completed" in long.content[0].text.lower()
                    assert [p for _, p in arrivals] == [1, 2, 3], arrivals
                    assert arrivals[0][0] < done - 0.7, (arrivals, done)
                    assert arrivals[-1][0] - arrivals[0][0] >= 0.6, arrivals
            # Leaving the transport sent DELETE: the gateway forgets the session.
            assert ids.ids, "the gateway sent a session id"
            r = await http.post(
                url,
                json={"jsonrpc": "2.0", "id": 5, "method": "tools/list"},
                headers={
                    "accept": "application/json, text/event-stream",
                    "mcp-session-id": ids.ids[0],
                    "mcp-protocol-version": init.protocol_version,
                },
            )
            assert r.status_code == 404
            assert r.json()["error"]["code"] == -32001


@pytest.mark.anyio
async def test_policy_hides_and_denies_get_env(gateway: str) -> None:
    with anyio.fail_after(30):
        async with streamable_http_client(gateway + "/acl") as (read, write):
            async with ClientSession(read, write) as s:
                await s.initialize()
                names = sorted(t.name for t in (await s.list_tools()).tools)
                assert "get-env" not in names
                assert len(names) == 12, names
                with pytest.raises(MCPError) as err:
                    await s.call_tool("get-env", {})
                assert err.value.error.code == -32602
                assert (await s.call_tool("echo", {"message": "ok"})).content[0].text == "Echo: ok"


@pytest.mark.anyio
async def test_foreign_origin_is_refused(gateway: str) -> None:
    async with httpx2.AsyncClient(timeout=10) as http:
        r = await http.post(
            gateway + "/mcp-http",
            json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
            headers={"accept": "application/json, text/event-stream", "origin": "http://evil.example"},
        )
    assert r.status_code == 403
    assert r.json()["error"]["code"] == -32000


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
