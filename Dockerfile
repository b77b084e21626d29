# calico-libnetwork container image: the daemon and calicoctl on a minimal
# base holding only the tools the daemon runs (iptables/ip6tables, nft and
# legacy, and ipset). The managed plugin's rootfs is this image, exported
# (make plugin), so both hold exactly the same files.
#
# No registry is needed. The base is built locally by packaging/base.sh
# (docker import of the host's iptables/ipset with their libraries), and
# the binaries come one of two ways:
#
#   prebuilt (no Go image needed): static binaries built on the host into
#   bin/static/ of the build context (make plugin does all this in build/):
#     CGO_ENABLED=0 go build -trimpath -o bin/static/ ./cmd/calico-libnetwork ./cmd/calicoctl
#     packaging/base.sh calico-libnetwork-base:latest
#     docker build --target image --build-arg BASE=calico-libnetwork-base:latest -t calico-libnetwork .
#
#   from source, where a Go image is available:
#     docker build --target image-from-source --build-arg GO_IMAGE=golang:1.26-bookworm -t calico-libnetwork .
#
# Name a --target: the legacy builder (dockerd 20.10 without BuildKit)
# builds every stage up to its target, and the compile stage needs
# GO_IMAGE, so the prebuilt image comes first (and, being the first stage,
# leaves no intermediate stage image behind).

ARG BASE=calico-libnetwork-base:latest
ARG GO_IMAGE=golang:1.26-bookworm

# The nftables-mode image (DATAPLANE=nftables make plugin): only our two
# static binaries. With dataplane: nftables the daemon programs nftables
# over netlink and runs no iptables, ipset or nft binary where Docker's
# rules are in iptables-nft; it needs iptables only where Docker uses the
# legacy backend, which this image therefore does not serve (use the image
# above). First, so that building it needs neither BASE nor GO_IMAGE.
FROM scratch AS image-nftables
COPY bin/static/calico-libnetwork bin/static/calicoctl /usr/bin/
ENTRYPOINT ["/usr/bin/calico-libnetwork"]

# The image, from the host's static binaries.
FROM ${BASE} AS image
COPY bin/static/calico-libnetwork bin/static/calicoctl /usr/bin/
ENTRYPOINT ["/usr/bin/calico-libnetwork"]

# Compile in a Go image (optional).
FROM ${GO_IMAGE} AS compile
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags=-s -o /out/ ./cmd/calico-libnetwork ./cmd/calicoctl

# The image, from the compiled binaries.
FROM ${BASE} AS image-from-source
COPY --from=compile /out/calico-libnetwork /out/calicoctl /usr/bin/
ENTRYPOINT ["/usr/bin/calico-libnetwork"]
