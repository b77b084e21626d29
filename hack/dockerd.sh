#!/usr/bin/env bash
# dockerd.sh runs a private Docker engine for the tests.
#
#   hack/dockerd.sh up     start it (idempotent), import the test image and
#                          write /run/calico-test/env
#   hack/dockerd.sh down   stop it, remove its containers, mounts and state
#   hack/dockerd.sh status
#
# Isolation: the engine has its own data root, exec root, API socket, pid
# file, daemon.json and its own containerd (started here, with its own root,
# state dir, socket and namespace) so it neither uses nor disturbs another
# engine or a system containerd. dockerd 20.10 would otherwise reuse
# /run/containerd/containerd.sock whenever that socket exists. Shared with
# the host, by design or because dockerd hard-codes them:
#   - /run/docker/plugins/*.sock: plugin discovery (our daemon's sockets go
#     there; that is how this engine finds the calico drivers);
#   - the docker0 bridge and dockerd's iptables chains (DOCKER,
#     DOCKER-USER, DOCKER-ISOLATION-STAGE-*, nat MASQUERADE for docker0);
#   - net.ipv4.ip_forward, which dockerd turns on, and then (only when it
#     had to turn it on) the filter FORWARD policy, which it sets to DROP:
#     the dataplane must ACCEPT workload traffic in FORWARD explicitly;
#   - net.bridge.bridge-nf-call-ip{,6}tables, which dockerd sets to 1.
#   `down` undoes these, each only if `up` found it otherwise.
#
# iptables backend: Debian 12 selects iptables-nft through update-alternatives
# (`iptables -V` says "(nf_tables)"); dockerd 20.10 execs `iptables` from
# PATH, so its rules live in nf_tables. The dataplane must use the same
# binaries (plain `iptables`/`iptables-restore` from PATH, not *-legacy),
# or its rules and dockerd's end up in two tables that both filter packets.
# `up` records the backend in $STATE/env as CALICO_TEST_IPTABLES_BACKEND.
#
# Storage driver: overlay2 when an overlay mount works on the data root's
# file system, else vfs; override with CALICO_TEST_STORAGE_DRIVER.
set -euo pipefail

# A second, independent engine (say, while another run uses the first) can
# be had with other roots and a private default bridge, which `up` creates
# (address CALICO_TEST_DOCKER_BRIDGE_CIDR, default 172.31.254.1/24) and
# `down` deletes:
#   CALICO_TEST_STATE_DIR=/run/calico-test2 CALICO_TEST_DATA_DIR=/var/lib/calico-test2 \
#   CALICO_TEST_DOCKER_BRIDGE=calt-docker1 hack/dockerd.sh up
# Never use --bridge=none for that: dockerd then deletes docker0, which
# belongs to the other engine.
STATE=${CALICO_TEST_STATE_DIR:-/run/calico-test}
DATA=${CALICO_TEST_DATA_DIR:-/var/lib/calico-test}
SOCK=$STATE/docker.sock
PIDFILE=$STATE/dockerd.pid
CTRD_DIR=$STATE/containerd
CTRD_SOCK=$CTRD_DIR/containerd.sock
CTRD_PIDFILE=$STATE/containerd.pid
ENVFILE=$STATE/env
PRESTATE=$STATE/host-before-up
IMAGE=${CALICO_TEST_IMAGE:-calico-test/busybox:latest}
export DOCKER_HOST=unix://$SOCK

log() { printf 'dockerd.sh: %s\n' "$*" >&2; }
die() {
	log "$*"
	exit 1
}
alive() { [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null; }
# alive_as is alive, and the process is $2 (guards against reused pids).
alive_as() { alive "${1:-}" && [[ $(cat "/proc/$1/comm" 2>/dev/null) == "$2" ]]; }
pid_of() { [[ -r $1 ]] && cat "$1" || true; }
engine_answers() { timeout 5 docker info --format '{{.ServerVersion}}' >/dev/null 2>&1; }

# wait_for tries "$@" every 0.1 s for up to $1 seconds.
wait_for() {
	local secs=$1
	shift
	local deadline=$((SECONDS + secs))
	until "$@"; do
		((SECONDS < deadline)) || return 1
		sleep 0.1
	done
}

# stop_pid sends TERM, waits up to $2 s, then KILLs.
stop_pid() {
	local pid=$1 secs=$2
	alive "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null || true
	if ! wait_for "$secs" eval "! kill -0 $pid 2>/dev/null"; then
		log "pid $pid ignored TERM for ${secs}s; killing"
		kill -KILL "$pid" 2>/dev/null || true
		wait_for 5 eval "! kill -0 $pid 2>/dev/null" || true
	fi
}

iptables_backend() {
	case $(iptables -V 2>/dev/null) in
	*nf_tables*) echo nft ;;
	*legacy*) echo legacy ;;
	*) echo unknown ;;
	esac
}

