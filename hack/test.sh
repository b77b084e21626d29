#!/usr/bin/env bash
# test.sh runs the whole suite on a bare Debian 12 machine with Go: it
# installs what is missing, starts a private Docker engine (and stops it
# again on any exit), vets, and runs every package's tests for real: root,
# Docker and tools missing make tests fail, not skip.
#
# Packages run one at a time (-p 1). Their tests share host-global state
# that namespaces do not isolate: iptables chains in the host namespace
# (FORWARD, nat), ipsets, host routes, the docker engine, docker0, the
# plugin sockets in /run/docker/plugins and the BGP port. Two test binaries
# touching those at once would flake. Inside a package, tests that are
# isolated in their own namespaces may still use t.Parallel(). The test
# binaries are compiled beforehand in parallel, so -p 1 costs run time only.
#
# Extra `go test` flags: GOTESTFLAGS='-v -run TestX' hack/test.sh
# Other packages:        PKGS=./felix/... hack/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=hack/lib.sh
. hack/lib.sh

test_env_up

# Files tests keep for people to look at (the console's screenshot, ...).
export CALICO_TEST_ARTIFACTS=${CALICO_TEST_ARTIFACTS:-$PWD/build/test-artifacts}
mkdir -p "$CALICO_TEST_ARTIFACTS"
echo "test artifacts: $CALICO_TEST_ARTIFACTS" >&2

pkgs=${PKGS:-./...}
status=0

# Workload veths the run leaves in the host namespace: the host ends
# (cali*) and unjoined container ends (tmp*) that were not there before.
# Every test must remove what it made; a leftover fails the run.
workload_links() {
	ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | grep -E '^(cali|tmp)' | sort || true
}
links_before=$(workload_links)
echo "== go vet $pkgs" >&2
# shellcheck disable=SC2086
go vet $pkgs || status=1

# Compile (and link) every test binary in parallel without running any:
# -exec /bin/true stands in for each binary. Errors show up again below.
# shellcheck disable=SC2086
go test -count=1 -exec /bin/true $pkgs >/dev/null 2>&1 || true

echo "== go test -p 1 $pkgs" >&2
# shellcheck disable=SC2086
go test -count=1 -timeout "${TEST_TIMEOUT:-25m}" -p 1 ${GOTESTFLAGS:-} $pkgs || status=1
left=$(comm -13 <(printf '%s\n' "$links_before") <(workload_links) | grep -v '^$' || true)
if [[ -n $left ]]; then
	echo "== FAIL: the run left workload links in the host namespace (not there before it):" >&2
	printf '   %s\n' $left >&2
	status=1
fi
if [[ $status -ne 0 ]]; then
	log=${CALICO_TEST_STATE_DIR:-/run/calico-test}/dockerd.log
	echo "== FAIL; last lines of $log" >&2
	tail -n 20 "$log" >&2 || true
fi
exit $status
