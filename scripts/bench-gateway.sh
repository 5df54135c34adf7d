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
# backend and the load generator (from /proc) show who used the cores; the gateway's and the
# backend's are read around the whole load generator run, so they are divided by every request
# of it (initialize and warm-up included), the load generator's covers the timed part only.
#
# Two placements, each with its own backend and gateway processes and its own table:
#   shared  every process may run on every core (what a laptop or CI box does);
#   pinned  load generator and backend on CPU 0, the gateway alone on CPU 1 (taskset), in the
#           direct runs as in the gateway runs: the client+backend capacity is the same with
#           and without a gateway in the path, and the gateway has its own core, as deployed.
# Knobs: PIN (both, the default: shared then pinned; 0: shared only; 1: pinned only; pinned
#        needs taskset and at least 2 CPUs), REQUESTS (default 20000), LAT_REQUESTS (5000),
#        CONCURRENCY (16), SESSIONS (1000), MAX_SECS (30 per run), REPEAT (3), GATEWAY_THREADS
#        (unset: the gateway's default; passed as MCP_POLICY_WORKER_THREADS), GATEWAY_BIN
#        (another gateway build to measure, e.g. an older one for a before/after), NGINX_LUA (1:
#        also NGINX running examples/nginx, the C library through LuaJIT, in front of the same
#        backend with the same policy, as a third target in the same alternation; needs nginx
#        and libnginx-mod-http-lua, and builds the library).
set -euo pipefail
cd "$(dirname "$0")/.."

REQUESTS=${REQUESTS:-20000}
LAT_REQUESTS=${LAT_REQUESTS:-5000}
CONCURRENCY=${CONCURRENCY:-16}
SESSIONS=${SESSIONS:-1000}
MAX_SECS=${MAX_SECS:-30}
REPEAT=${REPEAT:-3}
PIN=${PIN:-both}
CARGO=${CARGO:-cargo}
REL="${CARGO_TARGET_DIR:-target}/release"

case $PIN in
  0) modes=(shared) ;;
  1) modes=(pinned) ;;
  both) modes=(shared pinned) ;;
  *) echo "bench-gateway: PIN must be 0, 1 or both (got $PIN)" >&2; exit 2 ;;
esac
if [[ " ${modes[*]} " == *" pinned "* ]] && { ! command -v taskset >/dev/null || (($(nproc) < 2)); }; then
  echo "bench-gateway: the pinned mode needs taskset and 2 CPUs; measuring shared only" >&2
  modes=(shared)
fi

"$CARGO" build --release --locked -p mcp-policy-gateway -p mcp-policy-loadgen >&2
targets=(direct gateway)
if [[ ${NGINX_LUA:-0} == 1 ]]; then
  "$CARGO" build --release --locked -p mcp-policy-ffi >&2
  targets+=(nginx)
fi

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

# CPU time (user + system) of a process, in µs (clock ticks of 10 ms).
cpu_us() { awk '{ print ($14 + $15) * 10000 }' "/proc/$1/stat"; }

lg="$REL/mcp-loadgen"
if [[ -n ${GATEWAY_THREADS:-} ]]; then export MCP_POLICY_WORKER_THREADS=$GATEWAY_THREADS; fi
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -sr); load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2

results="$work/results.jsonl"
rss_line=
for mode in "${modes[@]}"; do
  # Who runs where: nothing pinned, or client + backend on CPU 0 and the gateway on CPU 1.
  # Processes start pinned, so their runtimes size themselves for the CPUs they get.
  client_on=() gateway_on=()
  if [[ $mode == pinned ]]; then client_on=(taskset -c 0) gateway_on=(taskset -c 1); fi

  "${client_on[@]}" "$REL/mcp-fast-backend" 127.0.0.1:0 >"$work/backend-$mode.out" 2>&1 &
  backend_pid=$!
  pids+=("$backend_pid")
  backend=$(wait_listening "$work/backend-$mode.out")

  cat >"$work/gateway-$mode.toml" <<TOML
listen = "127.0.0.1:0"
metrics_path = "/metrics"