pick_storage_driver() {
	if [[ -n ${CALICO_TEST_STORAGE_DRIVER:-} ]]; then
		echo "$CALICO_TEST_STORAGE_DRIVER"
		return
	fi
	local probe=$DATA/overlay-probe
	rm -rf "$probe"
	mkdir -p "$probe"/{lower,upper,work,merged}
	if mount -t overlay overlay -o "lowerdir=$probe/lower,upperdir=$probe/upper,workdir=$probe/work" \
		"$probe/merged" 2>/dev/null; then
		umount "$probe/merged"
		rm -rf "$probe"
		echo overlay2
	else
		rm -rf "$probe"
		echo vfs
	fi
}

# Kernel settings dockerd changes (forwarding on, bridged traffic through
# iptables); `down` puts back what it found.
SYSCTLS="/proc/sys/net/ipv4/ip_forward /proc/sys/net/bridge/bridge-nf-call-iptables /proc/sys/net/bridge/bridge-nf-call-ip6tables"

# record_host_state notes what dockerd is about to change, so `down` only
# undoes what this engine created.
record_host_state() {
	[[ -e $PRESTATE ]] && return 0
	{
		echo "forward_policy=$(iptables -S FORWARD 2>/dev/null | awk '$1=="-P"{print $3}')"
		if iptables -t filter -S DOCKER >/dev/null 2>&1; then echo docker_chains=1; else echo docker_chains=0; fi
		if ip link show docker0 >/dev/null 2>&1; then echo docker0=1; else echo docker0=0; fi
		local f
		for f in $SYSCTLS; do
			[[ -r $f ]] && echo "sysctl_$(basename "$f" | tr -c 'a-z0-9\n' _)=$(cat "$f")"
		done
	} >"$PRESTATE"
}

# ensure_private_bridge creates CALICO_TEST_DOCKER_BRIDGE when it is set
# (see the top of this file) and remembers to delete it in `down`.
ensure_private_bridge() {
	local br=${CALICO_TEST_DOCKER_BRIDGE:-}
	case $br in
	"" | docker0) return 0 ;;
	none) die "CALICO_TEST_DOCKER_BRIDGE=none would make dockerd delete docker0; name a bridge instead" ;;
	esac
	ip link show "$br" >/dev/null 2>&1 && return 0
	ip link add "$br" type bridge
	echo "$br" >"$STATE/private-bridge"
	ip addr add "${CALICO_TEST_DOCKER_BRIDGE_CIDR:-172.31.254.1/24}" dev "$br"
	ip link set "$br" up
}

start_containerd() {
	local pid
	pid=$(pid_of "$CTRD_PIDFILE")
	if alive_as "$pid" containerd && [[ -S $CTRD_SOCK ]]; then return 0; fi
	rm -f "$CTRD_SOCK"
	mkdir -p "$CTRD_DIR" "$DATA/containerd"
	cat >"$STATE/containerd.toml" <<-EOF
		version = 2
		root = "$DATA/containerd"
		state = "$CTRD_DIR"
		disabled_plugins = ["io.containerd.grpc.v1.cri"]
		[grpc]
		  address = "$CTRD_SOCK"
		[ttrpc]
		  address = "$CTRD_DIR/containerd.sock.ttrpc"
		[debug]
		  address = "$CTRD_DIR/containerd-debug.sock"
		  level = "warn"
		[metrics]
		  address = ""
	EOF
	# setsid: a Ctrl-C in the terminal must not kill the engine before the
	# caller's trap has run `down`. setsid does not fork here (a
	# non-interactive shell's background job is no group leader), so $! is
	# containerd itself; alive_as checks that.
	setsid containerd --config "$STATE/containerd.toml" >>"$STATE/containerd.log" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$CTRD_PIDFILE"
	wait_for 20 eval "test -S $CTRD_SOCK || ! kill -0 $pid 2>/dev/null" || true
	if [[ ! -S $CTRD_SOCK ]] || ! alive_as "$pid" containerd; then
		tail -n 20 "$STATE/containerd.log" >&2
		die "containerd did not create $CTRD_SOCK within 20s"
	fi
}

