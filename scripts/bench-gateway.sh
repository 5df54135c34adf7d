#!/usr/bin/env bash
# Gateway load check (`make bench-gateway`; not a test). Release builds of the gateway, a minimal
# fast MCP backend and our load generator (tools/loadgen), all on 127.0.0.1:
#   1. tools/call (echo) and a filtered tools/list (server-everything's real 17-tool list,
#      examples/policy.json hides get-env): requests/s and p50/p99 at CONCURRENCY connections
#      (throughput) and at 1 connection (latency), sent to four targets in the same run:
#        direct     the backend itself;
#        nginx      plain Debian NGINX, one worker, proxy_pass to the same backend over a
#                   keep-alive upstream pool, no policy: what one proxy hop costs;
#        gateway    our gateway with examples/policy.json;
#        gw-nopol   our gateway with no `policy` for the API (its documented pass-through:
#                   every message is still parsed and checked to be JSON-RPC, nothing refused),
#                   so the policy's own share of the cost is the difference to `gateway`;
#   2. the gateway's RSS with SESSIONS concurrent sessions, each holding an open GET stream.
# Every run is bounded: a fixed request count and a time cap per run. All targets use the same
# client, the same connection reuse and concurrency, each warms up first, and they alternate
# (direct, nginx, gateway, gw-nopol, direct, ...) REPEAT times so a load change on the machine
# hits all of them; the tables show the median of each figure. CPU µs per request of the proxy
# (gateway or NGINX worker), the backend and the load generator (from /proc) show who used the
# cores; the proxy's and the backend's are read around the whole load generator run, so they
# are divided by every request of it (initialize and warm-up included), the load generator's
# covers the timed part only.
#
# Two placements, each with its own backend, gateways and NGINX, and its own table:
#   shared  every process may run on every core (what a laptop or CI box does);
#   pinned  load generator and backend on CPU 0, the proxy (gateway or NGINX) alone on CPU 1
#           (taskset), in the direct runs as in the proxied ones: the client+backend capacity is
#           the same with and without a proxy in the path, and the proxy has its own core.
# Knobs: PIN (both, the default: shared then pinned; 0: shared only; 1: pinned only; pinned
#        needs taskset and at least 2 CPUs), REQUESTS (default 20000), LAT_REQUESTS (5000),
#        CONCURRENCY (16), SESSIONS (1000), MAX_SECS (30 per run), REPEAT (3), GATEWAY_THREADS
#        (unset: the gateway's default; passed as MCP_POLICY_WORKER_THREADS), GATEWAY_BIN
#        (another gateway build to measure, e.g. an older one for a before/after), NGINX_LUA (1:
#        also NGINX running examples/nginx, the C library through LuaJIT, in front of the same
#        backend with the same policy, as one more target in the same alternation; needs
#        libnginx-mod-http-lua, and builds the library).
# NGINX itself is required (Debian package `nginx`; `make bench-gateway` installs it through
# scripts/debian-deps.sh, as `make e2e` does).
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

if ! command -v nginx >/dev/null && [[ ! -x /usr/sbin/nginx ]]; then
  echo "bench-gateway: nginx is not installed; it is the reference proxy of every run." >&2
  echo "  Install it with: bash scripts/debian-deps.sh nginx   (or: make bench-gateway, which does)" >&2
  exit 1
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

"$CARGO" build --release --locked -p mcp-policy-gateway -p mcp-policy-loadgen >&2
targets=(direct nginx gateway gw-nopol)
if [[ ${NGINX_LUA:-0} == 1 ]]; then
  "$CARGO" build --release --locked -p mcp-policy-ffi >&2
  targets+=(nginx-lua)
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

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Waits until something answers HTTP on PORT.
wait_http() {
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0
    sleep 0.1
  done
  echo "bench-gateway: nothing answers on port $1 (see $2)" >&2
  cat "$2" >&2
  return 1
}

