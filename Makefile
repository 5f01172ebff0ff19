# Intake — the seed's make words, on a native build.
#   make start   install what is missing, build, run `intake serve` on the embedded defaults
#   make test    build and run every test (plain build, then an ASan+UBSan build)

SHELL := /bin/bash
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: help deps build start test test-fast test-asan db-init clean format format-check

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

deps: ## install missing build/test packages (apt-get; sudo when not root)
	@bash scripts/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt ## build the binary at build/intake
	cmake --build $(BUILD) -j$(JOBS) --target intake

start: build ## build and run `intake serve` at http://127.0.0.1:8000
	./$(BUILD)/intake serve

test: test-fast test-asan ## every test: unit, adapters, HTTP and black-box, plain and under ASan+UBSan

test-fast: deps $(BUILD)/CMakeCache.txt ## every test on the plain build
	cmake --build $(BUILD) -j$(JOBS)
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 900

$(ASAN_BUILD)/CMakeCache.txt:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DINTAKE_SANITIZE=ON $(CMAKE_FLAGS)

test-asan: deps $(ASAN_BUILD)/CMakeCache.txt ## every test under AddressSanitizer + UBSan
	cmake --build $(ASAN_BUILD) -j$(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j$(JOBS) --timeout 1800

db-init: build ## apply database migrations (intake migrate)
	./$(BUILD)/intake migrate

clean: ## remove build trees and the local data folder
	rm -rf $(BUILD) $(ASAN_BUILD) data

SOURCES = $(shell find src tests -name '*.cpp' -o -name '*.hpp')

format: ## clang-format every source file in place
	@clang-format -i $(SOURCES)

format-check: ## fail when a source file is not clang-formatted
	@clang-format --dry-run --Werror $(SOURCES)
