#!/usr/bin/env bash
# run.sh is `make run` after the build: it turns a fresh Debian machine
# into a working Calico node, then runs the daemon in the foreground.
#
#   1. installs what the daemon needs at run time and is missing (iptables,
#      ipset; docker.io when there is no Docker engine; apparmor when the
#      kernel enforces it), through hack/packages.sh like the test set-up;
#   2. makes sure a Docker engine answers on DOCKER_HOST (default
#      unix:///var/run/docker.sock): when none does it starts the
#      distribution's (systemctl start docker, or dockerd in the background
#      when systemd is not PID 1) and says so; it keeps running afterwards;
#   3. execs bin/calico-libnetwork with the given arguments. The daemon
#      checks the host itself and stops, naming the package, if anything
#      is still missing (calicoctl node checksystem runs the same checks).
#
# Usage: hack/run.sh [daemon flags...]   (make run ARGS='--log-level=debug')
set -euo pipefail
cd "$(dirname "$0")/.."
PKG_LOG_PREFIX="make run"
# shellcheck source=hack/packages.sh
. hack/packages.sh

say() { printf 'make run: %s\n' "$*" >&2; }
die() {
	say "$*"
	exit 1
}

[[ $(id -u) -eq 0 ]] || die "the daemon needs root (network namespaces, iptables, /run/docker/plugins); try: sudo make run"
bin=${BIN:-bin}
case $bin in /*) ;; *) bin=./$bin ;; esac
[[ -x $bin/calico-libnetwork ]] || die "$bin/calico-libnetwork is not built; run make build"

docker_host=${DOCKER_HOST:-unix:///var/run/docker.sock}
default_host=unix:///var/run/docker.sock

# engine_version prints the engine's version if one answers on docker_host.
engine_version() {
	command -v docker >/dev/null || return 1
	timeout 10 docker -H "$docker_host" version --format '{{.Server.Version}}' 2>/dev/null
}

packages=(iptables ipset $(apparmor_package))
if ! engine_version >/dev/null; then
	command -v docker >/dev/null && command -v dockerd >/dev/null || packages+=(docker.io)
fi
install_missing "${packages[@]}"

if v=$(engine_version); then
	say "using the Docker engine at $docker_host (version $v)"
else
	if [[ $docker_host != "$default_host" && $docker_host != unix:///run/docker.sock ]]; then
		die "no Docker engine answers at DOCKER_HOST=$docker_host; start that engine, or unset DOCKER_HOST to use this machine's"
	fi
	if [[ $(cat /proc/1/comm 2>/dev/null) == systemd ]] && systemctl cat docker.service >/dev/null 2>&1; then
		say "no Docker engine answered at $docker_host: starting the distribution's (systemctl start docker)"
		systemctl start docker.service
	else
		mkdir -p /var/log/calico
		log=/var/log/calico/dockerd.log
		nohup dockerd >>"$log" 2>&1 </dev/null &
		pid=$!
		say "no Docker engine answered at $docker_host: started the distribution's dockerd" \
			"(pid $pid, log $log); it keeps running after make run ends (stop it with: kill $pid)"
	fi
	for _ in $(seq 60); do
		if v=$(engine_version); then break; fi
		sleep 1
	done
	v=$(engine_version) || die "the Docker engine did not answer within 60s; see its log (journalctl -u docker, or /var/log/calico/dockerd.log)"
	say "Docker engine $v answers at $docker_host"
fi

export DOCKER_HOST=$docker_host
say "starting the daemon: $bin/calico-libnetwork $*"
exec "$bin/calico-libnetwork" "$@"