# Plain NGINX, one worker, in front of BACKEND (host:port), as measured in
# /work/shared/reference: a keep-alive upstream pool, HTTP/1.1 upstream, no buffering, no log,
# and client connections never closed mid-run (the default keepalive_requests of 1,000 would).
nginx_plain_conf() {
  local prefix=$1 port=$2 backend=$3 user=""
  if [ "$(id -u)" = 0 ]; then user="user root;"; fi
  cat <<NGINX
daemon off;
$user
worker_processes 1;
pid $prefix/nginx.pid;
error_log stderr notice;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $prefix/body;
    proxy_temp_path $prefix/proxy;
    fastcgi_temp_path $prefix/fastcgi;
    uwsgi_temp_path $prefix/uwsgi;
    scgi_temp_path $prefix/scgi;
    keepalive_requests 1000000;
    upstream backend {
        server $backend;
        keepalive 64;
        keepalive_requests 1000000;
    }
    server {
        listen 127.0.0.1:$port;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
        }
    }
}
NGINX
}

lg="$REL/mcp-loadgen"
if [[ -n ${GATEWAY_THREADS:-} ]]; then export MCP_POLICY_WORKER_THREADS=$GATEWAY_THREADS; fi
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -sr); load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2

results="$work/results.jsonl"
rss_line=
declare -A url proxy_pid
lua_master=
for mode in "${modes[@]}"; do
  # Who runs where: nothing pinned, or client + backend on CPU 0 and the gateway on CPU 1.
  # Processes start pinned, so their runtimes size themselves for the CPUs they get.
  client_on=() gateway_on=()
  if [[ $mode == pinned ]]; then client_on=(taskset -c 0) gateway_on=(taskset -c 1); fi

  "${client_on[@]}" "$REL/mcp-fast-backend" 127.0.0.1:0 >"$work/backend-$mode.out" 2>&1 &
  backend_pid=$!
  pids+=("$backend_pid")
  backend=$(wait_listening "$work/backend-$mode.out")

  # The same API twice: with the policy, and without one (the configuration's documented
  # pass-through, `policy` omitted), each in its own process.
  for variant in gateway gw-nopol; do
    policy_line="policy = \"$PWD/examples/policy.json\""
    [[ $variant == gw-nopol ]] && policy_line=""
    cat >"$work/$variant-$mode.toml" <<TOML
listen = "127.0.0.1:0"
metrics_path = "/metrics"

