"""Shared fixtures: real servers as processes (uvicorn, server-everything)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
EVERYTHING = ROOT / "e2e/node_modules/@modelcontextprotocol/server-everything/dist/index.js"
NODE = os.environ.get("NODE", "node")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_line(proc: subprocess.Popen[str], pattern: str, timeout: float, what: str) -> re.Match[str]:
    assert proc.stderr is not None
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen.append(line)
        m = re.search(pattern, line)
        if m:
            return m
    proc.kill()
    raise RuntimeError(f"{what}: no {pattern!r} within {timeout}s: {''.join(seen)}")


class Proc:
    """A server process, stopped when the fixture ends."""

    def __init__(self, args: list[str], ready: str, what: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})}
        )
        self.match = wait_line(self.proc, ready, 30, what)
        # Keep draining stderr so a chatty server never blocks on a full pipe.
        import threading

        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for _ in self.proc.stderr:
            pass

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def serve(*args: str) -> tuple[Proc, str]:
    port = free_port()
    p = Proc([sys.executable, str(HERE / "serve.py"), args[0], str(port), *args[1:]], r"ready (http://\S+)", f"serve.py {args[0]}")
    return p, p.match.group(1)


@pytest.fixture(scope="session")
def everything() -> Iterator[str]:
    """server-everything over Streamable HTTP (the version e2e/package.json pins)."""
    port = free_port()
    p = Proc([NODE, str(EVERYTHING), "streamableHttp"], r"listening on port", "server-everything", {"PORT": str(port)})
    try:
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        p.stop()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
