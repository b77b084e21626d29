// Package flowlogs is the kernel side of flow logs: it reads the packets
// felix's verdict rules log to an NFLOG group (the first packet of each
// connection, with the deciding rule's identifier as prefix; see
// felix/rules/nflog.go) and conntrack's packet and byte counters, both
// inside one network namespace. It only reads: no kernel state changes.
// A packet logged on the netdev egress hook (the nftables dataplane's
// egress mode) starts at its Ethernet header, which the lower-case first
// letter of its prefix says (ParsePacket).
// Aggregation (package flows) knows nothing of the kernel.
package flowlogs
