# txfstream: every task of the project is a target here. `make` lists them.
# Tools are installed into the checkout by `make bootstrap` (.venv, .tools,
# gen/ts/node_modules); nothing is taken from the global environment but the
# language toolchains (python3.11, go, node/npm, java/mvn).
SHELL := /bin/bash
.DEFAULT_GOAL := help
PY := .venv/bin/python
BUF := .venv/bin/buf

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

## --- set-up -------------------------------------------------------------
.PHONY: bootstrap
bootstrap: ## Install pinned tools and runtimes (venv, buf, protoc, plugins, npm, Maven deps)
	tools/bootstrap.sh
	@touch .venv/.bootstrapped

# Every target that needs the tools depends on this stamp: it re-runs the
# bootstrap when a pin file changed, so `make test` works on a fresh clone.
PINS := pyproject.toml gen/python/pyproject.toml gen/betterproto/pyproject.toml gen/go/go.mod \
        gen/ts/package-lock.json gen/java/pom.xml consumers/python/pyproject.toml consumers/go/go.mod \
        consumers/ts/package-lock.json tools/gomodzip/go.mod tools/bootstrap.sh archive/pyproject.toml \
        kit/pyproject.toml producer/pyproject.toml arbiter/pyproject.toml schema-registry/pyproject.toml
.venv/.bootstrapped: $(PINS)
	tools/bootstrap.sh
	@touch $@
TOOLS := .venv/.bootstrapped

## --- main job -----------------------------------------------------------
.PHONY: demo
demo: $(TOOLS) ## Local Kafka + registry, contract registered, producer on the simulated feed, live consumer
	tools/demo.sh

.PHONY: chaos
chaos: $(TOOLS) ## The nemesis: a compressed trading day with every fault kind on the 3-broker cluster, 5 seeds, checked (SEEDS=1-5 PROFILE=full)
	$(PY) -m tools.chaos --profile $(or $(PROFILE),full) --seeds $(or $(SEEDS),1-5)

.PHONY: pipeline
pipeline: $(TOOLS) ## Two capture legs (one killed), the arbiter, the archive and bars, the live view; checked, queried, charted
	$(PY) -m tools.pipeline

## --- contract -----------------------------------------------------------
.PHONY: lint
lint: $(TOOLS) lint-python ## buf lint (STANDARD), buf format check on proto/, actionlint on .github/workflows, Python lint
	$(BUF) lint
	$(BUF) format --diff --exit-code
	.tools/bin/actionlint -no-color

.PHONY: lint-python
lint-python: $(TOOLS) ## ruff check + ruff format --check over the repository, mypy --strict over the Python packages
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

.PHONY: format
format: $(TOOLS) ## Rewrite proto/ in buf's canonical format
	$(BUF) format -w

.PHONY: breaking
breaking: $(TOOLS) ## Fail (exit 100) on a breaking change against every release and every committed proto/
	$(PY) -m tools.contract breaking

.PHONY: gen
gen: $(TOOLS) ## Regenerate gen/ (python, betterproto, go, ts, java) and the consumers' topic tables
	tools/gen.sh

.PHONY: gen-check
gen-check: gen ## Fail when the committed gen/ (or a consumer's topic table) differs from `make gen`, or a version drifts
	@generated="gen/ $$($(PY) -m tools.gen_topics --paths)"; \
	if [[ -n "$$(git status --porcelain -- $$generated)" ]]; then \
	  git status --short -- $$generated; git --no-pager diff --stat -- $$generated; \
	  echo "gen-check: generated files are stale: run 'make gen' and commit them" >&2; exit 1; \
	else echo "gen-check: gen/ and the consumers' topic tables match the contract and the topic map"; fi
	$(PY) -m tools.contract versions --check

