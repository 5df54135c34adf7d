# Every entry point a developer or CI needs. `make test` is what .ci/run calls.
SHELL := /bin/bash
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: test lint fmt-check clippy rust-test no-std demo

## Run every test: lints, Rust (unit, integration, doc), the no_std canary.
test: lint rust-test no-std

## fmt check and clippy with warnings as errors.
lint: fmt-check clippy

fmt-check:
	$(CARGO) fmt --all --check

clippy:
	$(CARGO) clippy --locked --workspace --all-targets --all-features -- -D warnings

rust-test:
	$(CARGO) test --locked --workspace --all-features

## Fails if anything in `mcp-policy` with default-features = false pulls in std.
no-std:
	cd core/no_std_canary && CARGO_TARGET_DIR=../../target/no_std_canary $(CARGO) check --locked

demo:
	@echo "make demo arrives with the gateway (issue 6)"; exit 1
