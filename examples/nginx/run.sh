#!/usr/bin/env bash
# Starts NGINX with nginx.conf (in the foreground) in front of an MCP server.
#   run.sh <listen port> <upstream MCP URL, http://host:port/path> [policy file]
# Paths default to this repository's build: target/release/libmcp_policy_ffi.so and
# ffi/include/mcp_policy.h (MCP_POLICY_LIB / MCP_POLICY_HEADER override them).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
port="$1"
upstream="$2"
policy="$(realpath "${3:-$root/examples/policy.json}")"
lib="$(realpath "${MCP_POLICY_LIB:-$root/target/release/libmcp_policy_ffi.so}")"
header="$(realpath "${MCP_POLICY_HEADER:-$root/ffi/include/mcp_policy.h}")"
hostport="$(sed -E 's#^http://([^/]+)/.*$#\1#' <<<"$upstream")"
path="/$(sed -E 's#^http://[^/]+/##' <<<"$upstream")"
# One working directory per port, made afresh: NGINX's pid, temp files and rendered config.
prefix="${TMPDIR:-/tmp}/mcp-policy-nginx-$port"
rm -rf "$prefix"
mkdir -p "$prefix/logs"
# Started as root (a test, a container), NGINX's workers would run as `nobody`, who may not read
# the library, the header or the policy where they are: keep them as root there. In production,
# start NGINX as its usual user and give that user read access to those three files.
user=""
if [ "$(id -u)" = 0 ]; then user="user root;"; fi
sed -e "s#@PREFIX@#$prefix#g" -e "s#@USER@#$user#g" -e "s#@DIR@#$here#g" -e "s#@LIB@#$lib#g" \
    -e "s#@HEADER@#$header#g" -e "s#@POLICY@#$policy#g" -e "s#@UPSTREAM@#$upstream#g" \
    -e "s#@UPSTREAM_HOSTPORT@#$hostport#g" -e "s#@PORT@#$port#g" -e "s#@PATH@#$path#g" \
    "$here/nginx.conf" >"$prefix/nginx.conf"
exec nginx -p "$prefix" -c "$prefix/nginx.conf" -e stderr
