# Python package (bindings-python/): the wheel built with maturin (release, abi3) into the
# workspace target/, installed into a virtual environment of its own, then pytest: every API,
# the shared cases, and the ASGI middleware and reverse proxy run for real (uvicorn, the
# Python `mcp` SDK's server and client, server-everything from e2e/).
PY_DIR := bindings-python
PY_VENV := $(PY_DIR)/.venv
PY_WHEELS := target/wheels/mcp-policy-python

.PHONY: python-test python-wheel

# pip installs are stamped so repeated runs skip them.
$(PY_VENV)/.stamp: $(PY_DIR)/requirements-test.txt
	rm -rf $(PY_VENV)
	python3 -m venv $(PY_VENV)
	$(PY_VENV)/bin/pip install --quiet --disable-pip-version-check -r $(PY_DIR)/requirements-test.txt
	touch $@

## The wheel (release, abi3 for CPython >= 3.11), installed into bindings-python/.venv.
python-wheel: $(PY_VENV)/.stamp
	rm -rf $(PY_WHEELS)
	$(PY_VENV)/bin/maturin build --release --locked --manifest-path $(PY_DIR)/Cargo.toml --out $(PY_WHEELS)
	$(PY_VENV)/bin/pip install --quiet --disable-pip-version-check --force-reinstall --no-deps $(PY_WHEELS)/*.whl

python-test: python-wheel e2e/node_modules/.stamp
	cd $(PY_DIR) && .venv/bin/python -m pytest -q tests
