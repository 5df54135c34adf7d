#!/usr/bin/env bash
# `make demo`: the gateway on 127.0.0.1:8080/mcp in front of server-everything (spawned over stdio
# per MCP session) with examples/policy.json. Installs what it needs on first run.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d e2e/node_modules/@modelcontextprotocol/server-everything ]; then
  echo "==> installing the MCP reference server and SDK (npm ci in e2e/)"
  (cd e2e && npm ci --no-audit --no-fund)
fi

target="${CARGO_TARGET_DIR:-target}"
echo "==> building the gateway (cargo build --release --locked -p mcp-policy-gateway)"
cargo build --release --locked -p mcp-policy-gateway
bin="$target/release/mcp-policy"

cat <<MSG

  MCP gateway: http://127.0.0.1:8080/mcp   (metrics: http://127.0.0.1:8080/metrics)
  backend:     server-everything over stdio, one process per MCP session
  policy:      examples/policy.json (every tool listed and callable except get-env)

  Try it from another terminal:
    node e2e/gateway/try.mjs http://127.0.0.1:8080/mcp

  Reload the configuration or policy without dropping sessions: kill -HUP <pid> (or edit the file).
  Stop with Ctrl-C.

MSG
exec "$bin" serve --config examples/gateway.toml
