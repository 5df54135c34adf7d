# Every entry point a developer or CI needs. `make test` is what .ci/run calls.
SHELL := /bin/bash
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never
BIN := target/debug/mcp-policy
VENV := e2e/python/.venv

.PHONY: test lint fmt-check clippy rust-test no-std gateway-bin e2e e2e-node e2e-python conformance demo demo-oauth

## Run every test: lints, Rust (unit, integration, doc), the no_std canary, the C ABI, Python
## and Node packages, end-to-end.
test: lint rust-test bench-smoke no-std ffi-test python-test node-test e2e

# Each binding keeps its own targets beside its code.
include ffi/ffi.mk bindings-python/python.mk bindings-node/node.mk

## fmt check and clippy with warnings as errors.
lint: fmt-check clippy

fmt-check:
	$(CARGO) fmt --all --check

clippy:
	$(CARGO) clippy --locked --workspace --all-targets --all-features -- -D warnings

# The Python and Node crates are tested from their languages (python-test, node-test): their
# libraries link against the interpreter that loads them.
rust-test:
	$(CARGO) test --locked --workspace --all-features --exclude mcp-policy-python --exclude mcp-policy-node

## Fails if anything in `mcp-policy` with default-features = false pulls in std.
no-std:
	cd core/no_std_canary && CARGO_TARGET_DIR=../../target/no_std_canary $(CARGO) check --locked

gateway-bin:
	$(CARGO) build --locked -p mcp-policy-gateway

# npm and pip installs are stamped so repeated runs skip them.
e2e/node_modules/.stamp: e2e/package-lock.json
	cd e2e && npm ci --no-audit --no-fund
	touch $@

$(VENV)/.stamp: e2e/python/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r e2e/python/requirements.txt
	touch $@

## End-to-end: real clients (TypeScript SDK, Python mcp) and the conformance suite through the gateway.
e2e: e2e-node e2e-python conformance

# Debian's chromium, which e2e/gateway/dashboard.test.mjs drives, and nginx, which
# e2e/replicas runs (plain, no module) in front of three gateways; checked on every run and
# never stamped, like ffi.mk's debian-deps.
.PHONY: e2e-debian-deps
e2e-debian-deps:
	bash scripts/debian-deps.sh chromium nginx

# e2e/differential/ starts the Python SDK's server from the venv beside the TypeScript one.
e2e-node: gateway-bin e2e/node_modules/.stamp $(VENV)/.stamp e2e-debian-deps
	MCP_POLICY_BIN=$(BIN) node --test e2e/gateway/ e2e/oauth/ e2e/replicas/ e2e/differential/

e2e-python: gateway-bin e2e/node_modules/.stamp $(VENV)/.stamp
	MCP_POLICY_BIN=$(BIN) $(VENV)/bin/python -m pytest -q e2e/python

conformance: gateway-bin e2e/node_modules/.stamp
	MCP_POLICY_BIN=$(BIN) bash e2e/conformance/run.sh

## The gateway on 127.0.0.1:8080/mcp in front of server-everything with examples/policy.json.
demo:
	bash scripts/demo.sh

## The same gateway as an OAuth 2.1 protected resource (plan oauth2), with an authorization server on 127.0.0.1:9000.
demo-oauth:
	bash scripts/demo-oauth.sh

.PHONY: bench-gateway
## Gateway load check (not a test): direct, plain NGINX, the gateway with and without its policy, req/s and p50/p99, and RSS with 1,000 sessions.
# NGINX is the reference proxy of every run: installed by the same script and package as for
# e2e-debian-deps (without chromium, which the bench does not use); NGINX_LUA=1 adds its Lua module.
.PHONY: bench-debian-deps
bench-debian-deps:
	bash scripts/debian-deps.sh nginx $(if $(filter 1,$(NGINX_LUA)),libnginx-mod-http-lua)

bench-gateway: bench-debian-deps
	bash scripts/bench-gateway.sh

.PHONY: fuzz
FUZZ_TIME ?= 60
FUZZ_TARGETS ?=
## Each fuzz target for FUZZ_TIME seconds (FUZZ_TARGETS="a b" to pick) on nightly, from its seeds
## with its dictionary; prints executions and coverage, fails on a crash. Not part of `make test`,
## which replays the seeds and past crashes on stable (core/tests/fuzz_replay.rs).
fuzz:
	FUZZ_TIME=$(FUZZ_TIME) FUZZ_TARGETS="$(FUZZ_TARGETS)" bash scripts/fuzz.sh

.PHONY: bench bench-smoke
## Criterion benches with peer engines side by side (benches/README.md records the figures).
bench:
	$(CARGO) bench --locked -p mcp-policy-benches -- --warm-up-time 1 --measurement-time 3

## The benches in test mode (each runs once, agreement checks included) so they never rot.
bench-smoke: ; $(CARGO) test --locked -p mcp-policy-benches -p mcp-policy-ffi --benches