[[api]]
name = "bench"
path = "/mcp"
policy = "$PWD/examples/policy.json"
backend = { url = "http://$backend/mcp" }
TOML
  # The per-exchange JSON log goes to stdout; it is written (that cost counts) and discarded.
  "${gateway_on[@]}" "${GATEWAY_BIN:-$REL/mcp-policy}" serve --config "$work/gateway-$mode.toml" \
    >/dev/null 2>"$work/gateway-$mode.err" &
  gw_pid=$!
  pids+=("$gw_pid")
  gateway=$(wait_listening "$work/gateway-$mode.err")
  direct_url="http://$backend/mcp"
  gw_url="http://$gateway/mcp"
  nginx_url=
  if [[ " ${targets[*]} " == *" nginx "* ]]; then
    nginx_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    "${gateway_on[@]}" bash examples/nginx/run.sh "$nginx_port" "$direct_url" examples/policy.json \
      >"$work/nginx-$mode.out" 2>&1 &
    nginx_pid=$!   # run.sh execs NGINX's master in the foreground
    pids+=("$nginx_pid")
    for _ in $(seq 1 100); do
      curl -s -o /dev/null "http://127.0.0.1:$nginx_port/" && break
      sleep 0.1
    done
    nginx_url="http://127.0.0.1:$nginx_port/mcp"
    echo "[$mode] nginx + the C library (examples/nginx) $nginx_url" >&2
  fi
  echo "[$mode] backend $direct_url, gateway $gw_url (pid $gw_pid, $(ls /proc/$gw_pid/task | wc -l) threads, policy examples/policy.json)${client_on[*]:+; client and backend: ${client_on[*]}, gateway: ${gateway_on[*]}}" >&2

  # Warm-up: connections, allocator, page cache.
  "${client_on[@]}" "$lg" bench "$gw_url" list 2000 4 "$MAX_SECS" >/dev/null
  "${client_on[@]}" "$lg" bench "$direct_url" list 2000 4 "$MAX_SECS" >/dev/null
  if [[ -n $nginx_url ]]; then "${client_on[@]}" "$lg" bench "$nginx_url" list 2000 4 "$MAX_SECS" >/dev/null; fi

  for kind in call list; do
    for c in "$CONCURRENCY" 1; do
      n=$REQUESTS
      [[ $c == 1 ]] && n=$LAT_REQUESTS
      for _ in $(seq 1 "$REPEAT"); do
        for target in "${targets[@]}"; do
          url=$direct_url
          [[ $target == gateway ]] && url=$gw_url
          [[ $target == nginx ]] && url=$nginx_url
          g0=$(cpu_us "$gw_pid") b0=$(cpu_us "$backend_pid")
          line=$("${client_on[@]}" "$lg" bench "$url" "$kind" "$n" "$c" "$MAX_SECS")
          g1=$(cpu_us "$gw_pid") b1=$(cpu_us "$backend_pid")
          line="{\"mode\":\"$mode\",\"target\":\"$target\",\"gateway_cpu_us\":$((g1 - g0)),\"backend_cpu_us\":$((b1 - b0)),${line#\{}"
          echo "$line" >>"$results"
          echo "$line" >&2
        done
      done
    done
  done

  # RSS once, on the first placement's gateway (placement does not change what it holds).
  if [[ -z $rss_line ]]; then
    rss_line=$("${client_on[@]}" "$lg" sessions "$gw_url" "$SESSIONS" "$gw_pid" 3)
    echo "sessions $rss_line" >&2
  fi
  kill "$gw_pid" "$backend_pid" 2>/dev/null || true
  wait "$gw_pid" "$backend_pid" 2>/dev/null || true
  if [[ -n $nginx_url ]]; then
    kill "$nginx_pid" 2>/dev/null || true
    wait "$nginx_pid" 2>/dev/null || true
  fi
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
echo "load average at the end: $load_end" >&2

python3 - "$results" "$rss_line" "$CONCURRENCY" "$load_start" "$load_end" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
rss = json.loads(sys.argv[2])
conc = int(sys.argv[3])
print(f"Load average (1, 5, 15 min) at the start: {sys.argv[4]}; at the end: {sys.argv[5]}.")
print()
for r in rows:
    n = max(r.get("sent", r["requests"]), 1)
    r["gw_cpu"] = r["gateway_cpu_us"] / n
    r["be_cpu"] = r["backend_cpu_us"] / n