## --- releases -------------------------------------------------------------
.PHONY: release-contract
release-contract: lint breaking gen-check ## Release the contract: VERSION=x.y.z (gates, lock, commit, tags, dist/)
	@[[ -n "$(VERSION)" ]] || { echo "release-contract: give the version: make release-contract VERSION=1.1.0" >&2; exit 2; }
	$(PY) -m tools.contract release "$(VERSION)"

.PHONY: dist
dist: $(TOOLS) ## Build the released contract's packages into dist/ (wheels, sdists, npm, Maven repo, Go proxy)
	$(PY) -m tools.contract dist

## --- local stack (Kafka + schema registry on 127.0.0.1) -------------------
.PHONY: up
up: $(TOOLS) ## Start local Kafka (KRaft) and Apicurio registry (Confluent API); BROKERS=3: the cluster profile; SECURE=1: SASL_SSL + ACLs
	$(PY) stack/localstack.py up $(if $(BROKERS),--brokers $(BROKERS)) $(if $(SECURE),--secure)

.PHONY: down
down: $(TOOLS) ## Stop what `make up` started (by PID), every profile
	$(PY) stack/localstack.py down

.PHONY: status
status: $(TOOLS) ## Show the local stack's processes and whether they answer
	$(PY) stack/localstack.py status

## --- registry -----------------------------------------------------------
REGISTRY := .venv/bin/txf-registry
.PHONY: register
register: $(TOOLS) ## Register the contract (levels, references, subjects) and create the topics; idempotent
	$(REGISTRY) register --topics

.PHONY: check-registry
check-registry: $(TOOLS) ## Is the local contract compatible with what the registry holds? (registers nothing)
	$(REGISTRY) check

.PHONY: registry-status
registry-status: $(TOOLS) ## Registered vs declared subjects (drift)
	$(REGISTRY) status

## --- tests --------------------------------------------------------------
.PHONY: test
test: test-python test-go test-ts test-java test-consumers ## Run every test (Python incl. integration and e2e, Go, TypeScript, Java)

.PHONY: test-python
test-python: $(TOOLS) ## pytest: contract vectors (pb2, betterproto), breaking gate, integration against the local stack
	$(PY) -m pytest -n 2 --dist loadgroup --durations=25

.PHONY: test-go
test-go: $(TOOLS) ## go vet + golden vectors of gen/go
	cd gen/go && go vet ./... && go test ./...

.PHONY: test-ts
test-ts: $(TOOLS) ## tsc + golden vectors of gen/ts (node --test)
	cd gen/ts && npm test --silent

.PHONY: test-java
test-java: $(TOOLS) ## Maven build + golden vectors of gen/java
	cd gen/java && mvn -q -B test && cat target/surefire-reports/*.txt | grep 'Tests run'

.PHONY: test-consumers
test-consumers: $(TOOLS) ## Unit tests and builds of the Go, TypeScript and Java consumers
	cd consumers/go && go build ./... && go vet ./... && go test ./...
	cd consumers/ts && npm run build --silent && npm test --silent
	consumers/java/build.sh && cat consumers/java/target/surefire-reports/*.txt | grep 'Tests run'

## --- benchmarks (printed as ratios measured side by side; medians) -------
.PHONY: bench
bench: $(TOOLS) ## Producer hot path vs the original style, consumer decode, arbiter identity collisions; JSON last lines
	$(PY) bench/bench_producer.py
	$(PY) bench/bench_decode.py
	$(PY) bench/bench_identity.py --days 5

.PHONY: bench-archive
bench-archive: $(TOOLS) ## Archive from a backlog vs a bare consumer, bytes/record vs Kafka, a day's query and replay
	$(PY) bench/bench_archive.py

.PHONY: bench-live
bench-live: $(TOOLS) ## Added latency (peak, 10x burst, open), consumer-seen latency, CPU/RSS over a simulated day, arbitration latency
	$(PY) bench/bench_live.py
	$(PY) bench/bench_arbiter.py

.PHONY: ci
ci: lint breaking gen-check test ## What CI runs after bootstrap
