#!/usr/bin/env bash
# Gateway load check (`make bench-gateway`; not a test). Release builds of the gateway, a minimal
# fast MCP backend and our load generator (tools/loadgen), all on 127.0.0.1:
#   1. tools/call (echo) and a filtered tools/list (server-everything's real 17-tool list,
#      examples/policy.json hides get-env): requests/s and p50/p99, direct vs through the
#      gateway, at CONCURRENCY connections (throughput) and at 1 connection (latency);
#   2. the gateway's RSS with SESSIONS concurrent sessions, each holding an open GET stream.
# Every run is bounded: a fixed request count and a time cap per run. Direct and gateway runs use
# the same client, the same connection reuse and concurrency, each warms up first, and they
# alternate (direct, gateway, direct, ...) REPEAT times so a load change on the machine hits
# both; the table shows the median of each figure. CPU µs per request of the gateway, the
# backend and the load generator (from /proc) show who used the shared cores.
# Knobs: REQUESTS (default 20000), LAT_REQUESTS (5000), CONCURRENCY (16), SESSIONS (1000),
#        MAX_SECS (30 per run), REPEAT (3), GATEWAY_THREADS (unset: the gateway's default;
#        passed as MCP_POLICY_WORKER_THREADS), GATEWAY_BIN (another gateway build to measure,
#        e.g. an older one for a before/after).
set -euo pipefail
cd "$(dirname "$0")/.."

REQUESTS=${REQUESTS:-20000}
LAT_REQUESTS=${LAT_REQUESTS:-5000}
CONCURRENCY=${CONCURRENCY:-16}
SESSIONS=${SESSIONS:-1000}
MAX_SECS=${MAX_SECS:-30}
REPEAT=${REPEAT:-3}
CARGO=${CARGO:-cargo}
REL="${CARGO_TARGET_DIR:-target}/release"

"$CARGO" build --release --locked -p mcp-policy-gateway -p mcp-policy-loadgen >&2

# Each session holds two sockets in the gateway (client and upstream) and one here.
ulimit -n "$(( $(ulimit -Hn) < 65536 ? $(ulimit -Hn) : 65536 ))" 2>/dev/null || true

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Waits until FILE has a "listening on http://ADDR" line; prints ADDR.
wait_listening() {
  local file=$1
  for _ in $(seq 1 200); do
    if grep -qo 'listening on http://[0-9.:]*' "$file" 2>/dev/null; then
      grep -o 'listening on http://[0-9.:]*' "$file" | head -1 | sed 's|listening on http://||'
      return 0
    fi
    sleep 0.05
  done
  echo "bench-gateway: nothing listening (see $file)" >&2
  cat "$file" >&2
  return 1
}

"$REL/mcp-fast-backend" 127.0.0.1:0 >"$work/backend.out" 2>&1 &
pids+=($!)
backend_pid=$!
backend=$(wait_listening "$work/backend.out")

cat >"$work/gateway.toml" <<TOML
listen = "127.0.0.1:0"
metrics_path = "/metrics"

[[api]]
name = "bench"
path = "/mcp"
policy = "$PWD/examples/policy.json"
backend = { url = "http://$backend/mcp" }
TOML
# The per-exchange JSON log goes to stdout; it is written (that cost counts) and discarded.
if [[ -n ${GATEWAY_THREADS:-} ]]; then export MCP_POLICY_WORKER_THREADS=$GATEWAY_THREADS; fi
"${GATEWAY_BIN:-$REL/mcp-policy}" serve --config "$work/gateway.toml" >/dev/null 2>"$work/gateway.err" &
gw_pid=$!
pids+=($gw_pid)
gateway=$(wait_listening "$work/gateway.err")

direct_url="http://$backend/mcp"
gw_url="http://$gateway/mcp"
lg="$REL/mcp-loadgen"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -sr); load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "backend $direct_url, gateway $gw_url (pid $gw_pid, $(ls /proc/$gw_pid/task | wc -l) threads, policy examples/policy.json)" >&2

# CPU time (user + system) of a process, in µs (clock ticks of 10 ms).
cpu_us() { awk '{ print ($14 + $15) * 10000 }' "/proc/$1/stat"; }

# Warm-up: connections, allocator, page cache.
"$lg" bench "$gw_url" list 2000 4 "$MAX_SECS" >/dev/null
"$lg" bench "$direct_url" list 2000 4 "$MAX_SECS" >/dev/null