start_dockerd() {
	local driver=$1
	echo '{}' >"$STATE/daemon.json"
	setsid dockerd \
		--config-file "$STATE/daemon.json" \
		--data-root "$DATA/docker" \
		--exec-root "$STATE/docker-exec" \
		--pidfile "$PIDFILE" \
		-H "unix://$SOCK" \
		--containerd "$CTRD_SOCK" \
		--containerd-namespace calico-test \
		--containerd-plugins-namespace calico-test-plugins \
		--storage-driver "$driver" \
		${CALICO_TEST_DOCKER_BRIDGE:+--bridge "$CALICO_TEST_DOCKER_BRIDGE"} \
		--log-level warn \
		>>"$STATE/dockerd.log" 2>&1 </dev/null &
	# dockerd writes $PIDFILE itself (and refuses to start if it names a
	# live process), so only remember $! here.
	local pid=$!
	# Stop waiting as soon as dockerd answers or dies.
	wait_for 60 eval "engine_answers || ! kill -0 $pid 2>/dev/null" || true
	if engine_answers; then return 0; fi
	log "dockerd ($driver) exited or did not answer within 60s; last log lines:"
	tail -n 20 "$STATE/dockerd.log" >&2
	stop_pid "$pid" 20
	rm -f "$PIDFILE"
	return 1
}

# build_image imports a registry-free image: Debian's static busybox plus a
# symlink per applet (sh, ping, ip, wget, nc, httpd, sleep, ...).
build_image() {
	if docker image inspect "$IMAGE" >/dev/null 2>&1; then return 0; fi
	local bb root
	bb=$(dpkg -L busybox-static 2>/dev/null | grep -m1 '/bin/busybox$' || true)
	[[ -x $bb ]] || die "busybox-static is not installed (run hack/deps.sh)"
	root=$(mktemp -d "${TMPDIR:-/tmp}/calico-test-rootfs.XXXXXX")
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,proc,sys,dev,var/www}
	chmod 1777 "$root/tmp"
	cp "$bb" "$root/bin/busybox"
	local applet
	while read -r applet; do
		[[ -e $root/$applet || -L $root/$applet ]] || ln -s /bin/busybox "$root/$applet"
	done < <("$root/bin/busybox" --list-full)
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
	tar -C "$root" -c . | docker import \
		-c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin:/sbin:/usr/bin:/usr/sbin' \
		-m 'calico-libnetwork test image (busybox-static)' - "$IMAGE" >/dev/null
	rm -rf "$root"
}

write_env() {
	local tmp=$ENVFILE.tmp
	{
		echo "DOCKER_HOST=unix://$SOCK"
		echo "CALICO_TEST_IMAGE=$IMAGE"
		echo "CALICO_TEST_STORAGE_DRIVER=$(docker info --format '{{.Driver}}')"
		echo "CALICO_TEST_IPTABLES_BACKEND=$(iptables_backend)"
		echo "CALICO_TEST_DOCKER_VERSION=$(docker version --format '{{.Server.Version}}')"
		echo "CALICO_TEST_DOCKER_BRIDGE=${CALICO_TEST_DOCKER_BRIDGE:-docker0}"
	} >"$tmp"
	mv "$tmp" "$ENVFILE"
}

up() {
	[[ $(id -u) -eq 0 ]] || die "must run as root"
	local need
	for need in dockerd containerd docker iptables busybox; do
		command -v "$need" >/dev/null || die "$need not found; run hack/deps.sh"
	done
	local start=$SECONDS pid
	pid=$(pid_of "$PIDFILE")
	if alive_as "$pid" dockerd; then
		if engine_answers; then
			build_image
			write_env
			log "already up ($DOCKER_HOST)"
			return 0
		fi
		log "dockerd (pid $pid) does not answer; restarting it"
		down
	fi
	rm -f "$PIDFILE"
	mkdir -p "$STATE" "$DATA"
	record_host_state
	ensure_private_bridge
	start_containerd
	local driver drivers started=0
	drivers=$(pick_storage_driver)
	[[ $drivers == vfs ]] || drivers+=" vfs"
	for driver in $drivers; do
		if start_dockerd "$driver"; then
			started=1
			break
		fi
		log "storage driver $driver failed; trying the next one"
	done
	[[ $started -eq 1 ]] || {
		down
		die "could not start dockerd; see $STATE/dockerd.log"
	}
	build_image
	write_env
	log "up in $((SECONDS - start))s: $DOCKER_HOST, dockerd $(docker version --format '{{.Server.Version}}')," \
		"storage $(docker info --format '{{.Driver}}'), iptables $(iptables_backend)"
}

