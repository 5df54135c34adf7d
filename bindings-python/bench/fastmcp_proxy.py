"""The `fastmcp` package's own proxy (`create_proxy`, formerly `FastMCP.as_proxy`) in front of an MCP server, for the
overhead comparison of bench.py. Runs in its own virtual environment (bench/.venv-fastmcp)
so fastmcp's dependencies never meet the test environment's.

    python fastmcp_proxy.py PORT UPSTREAM_URL
"""

import sys

try:
    from fastmcp.server import create_proxy
except ImportError:  # fastmcp < 3: the classmethod
    from fastmcp import FastMCP

    create_proxy = FastMCP.as_proxy


def main() -> None:
    port, upstream = int(sys.argv[1]), sys.argv[2]
    proxy = create_proxy(upstream, name="fastmcp-proxy")
    print(f"ready http://127.0.0.1:{port}", file=sys.stderr, flush=True)
    proxy.run(transport="http", host="127.0.0.1", port=port, path="/mcp", log_level="warning", show_banner=False)


if __name__ == "__main__":
    main()
