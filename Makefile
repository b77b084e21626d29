# calico-libnetwork: Calico network and IPAM drivers for Docker.
# `make` alone lists the targets.

GO       ?= go
BIN      ?= bin
FUZZTIME ?= 30s

.DEFAULT_GOAL := help
.PHONY: help build run test bench lint plugin fuzz clean console

help: ## List the targets
	@awk 'BEGIN { FS = ":.*## " } /^[a-zA-Z_-]+:.*## / { printf "  %-8s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

build: ## Build calico-libnetwork and calicoctl into bin/
	$(GO) build -o $(BIN)/ ./cmd/...

run: build ## Install iptables/ipset/Docker if missing, start Docker if down, run the daemon (root)
	BIN=$(BIN) bash hack/run.sh $(ARGS)

test: lint ## Lint, then run all tests; installs deps, starts and stops a private dockerd (root)
	bash hack/test.sh

bench: ## Run all benchmarks in the test environment (root)
	bash hack/bench.sh

lint: ## gofmt, go vet and staticcheck (pinned in hack/lint.sh, installed on first use)
	bash hack/lint.sh

plugin: ## Build the managed plugin PLUGIN (default calico:latest) and its image; see docs/install.md
	bash packaging/plugin.sh

console: ## Rebuild the web console (console/dist, embedded in the binary) from console/web with npm
	cd console/web && npm ci --no-audit --no-fund --ignore-scripts && npm run build

fuzz: ## Run each fuzz target for FUZZTIME (default 30s)
	FUZZTIME=$(FUZZTIME) bash hack/fuzz.sh

clean: ## Remove build output
	rm -rf $(BIN) build
