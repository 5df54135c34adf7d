"""End-to-end: `/metrics` read by Prometheus' own text-format parser after scripted traffic.

The gateway in front of server-everything over HTTP with examples/policy.json (every tool but
get-env), driven by the Python `mcp` client; the exposition is parsed with
`prometheus_client.parser.text_string_to_metric_families` and every count compared exactly.

    MCP_POLICY_BIN=target/debug/mcp-policy e2e/python/.venv/bin/python -m pytest -q e2e/python/test_metrics.py

Needs `npm ci` in e2e/ (server-everything) and a built gateway binary.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import anyio
import httpx2
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from prometheus_client.parser import text_string_to_metric_families

from test_gateway import POLICY, everything_behind_gateway

API = "acl"


@pytest.fixture(scope="module")
def gateway() -> Iterator[str]:
    """A gateway of its own, so the counters start at zero for this module."""

    def config(port: int) -> str:
        return f"""listen = "127.0.0.1:0"

[[api]]
name = "{API}"
path = "/acl"
policy = {json.dumps(str(POLICY))}
backend = {{ url = "http://127.0.0.1:{port}/mcp" }}
"""

    with everything_behind_gateway(config, "mcp-gw-metrics-") as base:
        yield base


@pytest.fixture
def anyio_backend():
    return "asyncio"


def parse(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of the exposition, by name and label set; a duplicate series fails."""
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            key = (s.name, frozenset(s.labels.items()))
            assert key not in samples, f"duplicate series {key}"
            samples[key] = s.value
    return samples


def select(samples, name: str, **labels: str) -> dict[frozenset[tuple[str, str]], float]:
    """The samples called `name` whose labels include `labels`, by their full label set."""
    want = set(labels.items())
    return {k: v for (n, k), v in samples.items() if n == name and want <= k}


def by(samples, name: str, label: str, **labels: str) -> dict[str, float]:
    """The samples called `name` matching `labels`, summed by the value of `label`."""
    out: dict[str, float] = {}
    for k, v in select(samples, name, **labels).items():
        key = dict(k)[label]
        out[key] = out.get(key, 0) + v
    return out


async def script(url: str) -> list[str]:
    """The traffic the counters must then show; returns what the client put on the wire."""
    sent: list[str] = []

    async def note(request: httpx2.Request) -> None:
        what = request.method
        if request.method == "POST":
            what += " " + json.loads(request.content)["method"]
        sent.append(what)

    async with httpx2.AsyncClient(timeout=httpx2.Timeout(30, read=60), event_hooks={"request": [note]}) as http:
        async with streamable_http_client(url, http_client=http) as (read, write):
            async with ClientSession(read, write) as s:
                await s.initialize()
                names = [t.name for t in (await s.list_tools()).tools]
                assert "get-env" not in names
                for i in range(4):
                    r = await s.call_tool("echo", {"message": f"m{i}"})
                    assert r.content[0].text == f"Echo: m{i}"
                r = await s.call_tool("get-sum", {"a": 20, "b": 22})
                assert "42" in r.content[0].text
                for _ in range(2):
                    with pytest.raises(MCPError) as err:
                        await s.call_tool("get-env", {})
                    assert err.value.error.code == -32602
        # Leaving the transport sent DELETE and ended the GET stream.
    return sent


async def settled_metrics(base: str, http_methods: dict[str, float]) -> dict:
    """`/metrics` once the exchanges counted by HTTP method are `http_methods` (a stream is
    counted when it ends), else the last one read."""
    async with httpx2.AsyncClient(timeout=10) as http:
        deadline = time.monotonic() + 15
        while True:
            r = await http.get(base + "/metrics")
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/plain")
            samples = parse(r.text)
            seen = by(samples, "mcp_gateway_requests_total", "http_method", api=API)
            if seen == http_methods or time.monotonic() > deadline:
                return samples
            await anyio.sleep(0.2)


