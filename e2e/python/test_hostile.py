"""End-to-end: a hostile MCP server (e2e/gateway/hostile-server.mjs) behind the gateway with
examples/policy.json (which hides `get-env`), driven by the Python `mcp` client.

Each trick is run twice: straight against the hostile server, where the client must end up with
`get-env` (so the trick is real for this client), and through the gateway, where it must not:
the list arrives filtered, or the call fails. The Python client matters here because it reads
some answers differently from the TypeScript SDK: it decodes SSE with the declared charset
(UTF-7), and it turns a string id into an int with Python's int() (other digits, "_",
other whitespace than JavaScript's Number()).

    MCP_POLICY_BIN=target/debug/mcp-policy e2e/python/.venv/bin/pytest -q e2e/python/test_hostile.py
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = ROOT / "e2e/gateway/hostile-server.mjs"
BIN = (ROOT / os.environ.get("MCP_POLICY_BIN", "target/debug/mcp-policy")).resolve()
POLICY = ROOT / "examples/policy.json"
NODE = os.environ.get("NODE", "node")

# Each trick and what the client must end up with through the gateway: "filtered" (the list
# arrives without get-env) or "refused" (the call fails: the gateway cannot judge the answer).
# Only tricks this client falls for directly are here; the others are in
# e2e/gateway/hostile.test.mjs.
TRICKS = {
    "honest": "filtered",  # the control
    "get-stream": "filtered",  # 1. the answer on the GET stream
    # 3. the id written differently: the forms Python's int() reads as the request's id
    "id:string": "filtered",
    "id:string-spaces": "filtered",
    "id:string-nbsp": "filtered",
    "id:string-plus": "filtered",
    "id:string-escaped": "filtered",
    "id:string-em-space": "filtered",
    # Python-only readings (JavaScript's Number() gives NaN for them): the engine reads ids
    # as Python's int() does too, so the answer is judged as the request's.
    "id:string-arabic-digits": "filtered",  # int("١") == 1, Number("١") is NaN
    "id:string-fullwidth-digits": "filtered",  # int("１") == 1
    "id:string-underscore": "filtered",  # int("0_1") == 1
    "id:string-nel": "filtered",  # int("1\x85") == 1
    "utf7": "refused",  # 4. charset=utf-7: get-env in UTF-7
    "deflate": "refused",  # 5. Content-Encoding: deflate (httpx inflates it)
    "escaped-name": "filtered",
    "duplicate-name": "filtered",
    "duplicate-result": "refused",
    "duplicate-id": "refused",
    "multiline-data": "filtered",
    "cr-lines": "filtered",
}

# Each MCP exchange is bounded; a list that is never answered fails the test, it does not hang.
CALL_S = 6


class Hostiles:
    """Hostile servers, one per trick, in one Node child process (it prints their URLs)."""

    def __init__(self, tricks: list[str]) -> None:
        # stdin is a pipe the server watches: if this process dies, the servers go too.
        self.proc = subprocess.Popen(
            [NODE, str(HOSTILE), *tricks],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.url: dict[str, str] = {}
        for trick in tricks:
            line = self.proc.stdout.readline().strip()
            if not line.startswith("http://127.0.0.1:"):
                self.stop()
                raise RuntimeError(f"hostile server ({trick}) did not start: {line!r} {self.proc.stderr.read()}")
            self.url[trick] = line

    def stop(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Gateway:
    """The gateway with one API per trick at /<trick> (":" written "-"), logs in files."""

    def __init__(self, backends: dict[str, str]) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="mcp-gw-hostile-py-"))
        config = self.dir / "gateway.toml"
        lines = ['listen = "127.0.0.1:0"']
        for trick, url in backends.items():
            lines += [
                "",
                "[[api]]",
                f"name = {json.dumps(trick)}",
                f"path = {json.dumps(path_of(trick))}",
                f"policy = {json.dumps(str(POLICY))}",
                f"backend = {{ url = {json.dumps(url)} }}",
            ]
        config.write_text("\n".join(lines) + "\n")
        self.stdout = self.dir / "stdout.log"
        self.stderr = self.dir / "stderr.log"
        with open(self.stdout, "wb") as out, open(self.stderr, "wb") as err:
            self.proc = subprocess.Popen([str(BIN), "serve", "--config", str(config)], cwd=ROOT, stdout=out, stderr=err)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            m = re.search(r"listening on (http://127\.0\.0\.1:\d+)", self.stderr.read_text())
            if m:
                self.base = m.group(1)
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"gateway did not start: {self.stderr.read_text()}")

    def log(self, trick: str) -> str:
        """What the gateway said about `trick`'s API, for failure messages."""
        tag = f'"api":{json.dumps(trick)}'
        lines = [line for line in self.stdout.read_text().splitlines() if tag in line]
        return f"gateway log for {trick}:\n" + "\n".join(lines) + f"\ngateway stderr:\n{self.stderr.read_text()}"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def path_of(trick: str) -> str:
    return "/" + trick.replace(":", "-")


@pytest.fixture(scope="module")
def direct() -> Iterator[Hostiles]:
    """One hostile server per trick, for the client to reach directly."""
    h = Hostiles(list(TRICKS))
    try:
        yield h
    finally:
        h.stop()


@pytest.fixture(scope="module")
def gateway() -> Iterator[Gateway]:
    """Other hostile servers, one per trick, behind one gateway."""
    behind = Hostiles(list(TRICKS))
    gw = None
    try:
        gw = Gateway(behind.url)
        yield gw
    finally:
        if gw is not None:
            gw.stop()
        behind.stop()


@pytest.fixture
def anyio_backend():
    return "asyncio"


async def list_tools(url: str) -> list[str] | MCPError:
    """Connects to `url`, lists tools: their names, or the MCPError the call failed with."""
    with anyio.fail_after(CALL_S):
        async with streamable_http_client(url) as (read, write):
            async with ClientSession(read, write) as s:
                await s.initialize()
                try:
                    return [t.name for t in (await s.list_tools()).tools]
                except MCPError as e:
                    return e


@pytest.mark.anyio
@pytest.mark.parametrize("trick", list(TRICKS))
async def test_direct_the_client_reads_get_env(direct: Hostiles, trick: str) -> None:
    """The trick is real: straight from the hostile server, the client lists get-env."""
    got = await list_tools(direct.url[trick])
    assert got == ["echo", "get-env"], f"directly, {trick}: {got!r}"


@pytest.mark.anyio
@pytest.mark.parametrize("trick", list(TRICKS))
async def test_through_the_gateway_get_env_never_arrives(gateway: Gateway, trick: str) -> None:
    got = await list_tools(gateway.base + path_of(trick))
    expected = TRICKS[trick]
    if expected == "filtered":
        assert got == ["echo"], f"through the gateway, {trick}: {got!r}\n{gateway.log(trick)}"
        return
    assert isinstance(got, MCPError), f"through the gateway, {trick} must fail: {got!r}\n{gateway.log(trick)}"
    assert got.error.code == -32603, got.error
    assert "cannot judge" in got.error.message, f"{got.error.message}\n{gateway.log(trick)}"
    assert "get-env" not in str(got.error), got.error
