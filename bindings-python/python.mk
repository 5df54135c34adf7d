# Python package: wheel built with maturin in a fresh virtual environment, then pytest.
.PHONY: python-test
python-test:
	@echo "python-test: not written yet" && false
