# packages.sh: install missing Debian packages; shared by deps.sh (what the
# tests need) and run.sh (what the daemon needs at run time). Source it,
# do not run it.
#
# install_missing PKG... installs those of the packages that are not
# installed, idempotently: when all are present it only runs dpkg-query.
#
# It never starts system services: while it installs, a policy-rc.d that
# exits 101 is in place (unless one already exists), so the distro's
# docker.service / containerd.service stay down (the tests run a private
# engine; run.sh starts the distribution's engine itself and says so).

pkg_log() { printf '%s: %s\n' "${PKG_LOG_PREFIX:-deps}" "$*" >&2; }

# apparmor_package prints apparmor when the kernel enforces AppArmor:
# dockerd then needs apparmor_parser to load its docker-default profile, or
# containers fail to start.
apparmor_package() {
	if [[ -r /sys/module/apparmor/parameters/enabled ]] &&
		[[ $(cat /sys/module/apparmor/parameters/enabled) == Y* ]]; then
		echo apparmor
	fi
}

install_missing() {
	if [[ $(id -u) -ne 0 ]]; then
		pkg_log "must run as root (installs packages)"
		return 1
	fi
	local missing=() p status
	for p in "$@"; do
		status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
		[[ $status == ii* ]] || missing+=("$p")
	done
	if [[ ${#missing[@]} -eq 0 ]]; then
		return 0
	fi
	local logfile=${TMPDIR:-/tmp}/calico-deps.log
	pkg_log "installing: ${missing[*]} (log: $logfile)"
	local start=$SECONDS

	# Keep services from starting while packages install. PID 1 may or may
	# not be systemd; either way invoke-rc.d and deb-systemd-invoke honour
	# this file.
	local policy=/usr/sbin/policy-rc.d ours_policy=0
	if [[ ! -e $policy ]]; then
		printf '#!/bin/sh\n# installed by calico-libnetwork hack/packages.sh\nexit 101\n' >"$policy"
		chmod 0755 "$policy"
		ours_policy=1
		trap 'rm -f /usr/sbin/policy-rc.d' EXIT # interrupted mid-install
	fi
	local rc=0
	export DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a NEEDRESTART_SUSPEND=1
	local apt_opts=(-q -y -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=300
		-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
	: >"$logfile"
	pkg_try "$logfile" apt-get "${apt_opts[@]}" update &&
		pkg_try "$logfile" apt-get "${apt_opts[@]}" install --no-install-recommends "${missing[@]}" || rc=1
	if [[ $ours_policy -eq 1 ]]; then
		rm -f "$policy"
		trap - EXIT
	fi
	[[ $rc -eq 0 ]] || return 1

	if [[ $(cat /proc/1/comm 2>/dev/null) == systemd ]]; then
		# Installed but not started (policy-rc.d). Keep the units from
		# being socket-activated behind our back.
		systemctl stop docker.socket docker.service containerd.service >/dev/null 2>&1 || true
	fi
	pkg_log "installed ${#missing[@]} package(s) in $((SECONDS - start))s"
}

# pkg_try LOGFILE CMD... runs CMD once more after a pause and a fresh
# package index when it fails (mirrors are sometimes mid-sync).
pkg_try() {
	local logfile=$1
	shift
	if "$@" >>"$logfile" 2>&1; then return 0; fi
	pkg_log "retrying after failure: $*"
	sleep 5
	apt-get -q -y -o DPkg::Lock::Timeout=300 update >>"$logfile" 2>&1 || true
	if "$@" >>"$logfile" 2>&1; then return 0; fi
	pkg_log "failed: $*; last lines of $logfile:"
	tail -n 30 "$logfile" >&2
	return 1
}