[[api]]
name = "bench"
path = "/mcp"
$policy_line
backend = { url = "http://$backend/mcp" }
TOML
    # The per-exchange JSON log goes to stdout; it is written (that cost counts) and discarded.
    "${gateway_on[@]}" "${GATEWAY_BIN:-$REL/mcp-policy}" serve --config "$work/$variant-$mode.toml" \
      >/dev/null 2>"$work/$variant-$mode.err" &
    pids+=("$!")
    proxy_pid[$variant]=$!
    url[$variant]="http://$(wait_listening "$work/$variant-$mode.err")/mcp"
  done
  gw_pid=${proxy_pid[gateway]}
  url[direct]="http://$backend/mcp"
  proxy_pid[direct]=

  # Plain NGINX; its worker (the process that does the work) is the one whose CPU is read.
  nginx_port=$(free_port)
  nginx_prefix="$work/nginx-$mode"
  mkdir -p "$nginx_prefix/logs"
  nginx_plain_conf "$nginx_prefix" "$nginx_port" "$backend" >"$nginx_prefix/nginx.conf"
  "${gateway_on[@]}" "$NGINX" -p "$nginx_prefix" -c "$nginx_prefix/nginx.conf" -e stderr \
    >"$work/nginx-$mode.out" 2>&1 &
  nginx_master=$!
  pids+=("$nginx_master")
  wait_http "$nginx_port" "$work/nginx-$mode.out"
  url[nginx]="http://127.0.0.1:$nginx_port/mcp"
  proxy_pid[nginx]=$(pgrep -P "$nginx_master" | head -1)

  if [[ " ${targets[*]} " == *" nginx-lua "* ]]; then
    lua_port=$(free_port)
    "${gateway_on[@]}" bash examples/nginx/run.sh "$lua_port" "${url[direct]}" examples/policy.json \
      >"$work/nginx-lua-$mode.out" 2>&1 &
    lua_master=$!   # run.sh execs NGINX's master in the foreground
    pids+=("$lua_master")
    wait_http "$lua_port" "$work/nginx-lua-$mode.out"
    url[nginx-lua]="http://127.0.0.1:$lua_port/mcp"
    proxy_pid[nginx-lua]=$(pgrep -P "$lua_master" | head -1)
  fi
  echo "[$mode] backend ${url[direct]}; nginx ${url[nginx]} (worker pid ${proxy_pid[nginx]}); gateway ${url[gateway]} (pid $gw_pid, $(ls /proc/$gw_pid/task | wc -l) threads, policy examples/policy.json); gateway without policy ${url[gw-nopol]}${client_on[*]:+; client and backend: ${client_on[*]}, proxies: ${gateway_on[*]}}" >&2

  # Warm-up: connections, allocator, page cache.
  for target in "${targets[@]}"; do
    "${client_on[@]}" "$lg" bench "${url[$target]}" list 2000 4 "$MAX_SECS" >/dev/null
  done

  for kind in call list; do
    for c in "$CONCURRENCY" 1; do
      n=$REQUESTS
      [[ $c == 1 ]] && n=$LAT_REQUESTS
      for _ in $(seq 1 "$REPEAT"); do
        for target in "${targets[@]}"; do
          ppid=${proxy_pid[$target]}
          p0=0 p1=0
          [[ -n $ppid ]] && p0=$(cpu_us "$ppid")
          b0=$(cpu_us "$backend_pid")
          line=$("${client_on[@]}" "$lg" bench "${url[$target]}" "$kind" "$n" "$c" "$MAX_SECS")
          [[ -n $ppid ]] && p1=$(cpu_us "$ppid")
          b1=$(cpu_us "$backend_pid")
          line="{\"mode\":\"$mode\",\"target\":\"$target\",\"proxy_cpu_us\":$((p1 - p0)),\"backend_cpu_us\":$((b1 - b0)),${line#\{}"
          echo "$line" >>"$results"
          echo "$line" >&2
        done
      done
    done
  done

  # RSS once, on the first placement's gateway (placement does not change what it holds).
  if [[ -z $rss_line ]]; then
    rss_line=$("${client_on[@]}" "$lg" sessions "${url[gateway]}" "$SESSIONS" "$gw_pid" 3)
    echo "sessions $rss_line" >&2
  fi
  for p in "${proxy_pid[gateway]}" "${proxy_pid[gw-nopol]}" "$nginx_master" ${lua_master:+"$lua_master"} "$backend_pid"; do
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  lua_master=
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
    r["px_cpu"] = r["proxy_cpu_us"] / n
    r["be_cpu"] = r["backend_cpu_us"] / n
def runs(mode, target, kind, c):
    return [r for r in rows if r["mode"] == mode and r["target"] == target and r["kind"] == kind and r["concurrency"] == c]
def med(mode, target, kind, c, key):
    return statistics.median(r[key] for r in runs(mode, target, kind, c))
