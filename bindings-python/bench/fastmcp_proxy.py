"""The `fastmcp` package's own proxy (FastMCP.as_proxy) in front of an MCP server, for the
overhead comparison of bench.py. Runs in its own virtual environment (bench/.venv-fastmcp)
so fastmcp's dependencies never meet the test environment's.

    python fastmcp_proxy.py PORT UPSTREAM_URL
"""

import sys

from fastmcp import FastMCP


def main() -> None:
    port, upstream = int(sys.argv[1]), sys.argv[2]
    proxy = FastMCP.as_proxy(upstream, name="fastmcp-proxy")
    print(f"ready http://127.0.0.1:{port}", file=sys.stderr, flush=True)
    proxy.run(transport="http", host="127.0.0.1", port=port, path="/mcp", log_level="warning", show_banner=False)


if __name__ == "__main__":
    main()
