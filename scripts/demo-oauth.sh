#!/usr/bin/env bash
# `make demo-oauth`: the gateway with plan oauth2 on 127.0.0.1:8080/mcp in front of
# server-everything (HTTP on 127.0.0.1:3001), and an OAuth 2.1 authorization server
# (oidc-provider, e2e/oauth/authorization-server.mjs) on 127.0.0.1:9000 whose signing keys live
# in its memory only. Installs what it needs on first run; Ctrl-C stops all three.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d e2e/node_modules/oidc-provider ]; then
  echo "==> installing the MCP reference server, SDK and oidc-provider (npm ci in e2e/)"
  (cd e2e && npm ci --no-audit --no-fund)
fi

target="${CARGO_TARGET_DIR:-target}"
echo "==> building the gateway (cargo build --release --locked -p mcp-policy-gateway)"
cargo build --release --locked -p mcp-policy-gateway
bin="$target/release/mcp-policy"

pids=()
stop() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop EXIT
trap 'exit 130' INT TERM

wait_port() { # the gateway reads the authorization server's metadata, so it starts last
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "nothing listens on 127.0.0.1:$1" >&2
  return 1
}

PORT=3001 node e2e/node_modules/@modelcontextprotocol/server-everything/dist/index.js streamableHttp \
  >/dev/null 2>&1 &
pids+=($!)
node e2e/oauth/authorization-server.mjs --port 9000 \
  --resource "http://127.0.0.1:8080/mcp=mcp:tools,mcp:admin" 2> >(grep -v 'oidc-provider' >&2) &
pids+=($!)
wait_port 3001
wait_port 9000

cat <<MSG

  MCP gateway (OAuth 2.1 protected resource): http://127.0.0.1:8080/mcp
    metadata (RFC 9728): http://127.0.0.1:8080/.well-known/oauth-protected-resource/mcp
  authorization server: http://127.0.0.1:9000 (sign in with any name and password)
  backend:              server-everything over HTTP on 127.0.0.1:3001
  policy:               examples/oauth/policy.json (scope mcp:tools: every tool but get-env;
                        get-env needs mcp:admin, asked for with a 403 step-up challenge)

  Try it from another terminal:
    node e2e/oauth/try.mjs http://127.0.0.1:8080/mcp      (prints the sign-in URL to open)
    npx @modelcontextprotocol/inspector --web --transport http --server-url http://127.0.0.1:8080/mcp
                                                          (switch the server on; it runs the flow)

  Stop with Ctrl-C.

MSG
"$bin" serve --config examples/oauth/gateway.toml &
pids+=($!)
wait "${pids[-1]}"
