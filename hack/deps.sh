#!/usr/bin/env bash
# deps.sh installs, from Debian packages, whatever the test suite needs and
# the machine lacks. It is idempotent: when everything is present it only runs
# one dpkg-query and exits.
#
# It never starts system services: while it installs, a policy-rc.d that
# exits 101 is in place (unless one already exists), so the distro's
# docker.service / containerd.service stay down and cannot compete with the
# private engine that hack/dockerd.sh runs.
#
# Usage: hack/deps.sh [extra-package...]
set -euo pipefail

log() { printf 'deps: %s\n' "$*" >&2; }

if [[ $(id -u) -ne 0 ]]; then
	log "must run as root (installs packages)"
	exit 1
fi

# Packages the suite needs. Tools and what provides them:
#   dockerd, docker      docker.io (pulls containerd, runc, tini)
#   etcd / etcdctl       etcd-server / etcd-client (tests use embedded etcd;
#                        the binaries are for manual runs and cross-checks)
#   bird / birdc         bird2 (BGP peer for route-exchange tests)
#   ip, iptables, ipset, conntrack, modprobe (kmod), ping (iputils-ping)
#   busybox-static       the static busybox the test image is built from
#   make                 CI images with only Go have no make
#   procps               ps/pgrep, used when tearing down
packages=(
	docker.io etcd-server etcd-client bird2 iproute2 iptables ipset
	busybox-static conntrack kmod iputils-ping make procps
)
# Kernels with AppArmor enabled need apparmor_parser, or dockerd cannot load
# its docker-default profile and containers fail to start.
if [[ -r /sys/module/apparmor/parameters/enabled ]] &&
	[[ $(cat /sys/module/apparmor/parameters/enabled) == Y* ]]; then
	packages+=(apparmor)
fi
packages+=("$@")

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
	[[ $status == ii* ]] || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
	exit 0
fi

logfile=${TMPDIR:-/tmp}/calico-test-deps.log
log "installing: ${missing[*]} (log: $logfile)"
start=$SECONDS

# Keep services from starting while packages install. PID 1 may or may not
# be systemd; either way invoke-rc.d and deb-systemd-invoke honour this file.
policy=/usr/sbin/policy-rc.d
ours_policy=0
if [[ ! -e $policy ]]; then
	printf '#!/bin/sh\n# installed by calico-libnetwork hack/deps.sh\nexit 101\n' >"$policy"
	chmod 0755 "$policy"
	ours_policy=1
fi
cleanup() { if [[ $ours_policy -eq 1 ]]; then rm -f "$policy"; fi; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a NEEDRESTART_SUSPEND=1
apt_opts=(-q -y -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=300
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

# try runs "$@" once more after a pause and a fresh package index when it
# fails (mirrors are sometimes mid-sync).
try() {
	if "$@" >>"$logfile" 2>&1; then return 0; fi
	log "retrying after failure: $*"
	sleep 5
	apt-get "${apt_opts[@]}" update >>"$logfile" 2>&1 || true
	if "$@" >>"$logfile" 2>&1; then return 0; fi
	log "failed: $*; last lines of $logfile:"
	tail -n 30 "$logfile" >&2
	return 1
}

: >"$logfile"
try apt-get "${apt_opts[@]}" update
try apt-get "${apt_opts[@]}" install --no-install-recommends "${missing[@]}"

if [[ $(cat /proc/1/comm 2>/dev/null) == systemd ]]; then
	# Installed but not started (policy-rc.d). Keep the units from being
	# socket-activated behind our back during the run.
	systemctl stop docker.socket docker.service containerd.service >/dev/null 2>&1 || true
fi
log "installed ${#missing[@]} package(s) in $((SECONDS - start))s"