def runs(mode, target, kind, c):
    return [r for r in rows if r["mode"] == mode and r["target"] == target and r["kind"] == kind and r["concurrency"] == c]
def med(mode, target, kind, c, key):
    return statistics.median(r[key] for r in runs(mode, target, kind, c))
titles = {
    "shared": "shared: load generator, backend and gateway on any core",
    "pinned": "pinned: load generator and backend on CPU 0, gateway alone on CPU 1 (direct runs: the same CPU 0)",
}
verdicts = []
nginx_rows = []
for mode in dict.fromkeys(r["mode"] for r in rows):
    n_runs = len(runs(mode, "direct", "call", conc))
    print(f"### {titles[mode]}")
    print()
    print(f"Median of {n_runs} alternating runs each. CPU columns: µs of CPU per request (gateway / backend / load generator).")
    print()
    print("| request | connections | direct req/s | gateway req/s | ratio | direct p50 / p99 (µs) | gateway p50 / p99 (µs) | added p50 (µs) | CPU µs/req direct: backend / client | CPU µs/req via gateway: gateway / backend / client |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for kind, label in (("call", "`tools/call` (echo)"), ("list", "`tools/list` (17 tools, filtered to 16)")):
        for c in (conc, 1):
            m = lambda t, k: med(mode, t, kind, c, k)
            d_rps, g_rps = m("direct", "rps"), m("gateway", "rps")
            ratio = g_rps / d_rps if d_rps else 0
            added = m("gateway", "p50_us") - m("direct", "p50_us")
            errs = sum(r["errors"] for r in runs(mode, "direct", kind, c) + runs(mode, "gateway", kind, c))
            print(f"| {label} | {c} | {d_rps:.0f} | {g_rps:.0f} | {ratio:.2f}× | {m('direct','p50_us'):.0f} / {m('direct','p99_us'):.0f} | {m('gateway','p50_us'):.0f} / {m('gateway','p99_us'):.0f} | {added:.0f} | {m('direct','be_cpu'):.0f} / {m('direct','client_cpu_us_per_req'):.0f} | {m('gateway','gw_cpu'):.0f} / {m('gateway','be_cpu'):.0f} / {m('gateway','client_cpu_us_per_req'):.0f} |" + (f" ({errs} errors)" if errs else ""))
            if runs(mode, "nginx", kind, c):
                n_rps = m("nginx", "rps")
                nginx_rows.append(f"| {mode} | {label} | {c} | {g_rps:.0f} | {n_rps:.0f} | {g_rps / n_rps if n_rps else 0:.2f}× | {m('gateway','p50_us'):.0f} / {m('gateway','p99_us'):.0f} | {m('nginx','p50_us'):.0f} / {m('nginx','p99_us'):.0f} |")
            if kind == "call" and c == conc:
                verdicts.append((f"[{mode}] tools/call throughput through the gateway >= 0.7x direct", f"{ratio:.2f}x", ratio >= 0.7))
            if kind == "call" and c == 1:
                verdicts.append((f"[{mode}] added p50 latency <= 150 us (1 connection)", f"{added:.0f} us", added <= 150))
    print()
if nginx_rows:
    print("### The gateway next to NGINX + the C library (examples/nginx, LuaJIT FFI), same backend, policy and load")
    print()
    print("| placement | request | connections | gateway req/s | nginx+lib req/s | gateway / nginx+lib | gateway p50 / p99 (µs) | nginx+lib p50 / p99 (µs) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for row in nginx_rows:
        print(row)
    print()
mb = rss["rss_after_hold_kb"] / 1024
print(f"Gateway RSS: {rss['rss_before_kb']/1024:.1f} MB idle after the runs, {rss['rss_open_kb']/1024:.1f} MB with {rss['sessions']} sessions each holding a GET stream ({rss['errors']} failed to open, opened in {rss['open_secs']} s), {mb:.1f} MB after holding them 3 s.")
verdicts.append((f"RSS <= 100 MB with 1,000 sessions", f"{mb:.1f} MB ({rss['sessions']} sessions)", mb <= 100 and rss["sessions"] >= 1000))
print()
for what, got, ok in verdicts:
    print(f"- {'met' if ok else 'MISSED'}: {what}: {got}")
PY