titles = {
    "shared": "shared: load generator, backend and proxy on any core",
    "pinned": "pinned: load generator and backend on CPU 0, the proxy (NGINX or gateway) alone on CPU 1 (direct runs: the same CPU 0)",
}
names = {"direct": "direct", "nginx": "NGINX", "gateway": "gateway (policy)", "gw-nopol": "gateway (no policy)", "nginx-lua": "NGINX + C library"}
kinds = (("call", "`tools/call` (echo)"), ("list", "`tools/list` (filtered)"))
verdicts = []
for mode in dict.fromkeys(r["mode"] for r in rows):
    targets = list(dict.fromkeys(r["target"] for r in rows if r["mode"] == mode))
    proxies = [t for t in targets if t != "direct"]
    n_runs = len(runs(mode, "direct", "call", conc))
    print(f"### {titles[mode]}")
    print()
    print(f"Median of {n_runs} alternating runs each. Throughput at {conc} connections; ratios are to NGINX in the same run. CPU: µs of the proxy's CPU per request (NGINX: its one worker).")
    print()
    print("| request | " + " | ".join(f"{names[t]} req/s" for t in targets) + " | " + " | ".join(f"{names[t]} / NGINX" for t in proxies if t != "nginx") + " | " + " / ".join(names[t] for t in proxies) + " CPU µs/req | errors |")
    print("|---|" + "---:|" * (len(targets) + len(proxies) - 1 + 2))
    for kind, label in kinds:
        m = lambda t, k: med(mode, t, kind, conc, k)
        rps = {t: m(t, "rps") for t in targets}
        errs = sum(r["errors"] for t in targets for r in runs(mode, t, kind, conc))
        ratios = {t: rps[t] / rps["nginx"] if rps["nginx"] else 0 for t in proxies}
        print(f"| {label} | " + " | ".join(f"{rps[t]:.0f}" for t in targets) + " | " + " | ".join(f"**{ratios[t]:.2f}×**" if t == "gateway" else f"{ratios[t]:.2f}×" for t in proxies if t != "nginx") + " | " + " / ".join(f"{m(t, 'px_cpu'):.1f}" for t in proxies) + f" | {errs} |")
        verdicts.append((f"[{mode}] {kind} throughput at {conc} connections, gateway (policy) >= 0.9x NGINX", f"{ratios['gateway']:.2f}x", ratios["gateway"] >= 0.9))
    print()
    print("Latency at 1 connection: p50 / p99 in µs, and the p50 each proxy adds to direct.")
    print()
    print("| request | " + " | ".join(f"{names[t]} p50 / p99" for t in targets) + " | " + " | ".join(f"{names[t]} added p50" for t in proxies) + " | gateway added − NGINX added | errors |")
    print("|---|" + "---:|" * (len(targets) + len(proxies) + 2))
    for kind, label in kinds:
        m = lambda t, k: med(mode, t, kind, 1, k)
        added = {t: m(t, "p50_us") - m("direct", "p50_us") for t in proxies}
        errs = sum(r["errors"] for t in targets for r in runs(mode, t, kind, 1))
        extra = added["gateway"] - added["nginx"]
        print(f"| {label} | " + " | ".join(f"{m(t, 'p50_us'):.0f} / {m(t, 'p99_us'):.0f}" for t in targets) + " | " + " | ".join(f"{added[t]:.0f}" for t in proxies) + f" | **{extra:+.0f}** | {errs} |")
        verdicts.append((f"[{mode}] {kind} added p50 at 1 connection, gateway (policy) <= NGINX's + 30 us", f"{added['gateway']:.0f} us vs NGINX {added['nginx']:.0f} us ({extra:+.0f})", extra <= 30))
    print()
    print(f"Throughput at 1 connection (req/s): " + ", ".join(f"{names[t]} {med(mode, t, k, 1, 'rps'):.0f} ({k})" for k, _ in kinds for t in targets) + ".")
    print(f"p50 / p99 at {conc} connections (µs): " + ", ".join(f"{names[t]} {med(mode, t, k, conc, 'p50_us'):.0f} / {med(mode, t, k, conc, 'p99_us'):.0f} ({k})" for k, _ in kinds for t in targets) + ".")
    print()
mb = rss["rss_after_hold_kb"] / 1024
print(f"Gateway RSS: {rss['rss_before_kb']/1024:.1f} MB idle after the runs, {rss['rss_open_kb']/1024:.1f} MB with {rss['sessions']} sessions each holding a GET stream ({rss['errors']} failed to open, opened in {rss['open_secs']} s), {mb:.1f} MB after holding them 3 s.")
verdicts.append((f"RSS <= 100 MB with 1,000 sessions", f"{mb:.1f} MB ({rss['sessions']} sessions)", mb <= 100 and rss["sessions"] >= 1000))
print()
for what, got, ok in verdicts:
    print(f"- {'met' if ok else 'MISSED'}: {what}: {got}")
PY
