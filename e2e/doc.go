// Package e2e tests calico-libnetwork end to end on a real Docker engine:
// the daemon binary is built, run as a subprocess with an embedded etcd and
// its sockets in /run/docker/plugins (the only place dockerd looks), and
// driven with the docker CLI against the private engine of
// hack/dockerd.sh (internal/testenv.Docker). Without an engine the tests
// skip, or fail when CALICO_TEST_REQUIRE_DOCKER=1 (make test).
// TestCrossHostDocker adds two more engines, one per host of a multi-host
// bed (internal/testbed, HostConfig.Docker), and joins the hosts by token.
//
// The tests only send traffic to addresses of containers they started, use
// pools that must not overlap the host's routes (checked first), name every
// object with a random suffix and remove exactly what they created.
package e2e
