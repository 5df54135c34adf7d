# C ABI: header check, C tests (static and shared, under valgrind), the NGINX example.
.PHONY: ffi-test
ffi-test:
	@echo "ffi-test: not written yet" && false
