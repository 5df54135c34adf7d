"""Servers the ASGI tests and the benchmark run as processes, each with uvicorn on a port:

    python serve.py mcpserver PORT [POLICY]     the mcp SDK's MCPServer (formerly FastMCP),
                                                 behind PolicyMiddleware when POLICY is given
    python serve.py mcpserver-json PORT POLICY  the same answering with JSON bodies, not SSE
    python serve.py proxy PORT UPSTREAM POLICY   mcp_policy.asgi.proxy in front of UPSTREAM

Prints "ready http://127.0.0.1:PORT" on stderr once it listens.
"""

from __future__ import annotations

import asyncio
import sys

import anyio
import uvicorn
from mcp.server.mcpserver import Context, MCPServer


def mcpserver_app(json_response: bool = False):
    server = MCPServer("policy-test")

    @server.tool()
    def echo(message: str) -> str:
        """Echoes the message back."""
        return f"Echo: {message}"

    @server.tool(name="get-env")
    def get_env() -> str:
        """Returns a secret (the policy hides it)."""
        return "SECRET=1"

    @server.tool(name="add")
    def add(a: int, b: int) -> str:
        """Adds two numbers."""
        return str(a + b)

    @server.tool(name="slow")
    async def slow(steps: int, delay: float, ctx: Context) -> str:
        """Reports progress `steps` times, `delay` seconds apart."""
        for i in range(1, steps + 1):
            await anyio.sleep(delay)
            await ctx.report_progress(i, steps, f"step {i}")
        return f"done after {steps} steps"

    @server.tool(name="ask")
    async def ask(question: str, ctx: Context) -> str:
        """Asks the client's model (sampling); says what came back."""
        from mcp import types

        try:
            r = await ctx.session.create_message(
                [types.SamplingMessage(role="user", content=types.TextContent(type="text", text=question))],
                max_tokens=10,
            )
        except Exception as e:  # what the client (or the policy in between) answered
            return f"refused: {e}"
        return f"answered: {r.content.text}"

    @server.resource("demo://visible")
    def visible() -> str:
        return "visible"

    @server.resource("demo://secret")
    def secret() -> str:
        return "secret"

    return server.streamable_http_app(json_response=json_response)


def main() -> None:
    kind, port = sys.argv[1], int(sys.argv[2])
    if kind in ("mcpserver", "mcpserver-json"):
        app = mcpserver_app(json_response=kind == "mcpserver-json")
        if len(sys.argv) > 3:
            from mcp_policy import Policy
            from mcp_policy.asgi import PolicyMiddleware

            app = PolicyMiddleware(app, Policy.from_file(sys.argv[3]), path="/mcp")
    elif kind == "proxy":
        from mcp_policy import Policy
        from mcp_policy.asgi import proxy

        app = proxy(sys.argv[3], Policy.from_file(sys.argv[4]))
    elif kind == "fastmcp-proxy":
        # The `fastmcp` package's own proxy, for the benchmark only (not a test dependency).
        from fastmcp import FastMCP  # type: ignore[import-not-found]

        mcp = FastMCP.as_proxy(sys.argv[3])
        mcp.run(transport="http", host="127.0.0.1", port=port, log_level="warning")
        return
    else:
        raise SystemExit(f"unknown server kind {kind!r}")

    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)

    async def run() -> None:
        task = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.02)
            if task.done():
                task.result()
                return
        print(f"ready http://127.0.0.1:{port}", file=sys.stderr, flush=True)
        await task

    asyncio.run(run())


if __name__ == "__main__":
    main()
