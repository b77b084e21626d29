#!/usr/bin/env bash
# base.sh builds the base image of calico-libnetwork's container image and
# managed plugin without any registry: a root file system holding only the
# tools the daemon runs (iptables, ip6tables in both the nft and legacy
# flavours, ipset) with the shared libraries and xtables extensions they
# load, copied from this host's Debian packages, imported with
# `docker import`.
#
# Usage: packaging/base.sh [IMAGE]   (default calico-libnetwork-base:latest)
# Needs: docker (DOCKER_HOST is honoured), the iptables and ipset packages.
set -euo pipefail

image=${1:-calico-libnetwork-base:latest}
log() { printf 'base.sh: %s\n' "$*" >&2; }

for tool in xtables-nft-multi xtables-legacy-multi ipset ldd; do
	command -v "$tool" >/dev/null || { log "$tool not found: apt-get install iptables ipset (hack/deps.sh)"; exit 1; }
done

root=$(mktemp -d "${TMPDIR:-/tmp}/calico-base.XXXXXX")
trap 'rm -rf "$root"' EXIT

# Debian 12 layout: /bin, /sbin, /lib and /lib64 are links into /usr.
mkdir -p "$root"/usr/{bin,sbin,lib,lib64} "$root"/{etc,tmp,proc,sys,dev,root,run/docker/plugins}
mkdir -p "$root"/var/{lib,log}/calico "$root"/var/run
ln -s usr/bin "$root/bin"
ln -s usr/sbin "$root/sbin"
ln -s usr/lib "$root/lib"
ln -s usr/lib64 "$root/lib64"
chmod 1777 "$root/tmp"

# copy_real copies a file to the same path in the root, following links
# so the file lands at its real path and the link is kept too.
copy_real() {
	local f=$1 real
	real=$(readlink -f "$f")
	mkdir -p "$root$(dirname "$real")"
	cp -a "$real" "$root$real"
	if [[ $real != "$f" && ! -e $root$f && ! -L $root$f ]]; then
		mkdir -p "$root$(dirname "$f")"
		ln -s "$real" "$root$f"
	fi
}

# copy_with_libs copies binaries and every library ldd says they load.
copy_with_libs() {
	local f lib
	for f in "$@"; do
		copy_real "$f"
		while read -r lib; do
			[[ -n $lib ]] && copy_real "$lib"
		done < <(ldd "$f" 2>/dev/null | awk '/=> \// { print $3 } /^[ \t]*\/[^ ]+ \(/ { print $1 }')
	done
}

xtables_dir=$(dirname "$(readlink -f "$(dpkg -L iptables | grep -m1 '/xtables/libxt_comment.so$')")")
copy_with_libs "$(command -v xtables-nft-multi)" "$(command -v xtables-legacy-multi)" "$(command -v ipset)" \
	"$xtables_dir"/*.so

# The names the daemon runs, each a link to its multi-call binary (which
# dispatches on its name). Plain iptables is nft, Debian 12's default.
for v in iptables ip6tables; do
	for t in "" -save -restore; do
		ln -s xtables-nft-multi "$root/usr/sbin/$v$t"
		ln -s xtables-nft-multi "$root/usr/sbin/$v-nft$t"
		ln -s xtables-legacy-multi "$root/usr/sbin/$v-legacy$t"
	done
done

# Protocol and service names (iptables -p tcp), CA roots (etcd over https
# with a public CA), and the users root and nobody.
for f in /etc/protocols /etc/services /etc/ssl/certs/ca-certificates.crt; do
	if [[ -r $f ]]; then copy_real "$f"; fi
done
printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"

tar -C "$root" -c . | docker import \
	-c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
	-m "calico-libnetwork base: iptables $(dpkg-query -W -f='${Version}' iptables), ipset $(dpkg-query -W -f='${Version}' ipset)" \
	- "$image" >/dev/null
log "imported $image ($(du -sh "$root" | cut -f1))"
