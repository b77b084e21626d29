#!/usr/bin/env bash
# plugin.sh builds the Docker managed plugin (`make plugin`):
#
#   1. static binaries (CGO_ENABLED=0) into $BUILD/context/bin/static
#   2. the base image (packaging/base.sh), unless $BASE_IMAGE exists
#   3. the image: Dockerfile, --target image, FROM $BASE_IMAGE
#   4. the plugin rootfs: that image, exported; config.json: plugin.json
#   5. docker plugin create $PLUGIN $BUILD/plugin
#
# Settings (environment): PLUGIN (default calico:latest; its name is the
# driver name for both network and IPAM), IMAGE (calico-libnetwork:latest),
# BASE_IMAGE (calico-libnetwork-base:latest), BUILD (build/), DOCKER_HOST,
# DATAPLANE (iptables, or nftables: the image holds only our binaries, from
# the Dockerfile's image-nftables stage, and the plugin's CALICO_DATAPLANE
# defaults to nftables; for hosts whose Docker uses iptables-nft. With
# iptables it is empty: FelixConfiguration nftablesMode may choose).
# An existing plugin of the same name is an error: disable and remove it
# first (docker plugin disable PLUGIN && docker plugin rm PLUGIN).
set -euo pipefail
cd "$(dirname "$0")/.."

PLUGIN=${PLUGIN:-calico:latest}
IMAGE=${IMAGE:-calico-libnetwork:latest}
BASE_IMAGE=${BASE_IMAGE:-calico-libnetwork-base:latest}
BUILD=${BUILD:-build}
GO=${GO:-go}
log() { printf 'plugin.sh: %s\n' "$*" >&2; }

if docker plugin inspect "$PLUGIN" >/dev/null 2>&1; then
	log "plugin $PLUGIN exists; remove it first: docker plugin disable $PLUGIN; docker plugin rm $PLUGIN"
	exit 1
fi

ctx=$BUILD/context
rm -rf "$ctx" "$BUILD/plugin"
mkdir -p "$ctx/bin/static" "$BUILD/plugin/rootfs"
log "building static binaries"
CGO_ENABLED=0 "$GO" build -trimpath -ldflags=-s -o "$ctx/bin/static/" ./cmd/calico-libnetwork ./cmd/calicoctl

DATAPLANE=${DATAPLANE:-iptables}
case $DATAPLANE in
iptables)
	if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
		bash packaging/base.sh "$BASE_IMAGE"
	fi
	log "building image $IMAGE from $BASE_IMAGE"
	# The legacy builder: dockerd 20.10 needs no BuildKit for this Dockerfile.
	DOCKER_BUILDKIT=0 docker build -q --target image --build-arg "BASE=$BASE_IMAGE" -t "$IMAGE" -f Dockerfile "$ctx" >/dev/null
	;;
nftables)
	log "building image $IMAGE: our binaries only (nftables dataplane)"
	DOCKER_BUILDKIT=0 docker build -q --target image-nftables -t "$IMAGE" -f Dockerfile "$ctx" >/dev/null
	;;
*)
	log "DATAPLANE=$DATAPLANE: use iptables or nftables"
	exit 1
	;;
esac

log "exporting $IMAGE as the plugin's rootfs"
cid=$(docker create "$IMAGE")
trap 'docker rm -f "$cid" >/dev/null 2>&1 || true' EXIT
docker export "$cid" | tar -x -C "$BUILD/plugin/rootfs"
if [[ $DATAPLANE == nftables ]]; then
	sed -E 's/("name": "CALICO_DATAPLANE".*"value": )""/\1"nftables"/' plugin.json >"$BUILD/plugin/config.json"
	grep -q '"CALICO_DATAPLANE".*"value": "nftables"' "$BUILD/plugin/config.json"
else
	cp plugin.json "$BUILD/plugin/config.json"
fi

docker plugin create "$PLUGIN" "$BUILD/plugin" >/dev/null
log "created plugin $PLUGIN (disabled). Next: docker plugin set / docker plugin enable $PLUGIN (see docs/install.md)"