results="$work/results.jsonl"
for kind in call list; do
  for c in "$CONCURRENCY" 1; do
    n=$REQUESTS
    [[ $c == 1 ]] && n=$LAT_REQUESTS
    for _ in $(seq 1 "$REPEAT"); do
      for target in direct gateway; do
        url=$direct_url
        [[ $target == gateway ]] && url=$gw_url
        g0=$(cpu_us "$gw_pid") b0=$(cpu_us "$backend_pid")
        line=$("$lg" bench "$url" "$kind" "$n" "$c" "$MAX_SECS")
        g1=$(cpu_us "$gw_pid") b1=$(cpu_us "$backend_pid")
        line="{\"target\":\"$target\",\"gateway_cpu_us\":$((g1 - g0)),\"backend_cpu_us\":$((b1 - b0)),${line#\{}"
        echo "$line" >>"$results"
        echo "$line" >&2
      done
    done
  done
done

rss_line=$("$lg" sessions "$gw_url" "$SESSIONS" "$gw_pid" 3)
echo "sessions $rss_line" >&2

python3 - "$results" "$rss_line" "$CONCURRENCY" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
rss = json.loads(sys.argv[2])
conc = int(sys.argv[3])
for r in rows:
    n = max(r["requests"], 1)
    r["gw_cpu"] = r["gateway_cpu_us"] / n
    r["be_cpu"] = r["backend_cpu_us"] / n
def med(target, kind, c, key):
    return statistics.median(r[key] for r in rows if r["target"] == target and r["kind"] == kind and r["concurrency"] == c)
def runs(target, kind, c):
    return [r for r in rows if r["target"] == target and r["kind"] == kind and r["concurrency"] == c]
n_runs = len(runs("direct", "call", conc))
print(f"Median of {n_runs} alternating runs each. CPU columns: µs of CPU per request (gateway / backend / load generator).")
print()
print("| request | connections | direct req/s | gateway req/s | ratio | direct p50 / p99 (µs) | gateway p50 / p99 (µs) | added p50 (µs) | CPU µs/req direct: backend / client | CPU µs/req via gateway: gateway / backend / client |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
verdicts = []
for kind, label in (("call", "`tools/call` (echo)"), ("list", "`tools/list` (17 tools, filtered to 16)")):
    for c in (conc, 1):
        m = lambda t, k: med(t, kind, c, k)
        d_rps, g_rps = m("direct", "rps"), m("gateway", "rps")
        ratio = g_rps / d_rps if d_rps else 0
        added = m("gateway", "p50_us") - m("direct", "p50_us")
        errs = sum(r["errors"] for r in runs("direct", kind, c) + runs("gateway", kind, c))
        print(f"| {label} | {c} | {d_rps:.0f} | {g_rps:.0f} | {ratio:.2f}× | {m('direct','p50_us'):.0f} / {m('direct','p99_us'):.0f} | {m('gateway','p50_us'):.0f} / {m('gateway','p99_us'):.0f} | {added:.0f} | {m('direct','be_cpu'):.0f} / {m('direct','client_cpu_us_per_req'):.0f} | {m('gateway','gw_cpu'):.0f} / {m('gateway','be_cpu'):.0f} / {m('gateway','client_cpu_us_per_req'):.0f} |" + (f" ({errs} errors)" if errs else ""))
        if kind == "call" and c == conc:
            verdicts.append(("tools/call throughput through the gateway >= 0.7x direct", f"{ratio:.2f}x", ratio >= 0.7))
        if kind == "call" and c == 1:
            verdicts.append(("added p50 latency <= 150 us (1 connection)", f"{added:.0f} us", added <= 150))
mb = rss["rss_after_hold_kb"] / 1024
print()
print(f"Gateway RSS: {rss['rss_before_kb']/1024:.1f} MB idle after the runs, {rss['rss_open_kb']/1024:.1f} MB with {rss['sessions']} sessions each holding a GET stream ({rss['errors']} failed to open, opened in {rss['open_secs']} s), {mb:.1f} MB after holding them 3 s.")
verdicts.append((f"RSS <= 100 MB with 1,000 sessions", f"{mb:.1f} MB ({rss['sessions']} sessions)", mb <= 100 and rss["sessions"] >= 1000))
print()
for what, got, ok in verdicts:
    print(f"- {'met' if ok else 'MISSED'}: {what}: {got}")
PY
