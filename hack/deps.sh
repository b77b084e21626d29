#!/usr/bin/env bash
# deps.sh installs, from Debian packages, whatever the test suite needs and
# the machine lacks (hack/packages.sh does the installing, shared with
# hack/run.sh). It is idempotent: when everything is present it only runs
# one dpkg-query and exits. It never starts system services.
#
# Usage: hack/deps.sh [extra-package...]
set -euo pipefail
# shellcheck source=hack/packages.sh
. "$(dirname "${BASH_SOURCE[0]}")/packages.sh"

# Packages the suite needs. Tools and what provides them:
#   dockerd, docker      docker.io (pulls containerd, runc, tini)
#   etcd / etcdctl       etcd-server / etcd-client (tests use embedded etcd;
#                        the binaries are for manual runs and cross-checks)
#   bird / birdc         bird2 (BGP peer for route-exchange tests)
#   ip, iptables, ipset, conntrack, modprobe (kmod), ping (iputils-ping)
#   busybox-static       the static busybox the test image is built from
#   make                 CI images with only Go have no make
#   procps               ps/pgrep, used when tearing down
#   chromium             /usr/bin/chromium, the browser of the console's
#                        browser test (driven by playwright-core from npm;
#                        node and npm themselves come with the machine)
packages=(
	docker.io etcd-server etcd-client bird2 iproute2 iptables ipset
	busybox-static conntrack kmod iputils-ping make procps chromium
	$(apparmor_package)
)
install_missing "${packages[@]}" "$@"