# our_mounts lists mount points under our roots, deepest first.
our_mounts() {
	awk -v a="$DATA" -v b="$STATE" '
		{ mp = $5; gsub(/\\040/, " ", mp) }
		index(mp, a "/") == 1 || mp == a || index(mp, b "/") == 1 || mp == b { print mp }
	' /proc/self/mountinfo | sort -r -u
}

# kill_shims stops containerd-shim processes that belong to our containerd
# (matched on our socket path in their command line, never by name alone).
kill_shims() {
	local p
	for p in /proc/[0-9]*; do
		[[ -r $p/cmdline ]] || continue
		if tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -q -- "-address $CTRD_SOCK"; then
			stop_pid "${p#/proc/}" 5
		fi
	done
}

# undo_host_changes reverts what dockerd did to the host, but only what it
# created (see record_host_state).
undo_host_changes() {
	[[ -r $PRESTATE ]] || return 0
	local forward_policy="" docker_chains=1 docker0=1
	# shellcheck disable=SC1090
	. "$PRESTATE"
	if [[ $docker_chains == 0 ]]; then
		local table rule chain
		for table in filter nat; do
			iptables -t "$table" -S 2>/dev/null | grep -E '^-A ' | grep -v -E '^-A DOCKER' |
				grep -E -- '-j DOCKER|docker0' | while read -r rule; do
				eval "iptables -t $table -D ${rule#-A }" || true
			done
			for chain in $(iptables -t "$table" -S 2>/dev/null | awk '$1=="-N" && $2 ~ /^DOCKER/ {print $2}'); do
				iptables -t "$table" -F "$chain" || true
			done
			for chain in $(iptables -t "$table" -S 2>/dev/null | awk '$1=="-N" && $2 ~ /^DOCKER/ {print $2}'); do
				iptables -t "$table" -X "$chain" || true
			done
		done
	fi
	if [[ -n $forward_policy ]]; then
		iptables -P FORWARD "$forward_policy" || true
	fi
	local f var
	for f in $SYSCTLS; do
		var=sysctl_$(basename "$f" | tr -c 'a-z0-9\n' _)
		if [[ -n ${!var:-} && -w $f ]]; then echo "${!var}" >"$f" || true; fi
	done
	if [[ $docker0 == 0 ]] && ip link show docker0 >/dev/null 2>&1; then
		ip link delete docker0 || true
	fi
	rm -f "$PRESTATE"
}

down() {
	local pid mp
	pid=$(pid_of "$PIDFILE")
	if alive_as "$pid" dockerd; then
		if engine_answers; then
			local ids
			ids=$(timeout 30 docker ps -aq 2>/dev/null || true)
			if [[ -n $ids ]]; then
				# shellcheck disable=SC2086
				timeout 60 docker rm -f $ids >/dev/null 2>&1 || log "could not remove containers: $ids"
			fi
			# Drop networks the tests left (their bridges and iptables
			# rules); networks of a driver that is gone stay, and go with
			# the data root below.
			timeout 60 docker network prune -f >/dev/null 2>&1 || true
		fi
		stop_pid "$pid" 30
	fi
	kill_shims
	pid=$(pid_of "$CTRD_PIDFILE")
	if alive_as "$pid" containerd; then stop_pid "$pid" 20; fi
	rm -f "$PIDFILE" "$CTRD_PIDFILE" "$ENVFILE"
	for mp in $(our_mounts); do
		umount "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null || log "could not unmount $mp"
	done
	undo_host_changes
	if [[ -r $STATE/private-bridge ]]; then
		ip link delete "$(cat "$STATE/private-bridge")" 2>/dev/null || true
		rm -f "$STATE/private-bridge"
	fi
	if [[ -n $(our_mounts) ]]; then
		log "mounts remain under $DATA or $STATE; not deleting them:"
		our_mounts >&2
		return 1
	fi
	if [[ ${CALICO_TEST_KEEP_DATA:-0} != 1 ]]; then
		rm -rf "$DATA" "$STATE/docker-exec" "$CTRD_DIR"
	fi
	log "down"
}

status() {
	if alive_as "$(pid_of "$PIDFILE")" dockerd && engine_answers; then
		echo "up: $DOCKER_HOST"
		[[ -r $ENVFILE ]] && cat "$ENVFILE"
	else
		echo "down"
		return 1
	fi
}

case ${1:-} in
up)
	# A failed `up` leaves nothing running behind it.
	trap 'rc=$?; if [[ $rc -ne 0 ]]; then log "up failed; tearing down"; down || true; fi; exit $rc' EXIT
	up
	;;
down) down ;;
status) status ;;
*)
	echo "usage: $0 up|down|status" >&2
	exit 2
	;;
esac
