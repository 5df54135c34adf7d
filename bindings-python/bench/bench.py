"""Figures of the Python package (not a test): run with the package installed.

    make -C .. python-wheel          # or: make python-wheel from the repository root
    bindings-python/.venv/bin/python bindings-python/bench/bench.py [--proxy]

1. `Policy.check` per call from Python: a `tools/call` as bytes, no context and with a
   prebuilt `Context`.
2. Filtering a 100-tool `tools/list` answer (`filter_response`), 20 of them hidden.
3. With --proxy: the per-request overhead of the ASGI reverse proxy (mcp_policy.asgi.proxy
   under uvicorn) next to the `fastmcp` package's proxy (`create_proxy`, formerly `FastMCP.as_proxy`), both in front of
   the same MCPServer backend; sequential `tools/call` round trips from one client. Needs
   bench/.venv-fastmcp (pip install fastmcp==4.1.6 into it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path

import mcp_policy as mp

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent / "tests"
sys.path.insert(0, str(TESTS))

POLICY = {
    "authorizations": [
        {
            "authorizedFeatures": [
                {"type": "TOOLS", "methods": ["TOOLS_LIST", "TOOLS_CALL"], "patternType": "PREFIX", "patternValue": "tool-"},
                {"type": "TOOLS", "methods": ["TOOLS_LIST", "TOOLS_CALL"], "patternType": "LITERAL", "patternValue": "echo"},
            ]
        },
        {
            "effect": "DENY",
            "authorizedFeatures": [
                {"type": "TOOLS", "methods": ["TOOLS_LIST", "TOOLS_CALL"], "patternType": "REGEX", "patternValue": "tool-[0-9]*[05]"}
            ],
        },
    ]
}


def per_call(fn, number: int, repeat: int = 7) -> float:
    """The best of `repeat` runs of `number` calls, in nanoseconds per call."""
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e9


def engine_figures() -> None:
    policy = mp.Policy.from_dict(POLICY)
    call = json.dumps(
        {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "echo", "arguments": {"message": "hi"}}}
    ).encode()
    denied = json.dumps({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "tool-10"}}).encode()
    ctx = mp.Context.from_headers([(b"x-role", b"admin")], {"user": "alice"})
    assert policy.check(call).allowed and not policy.check(denied).allowed
    print(f"check tools/call (allowed), no context:  {per_call(lambda: policy.check(call), 200_000):7.0f} ns/call")
    print(f"check tools/call (allowed), Context:     {per_call(lambda: policy.check(call, ctx), 200_000):7.0f} ns/call")
    print(f"check tools/call (denied), no context:   {per_call(lambda: policy.check(denied), 200_000):7.0f} ns/call")
    d = policy.check(call)
    print(f"  of which reading .allowed:             {per_call(lambda: d.allowed, 1_000_000):7.0f} ns")

    tools = [
        {"name": f"tool-{i}", "description": f"Tool number {i}", "inputSchema": {"type": "object", "properties": {"x": {"type": "string"}}}}
        for i in range(100)
    ]
    listing = json.dumps({"jsonrpc": "2.0", "id": 1, "result": {"tools": tools}}).encode()
    request = b'{"jsonrpc":"2.0","id":1,"method":"tools/list"}'
    kept = json.loads(policy.filter_response(request, listing))["result"]["tools"]
    assert len(kept) == 80, len(kept)
    us = per_call(lambda: policy.filter_response(request, listing), 5_000) / 1000
    print(f"filter_response, 100-tool list ({len(listing)} bytes, 20 hidden): {us:7.1f} µs/call")


# -- proxy overhead ----------------------------------------------------------------------------


async def round_trips(url: str, n: int) -> list[float]:
    """Initializes a session at `url`, then times `n` sequential tools/call round trips."""
    import httpx2

    headers = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
    async with httpx2.AsyncClient(timeout=30) as http:
        init = {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}},
        }
        r = await http.post(url, json=init, headers=headers)
        r.raise_for_status()
        sid = r.headers.get("mcp-session-id")
        if sid:
            headers["mcp-session-id"] = sid
        headers["mcp-protocol-version"] = "2025-06-18"
        await http.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=headers)
        times = []
        for i in range(1, n + 1):
            body = {"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": {"name": "echo", "arguments": {"message": "x"}}}
            t = time.perf_counter()
            r = await http.post(url, json=body, headers=headers)
            text = r.text
            times.append(time.perf_counter() - t)
            assert r.status_code == 200 and "Echo: x" in text, text[:300]
        return times


def summary(times: list[float]) -> str:
    s = sorted(times)
    p50 = statistics.median(s) * 1e3
    p99 = s[int(len(s) * 0.99) - 1] * 1e3
    return f"p50 {p50:6.2f} ms  p99 {p99:6.2f} ms"


def proxy_figures(n: int) -> None:
    from conftest import Proc, free_port, serve

    fastmcp_py = HERE / ".venv-fastmcp/bin/python"
    if not fastmcp_py.exists():
        raise SystemExit("bench/.venv-fastmcp is missing: python3 -m venv bench/.venv-fastmcp && bench/.venv-fastmcp/bin/pip install fastmcp==4.1.6")
    with tempfile.TemporaryDirectory() as tmp:
        pfile = Path(tmp) / "policy.json"
        pfile.write_text(json.dumps(POLICY))
        procs = []
        try:
            backend, burl = serve("mcpserver")
            procs.append(backend)
            backend_url = burl + "/mcp"
            ours, ourl = serve("proxy", backend_url, str(pfile))
            procs.append(ours)
            port = free_port()
            theirs = Proc([str(fastmcp_py), str(HERE / "fastmcp_proxy.py"), str(port), backend_url], r"ready (http://\S+)", "fastmcp proxy")
            procs.append(theirs)
            time.sleep(2)  # fastmcp prints before it listens
            targets = [("direct to the MCPServer backend", backend_url), ("mcp_policy.asgi.proxy (uvicorn)", ourl + "/mcp"), ("fastmcp create_proxy (FastMCP 4.1.6)", f"http://127.0.0.1:{port}/mcp")]
            for _, url in targets:
                asyncio.run(round_trips(url, 50))  # warm up
            results = {name: asyncio.run(round_trips(url, n)) for name, url in targets}
            direct = statistics.median(results[targets[0][0]])
            for name, times in results.items():
                extra = (statistics.median(times) - direct) * 1e3
                print(f"{name:36s} {summary(times)}  (+{extra:5.2f} ms over direct, p50)")
        finally:
            for p in procs:
                p.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--proxy", action="store_true", help="also measure the ASGI proxy next to FastMCP's")
    ap.add_argument("-n", type=int, default=1000, help="round trips per proxy")
    args = ap.parse_args()
    print(f"mcp_policy {mp.__version__}, Python {sys.version.split()[0]}")
    engine_figures()
    if args.proxy:
        proxy_figures(args.n)


if __name__ == "__main__":
    main()
