# C ABI: the C tests against the header, linked to the static and to the shared library, under
# valgrind; the shared data cases through the C ABI; NGINX with examples/nginx in front of
# server-everything, driven by the TypeScript SDK client. (The header's freshness is a Rust
# test: ffi/tests/header.rs, run by rust-test.)
FFI_LIB := target/release
FFI_OUT := target/ffi-c
FFI_CC := gcc -std=c11 -Wall -Wextra -Werror -pedantic -O1 -g -I ffi/include
FFI_STATIC := $(FFI_LIB)/libmcp_policy_ffi.a -lpthread -ldl -lm
FFI_SHARED := -L$(FFI_LIB) -lmcp_policy_ffi -Wl,-rpath,$(CURDIR)/$(FFI_LIB) -lpthread
# Leaks that count: definite and indirect (thread-locals and statics are "still reachable").
VALGRIND := valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=1
DEBIAN_TEST_PACKAGES := nginx libnginx-mod-http-lua valgrind libjansson-dev

.PHONY: ffi-test ffi-lib ffi-c ffi-nginx debian-deps

debian-deps:
	bash scripts/debian-deps.sh $(DEBIAN_TEST_PACKAGES)

ffi-lib:
	$(CARGO) build --locked --release -p mcp-policy-ffi

ffi-test: ffi-c ffi-nginx

ffi-c: ffi-lib debian-deps
	mkdir -p $(FFI_OUT)
	$(FFI_CC) ffi/tests/c/api.c $(FFI_STATIC) -o $(FFI_OUT)/api-static
	$(FFI_CC) ffi/tests/c/api.c $(FFI_SHARED) -o $(FFI_OUT)/api-shared
	$(FFI_CC) ffi/tests/c/cases.c $(FFI_STATIC) -ljansson -o $(FFI_OUT)/cases-static
	$(FFI_CC) ffi/tests/c/cases.c $(FFI_SHARED) -ljansson -o $(FFI_OUT)/cases-shared
	$(VALGRIND) $(FFI_OUT)/api-static
	$(VALGRIND) $(FFI_OUT)/api-shared
	$(VALGRIND) $(FFI_OUT)/cases-static .
	$(VALGRIND) $(FFI_OUT)/cases-shared .
	# The README's example compiles, runs clean and prints what the README says it prints.
	awk '/^```c$$/{f=1;next} /^```$$/{f=0} f' ffi/README.md >$(FFI_OUT)/readme.c
	awk '/^```text$$/{f=1;next} /^```$$/{f=0} f' ffi/README.md >$(FFI_OUT)/readme.expected
	$(FFI_CC) $(FFI_OUT)/readme.c $(FFI_STATIC) -o $(FFI_OUT)/readme
	$(VALGRIND) $(FFI_OUT)/readme >$(FFI_OUT)/readme.out
	diff -u $(FFI_OUT)/readme.expected $(FFI_OUT)/readme.out

ffi-nginx: ffi-lib debian-deps e2e/node_modules/.stamp
	node --test e2e/nginx/
