# Intake — the seed's make words, on a native build (and docker compose for `up`/`down`/`logs`).
#   make start   install what is missing, build, run `intake serve` on the embedded defaults
#   make test    build and run every test (plain build, then an ASan+UBSan build), the integration
#                suites against real PostgreSQL, Redis and S3 servers started on 127.0.0.1

SHELL := /bin/bash
BUILD ?= build
ASAN_BUILD ?= build-asan
BENCH_BUILD ?= build-bench
BENCH_ARGS ?=
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: help deps deps-build build start test test-fast test-asan bench db-init bootstrap-s3 up \
	down logs clean format format-check

COMPOSE ?= docker compose
# For bootstrap-s3: the same variables Intake reads (.env is loaded by the recipe when present).
S3_ENDPOINT_URL ?= http://localhost:4566
S3_BUCKET_NAME ?= patient-intake
AWS_REGION ?= us-east-1

help: ## list the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

deps: ## install missing build/test packages (apt-get; sudo when not root) and npm test tools
	@bash scripts/install-deps.sh

deps-build: ## install only what building needs
	@INTAKE_DEPS=build bash scripts/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

build: deps-build $(BUILD)/CMakeCache.txt ## build the binary at build/intake
	cmake --build $(BUILD) -j$(JOBS) --target intake

start: build ## build and run `intake serve` at http://127.0.0.1:8000
	./$(BUILD)/intake serve

test: test-fast test-asan ## every test: unit, adapters, HTTP and black-box, plain and under ASan+UBSan

test-fast: deps $(BUILD)/CMakeCache.txt ## every test on the plain build
	cmake --build $(BUILD) -j$(JOBS)
	scripts/with-test-servers.sh bash -c 'cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 900'

$(ASAN_BUILD)/CMakeCache.txt:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DINTAKE_SANITIZE=ON $(CMAKE_FLAGS)

test-asan: deps $(ASAN_BUILD)/CMakeCache.txt ## every test under AddressSanitizer + UBSan
	cmake --build $(ASAN_BUILD) -j$(JOBS)
	scripts/with-test-servers.sh bash -c 'cd $(ASAN_BUILD) && \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j$(JOBS) --timeout 1800'

$(BENCH_BUILD)/CMakeCache.txt:
	cmake -S . -B $(BENCH_BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

bench: deps $(BENCH_BUILD)/CMakeCache.txt ## benchmarks on a Release build vs plain SQLite/PostgreSQL (BENCH_ARGS="--records 100000")
	cmake --build $(BENCH_BUILD) -j$(JOBS) --target intake
	python3 scripts/bench/bench.py --binary $(BENCH_BUILD)/intake --out $(BENCH_BUILD)/bench-results.md $(BENCH_ARGS)

db-init: build ## apply database migrations to DATABASE_URL (intake migrate; reads .env)
	./$(BUILD)/intake migrate

bootstrap-s3: ## create the S3 bucket at S3_ENDPOINT_URL with awscli (Intake also does at start-up)
	@set -a; [ -f .env ] && . ./.env; set +a; \
	  endpoint="$${S3_ENDPOINT_URL:-$(S3_ENDPOINT_URL)}"; bucket="$${S3_BUCKET_NAME:-$(S3_BUCKET_NAME)}"; \
	  export AWS_DEFAULT_REGION="$${AWS_REGION:-$(AWS_REGION)}"; \
	  if aws --endpoint-url "$$endpoint" s3api head-bucket --bucket "$$bucket" 2>/dev/null; then \
	    echo "bucket $$bucket exists at $$endpoint"; \
	  else aws --endpoint-url "$$endpoint" s3 mb "s3://$$bucket"; fi

up: ## start PostgreSQL, Redis, an S3 server, the API and workers with docker compose
	$(COMPOSE) up -d --build

down: ## stop the compose services (volumes are kept; `docker compose down -v` drops them)
	$(COMPOSE) down

logs: ## follow the compose services' logs
	$(COMPOSE) logs -f --tail=100

clean: ## remove build trees (incl. the bench build), the local data folder and the npm test tools
	rm -rf $(BUILD) $(ASAN_BUILD) $(BENCH_BUILD) data node_modules

SOURCES = $(shell find src tests -name '*.cpp' -o -name '*.hpp')

format: ## clang-format every source file in place
	@clang-format -i $(SOURCES)

format-check: ## fail when a source file is not clang-formatted
	@clang-format --dry-run --Werror $(SOURCES)
