# Node package: npm ci, napi build, node --test.
.PHONY: node-test
node-test:
	@echo "node-test: not written yet" && false
