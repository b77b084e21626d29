#!/usr/bin/env bash
# bench.sh runs every benchmark against the same environment as test.sh
# (packages one at a time for the same reasons).
#
# Extra flags: BENCHFLAGS='-benchtime 5x -count 3' hack/bench.sh
# Other packages: PKGS=./ipam/... hack/bench.sh
#
# The fleet benchmark (e2e/fleet, docs/scale.md) runs the daemon in a
# simulated fleet of 1,000 hosts × 50 endpoints; try it smaller first:
#   CALICO_FLEET_HOSTS=40 CALICO_BENCH_ROUNDS=5 CALICO_FLEET_CHURN_FOR=5s \
#     PKGS=./e2e/fleet BENCHFLAGS='-benchtime 1x' hack/bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=hack/lib.sh
. hack/lib.sh

test_env_up

# shellcheck disable=SC2086
go test -count=1 -run '^$' -bench . -benchmem -p 1 ${BENCHFLAGS:-} ${PKGS:-./...}
