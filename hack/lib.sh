# lib.sh: shared by test.sh and bench.sh; source it, do not run it.
#
# test_env_up installs missing packages, makes sure the private Docker engine
# is up, exports its settings (DOCKER_HOST, CALICO_TEST_IMAGE, ...) and turns
# missing prerequisites into test failures. If it had to start the engine it
# also stops it on exit, whatever the exit; an engine somebody started
# before (`hack/dockerd.sh up`) is reused and left running.
# CALICO_TEST_KEEP_ENGINE=1 leaves a freshly started engine running too.

HACK=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

test_env_up() {
	if [[ $(id -u) -ne 0 ]]; then
		echo "$(basename "$0"): the tests need root (network namespaces, iptables, dockerd); try sudo" >&2
		exit 1
	fi
	# One test run at a time on a machine: the tests share host-global
	# state (see test.sh). Parallel worktrees queue here.
	exec 9>"${CALICO_TEST_LOCK:-/tmp/calico-test.lock}"
	flock 9
	local t0=$SECONDS
	bash "$HACK/deps.sh"
	if bash "$HACK/dockerd.sh" status >/dev/null 2>&1; then
		echo "test env: reusing the running test engine (stop it with hack/dockerd.sh down)" >&2
	else
		if [[ ${CALICO_TEST_KEEP_ENGINE:-0} != 1 ]]; then
			trap 'rc=$?; bash "$HACK/dockerd.sh" down || { [[ $rc -ne 0 ]] || rc=1; }; exit $rc' EXIT
		fi
		trap 'exit 130' INT
		trap 'exit 143' TERM
		bash "$HACK/dockerd.sh" up 9>&-
	fi
	set -a
	# shellcheck disable=SC1091
	. "${CALICO_TEST_STATE_DIR:-/run/calico-test}/env"
	set +a
	export CALICO_TEST_REQUIRE_ROOT=1 CALICO_TEST_REQUIRE_DOCKER=1 CALICO_TEST_REQUIRE_TOOLS=1
	echo "test env: ready in $((SECONDS - t0))s (dockerd $CALICO_TEST_DOCKER_VERSION," \
		"storage $CALICO_TEST_STORAGE_DRIVER, iptables $CALICO_TEST_IPTABLES_BACKEND)" >&2
}
