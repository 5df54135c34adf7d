"""The Python half of the differential suite: the `mcp` SDK's own Streamable HTTP stack.

Two modes:

- `serve PORT`: a low-level `mcp` Server (stateless, JSON answers) under uvicorn whose handlers
  act on whatever tool, resource or prompt they are asked for and record it, keyed by the
  request's `x-diff-case` header. `GET /__acted` returns and clears the record. Handlers that
  accept any name are the worst case for a policy in front: whatever name reaches them is acted
  on, not rejected as unknown.
- `parse FILE`: `json.loads` and `pydantic_core.from_json` (the SDK's two body readers: the
  legacy transport uses pydantic, the stateless 2026 one `json.loads`) over each base64 body of
  a JSON-lines file, printing what each parser sees as method and subject.
"""

from __future__ import annotations

import base64
import json
import sys
from typing import Any


def subject_of(method: Any, params: Any) -> Any:
    if not isinstance(params, dict):
        return None
    if method in ("tools/call", "prompts/get"):
        return params.get("name")
    if method in ("resources/read", "resources/subscribe", "resources/unsubscribe"):
        return params.get("uri")
    return None


def describe(value: Any) -> Any:
    """Method and subject as a receiver would dispatch them, JSON-safe (non-str kept as repr)."""

    def safe(v: Any) -> Any:
        return v if isinstance(v, str) or v is None else repr(v)

    def one(m: Any) -> Any:
        if not isinstance(m, dict):
            return {"shape": type(m).__name__}
        method = m.get("method")
        return {"method": safe(method), "subject": safe(subject_of(method, m.get("params"))), "id": safe(m.get("id"))}

    if isinstance(value, list):
        return {"batch": [one(m) for m in value]}
    return one(value)


def parse_main(path: str) -> None:
    import pydantic_core

    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            body = base64.b64decode(json.loads(line)["b64"])
            row: dict[str, Any] = {}
            for name, parse in (("json_loads", json.loads), ("pydantic", pydantic_core.from_json)):
                try:
                    row[name] = {"ok": True, **describe(parse(body))}
                except Exception as e:  # every parser error is an outcome here
                    row[name] = {"ok": False, "error": type(e).__name__}
            out.append(row)
    json.dump(out, sys.stdout)


def serve_main(port: int) -> None:
    import uvicorn
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from mcp import types
    from mcp.server.lowlevel import Server

    acted: dict[str, list[dict[str, Any]]] = {}

    def record(ctx: Any, method: str, subject: Any) -> None:
        req = getattr(ctx, "request", None)
        case = req.headers.get("x-diff-case", "?") if req is not None else "?"
        acted.setdefault(case, []).append({"method": method, "subject": subject})

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        record(ctx, "tools/call", params.name)
        return types.CallToolResult(content=[types.TextContent(type="text", text="ok")])

    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        record(ctx, "tools/list", None)
        return types.ListToolsResult(tools=[])

    async def read_resource(ctx: Any, params: types.ReadResourceRequestParams) -> types.ReadResourceResult:
        record(ctx, "resources/read", str(params.uri))
        return types.ReadResourceResult(
            contents=[types.TextResourceContents(uri=str(params.uri), text="ok", mime_type="text/plain")]
        )

    async def subscribe(ctx: Any, params: types.SubscribeRequestParams) -> types.EmptyResult:
        record(ctx, "resources/subscribe", str(params.uri))
        return types.EmptyResult()

    async def get_prompt(ctx: Any, params: types.GetPromptRequestParams) -> types.GetPromptResult:
        record(ctx, "prompts/get", params.name)
        return types.GetPromptResult(messages=[])

    server = Server(
        "diff-python",
        version="1",
        on_call_tool=call_tool,
        on_list_tools=list_tools,
        on_read_resource=read_resource,
        on_subscribe_resource=subscribe,
        on_get_prompt=get_prompt,
    )

    async def take(_: Request) -> JSONResponse:
        out = dict(acted)
        acted.clear()
        return JSONResponse(out)

    app = server.streamable_http_app(
        stateless_http=True,
        json_response=True,
        custom_starlette_routes=[Route("/__acted", take, methods=["GET"])],
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    if sys.argv[1] == "parse":
        parse_main(sys.argv[2])
    else:
        serve_main(int(sys.argv[2]))