@pytest.mark.anyio
async def test_exact_counts_after_scripted_traffic(gateway: str) -> None:
    with anyio.fail_after(60):
        sent = await script(gateway + "/acl")
        # The script as sent: the client opens one GET stream after initialization, and ends
        # the session with one DELETE.
        assert [s for s in sent if not s.startswith("POST")] == ["GET", "DELETE"], sent
        assert sent.count("POST tools/call") == 7, sent

        verbs = {"POST": 10.0, "GET": 1.0, "DELETE": 1.0}
        samples = await settled_metrics(gateway, verbs)

    assert by(samples, "mcp_gateway_requests_total", "http_method", api=API) == verbs
    # GET and DELETE carry no JSON-RPC message: they are not counted as MCP methods.
    assert by(samples, "mcp_gateway_requests_total", "method", api=API) == {
        "initialize": 1,
        "notifications/initialized": 1,
        "tools/list": 1,
        "tools/call": 7,
        "(none)": 2,
    }
    assert by(samples, "mcp_gateway_requests_total", "method", api=API, http_method="GET") == {"(none)": 1}
    assert by(samples, "mcp_gateway_requests_total", "method", api=API, http_method="DELETE") == {"(none)": 1}

    assert by(samples, "mcp_gateway_decisions_total", "decision", api=API) == {"allow": 10, "deny": 2}
    assert by(samples, "mcp_gateway_requests_total", "decision", api=API) == {"allow": 10, "deny": 2}

    tools = {
        (dict(k)["tool"], dict(k)["decision"]): v
        for k, v in select(samples, "mcp_gateway_tool_calls_total", api=API).items()
    }
    assert tools == {("echo", "allow"): 4, ("get-sum", "allow"): 1, ("get-env", "deny"): 2}

    assert by(samples, "mcp_gateway_rpc_errors_total", "code", api=API) == {"-32602": 2}

    counts = {
        (dict(k)["http_method"], dict(k)["method"]): v
        for k, v in select(samples, "mcp_gateway_request_duration_seconds_count", api=API).items()
    }
    assert counts == {
        ("POST", "initialize"): 1,
        ("POST", "notifications/initialized"): 1,
        ("POST", "tools/list"): 1,
        ("POST", "tools/call"): 7,
        ("GET", "(none)"): 1,
        ("DELETE", "(none)"): 1,
    }
    # Each histogram is whole: cumulative buckets, +Inf equal to _count, a positive _sum.
    for (verb, method), n in counts.items():
        labels = {"api": API, "http_method": verb, "method": method}
        buckets = select(samples, "mcp_gateway_request_duration_seconds_bucket", **labels)
        ordered = sorted(buckets.items(), key=lambda kv: float(dict(kv[0])["le"]))
        values = [v for _, v in ordered]
        assert values == sorted(values), (verb, method, ordered)
        assert dict(ordered[-1][0])["le"] == "+Inf"
        assert values[-1] == n
        (total,) = select(samples, "mcp_gateway_request_duration_seconds_sum", **labels).values()
        assert total > 0
    # The session ended with the DELETE.
    assert select(samples, "mcp_gateway_sessions", api=API) in ({}, {frozenset({("api", API)}): 0})


@pytest.mark.anyio
async def test_help_and_types(gateway: str) -> None:
    async with httpx2.AsyncClient(timeout=10) as http:
        text = (await http.get(gateway + "/metrics")).text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    types = {name: f.type for name, f in families.items()}
    assert types == {
        "mcp_gateway_requests": "counter",
        "mcp_gateway_decisions": "counter",
        "mcp_gateway_tool_calls": "counter",
        "mcp_gateway_rpc_errors": "counter",
        "mcp_gateway_request_duration_seconds": "histogram",
        "mcp_gateway_sessions": "gauge",
    }
    assert 'tool="(other)"' in families["mcp_gateway_tool_calls"].documentation
    assert "200 distinct tools" in families["mcp_gateway_tool_calls"].documentation
    assert "DELETE ends a session" in families["mcp_gateway_requests"].documentation
