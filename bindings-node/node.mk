# Node package (bindings-node/): npm ci (stamped), the addon built with napi-rs (release) into
# the workspace target/, a check that the committed index.d.ts is what the build generates,
# then node --test: every API and error code, the shared cases, the SSE transforms split at
# every byte, and the http/Express middleware and reverse proxy run for real (server-everything,
# a TypeScript SDK server and client).
NODE_DIR := bindings-node
NAPI := $(NODE_DIR)/node_modules/.bin/napi

.PHONY: node-test node-build node-bench

$(NODE_DIR)/node_modules/.stamp: $(NODE_DIR)/package-lock.json
	cd $(NODE_DIR) && npm ci --no-audit --no-fund
	touch $@

## The addon (bindings-node/mcp-policy.node); fails when the committed index.d.ts is stale.
node-build: $(NODE_DIR)/node_modules/.stamp
	mkdir -p target/node
	cd $(NODE_DIR) && node_modules/.bin/napi build --release --no-js \
	  --target-dir $(CURDIR)/target --output-dir . --dts ../target/node/index.d.ts
	@cmp -s $(NODE_DIR)/index.d.ts target/node/index.d.ts || { \
	  diff -u $(NODE_DIR)/index.d.ts target/node/index.d.ts | head -40; \
	  echo "bindings-node/index.d.ts is stale: cp target/node/index.d.ts bindings-node/ (or npm run build) and commit it"; \
	  exit 1; }

node-test: node-build
	cd $(NODE_DIR) && node --test --test-concurrency=1 test/

## Figures for the closing note (not a test): check per call, list filtering, proxy overhead.
node-bench: node-build
	cd $(NODE_DIR) && node bench/bench.mjs
