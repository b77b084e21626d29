// Package ipam allocates workload addresses from Calico IP pools using
// Calico's block design, with its state in etcd. It knows nothing of
// Docker: package ipamdriver adapts it to the libnetwork IPAM protocol.
//
// # Design
//
// Each IPPool (read through package datastore) is cut into blocks of
// spec.blockSize (default /26 for IPv4, /122 for IPv6). A node claims a
// block by creating its record with affinity to itself, in one
// create-if-absent transaction, so two nodes never own one block. It then
// allocates from its own blocks; it claims a new block only when its
// blocks are full, and borrows a free address from another node's block
// only when the pool has no unclaimed block left. Disabled pools and pools
// whose spec.nodeSelector does not select the node (labels of the Node
// resource) are never allocated from.
//
// Every allocation is one etcd transaction: a compare-and-swap on the
// block's mod revision (and on the mod revision of the pool it belongs
// to) that writes the block and the handle records of the new addresses
// together. An Allocator caches the blocks and the pools it has read, so
// the common case costs exactly that one round trip; a stale cache only
// costs a retry, because a failed transaction returns the block's current
// value, and a changed (e.g. just disabled) pool fails the transaction.
// The pool list is re-read after 10s, or at once when it cannot serve a
// request (a new pool, a restricted pool it does not know). A negative
// answer (address in use, address not allocated) read from the cache is
// always confirmed against etcd before it is returned. When this node's
// blocks look full, their revisions are re-read (one cheap round trip) in
// case another process freed addresses in them, before a block is claimed.
//
// The allocator holds no etcd client: every call goes through package
// datastore's one compare-and-swap path (Commit, GetKey, GetKeys,
// ListKeys), each under its own deadline (etcd.go), so a request fails in
// a few seconds with ErrUnavailable when etcd does not answer. A block
// write whose answer is lost is read back and, if it has not applied,
// fenced before it is retried (resolve.go); releases etcd does not answer
// are kept as durable intents and applied later (intents.go). The pool
// rules (no overlap, fixed CIDR and block size, delete only when empty,
// with its blocks) are in poolrules.go.
//
// IPReservations (reservations.go) are never handed out: AutoAssign
// passes over reserved addresses and never claims a block they cover
// whole; AssignIP refuses a reserved address with ErrReserved naming the
// reservation. They are read at every assignment, from the daemon's cache
// (UseReservations) or with one etcd list.
//
// A transaction carries at most 98 addresses (etcd's default limit is 128
// operations), so a larger request takes several.
//
// Speed: BenchmarkAutoAssignVsRaw interleaves allocations with the bare
// transaction they make; on a loaded 2-core VM allocations ran at about
// 0.8-0.95 of the raw rate, with and without fsync.
//
// Every address is recorded against a handle (the endpoint that owns it)
// with attributes: "node" and "timestamp" (RFC 3339) are always set, the
// caller may add more. Blocks (with per-address handle and attributes),
// affinities and handles can all be listed, for calicoctl ipam show/check
// and a garbage collector.
//
// # Key layout (etcd v3, as Calico's where sensible)
//
//	/calico/ipam/v2/assignment/ipv4/block/<a.b.c.d-26>   block record (JSON below)
//	/calico/ipam/v2/assignment/ipv6/block/<x:y::-122>
//	/calico/ipam/v2/host/<node>/ipv4/block/<a.b.c.d-26>   affinity: {"state":"confirmed","deleted":false}
//	/calico/ipam/v2/host/<node>/ipv6/block/<x:y::-122>
//	/calico/ipam/v2/handle/<handle>/<ip>                  {"block":"a.b.c.d/26"}
//
// The block record is Calico's AllocationBlock:
//
//	{"cidr":"10.0.0.0/26","affinity":"host:node1","strictAffinity":false,
//	 "allocations":[0,null,...],   per address: index into attributes, or null when free
//	 "unallocated":[1,2,...],      free ordinals, in the order they will be handed out
//	 "attributes":[{"handle_id":"ep1","secondary":{"node":"node1","timestamp":"..."}}],
//	 "deleted":false}
//
// Calico keeps one key per handle holding per-block counts; here a handle
// is a key prefix with one key per address instead, so recording an
// allocation is a blind write in the block's transaction (no read of the
// handle, no contention on it). Handles and node names therefore may not
// contain '/' or white space.
//
// # Decisions
//
//   - Freed addresses go to the back of the free list, so a just-released
//     address is the last to be reused (as Calico).
//   - An empty block keeps its affinity (as Calico): the node reuses it
//     next; releasing affinities of empty blocks is left to a GC/calicoctl.
//   - Every address of a block is allocatable, network and broadcast
//     addresses of the pool included: workloads get /32 and /128 routes.
//   - A release of an address that is not allocated changes nothing and is
//     reported (ReleaseIPs returns it; ReleaseByHandle wraps
//     ErrHandleNotFound), never fatal.
//   - AutoAssign is all or nothing: if part of a request cannot be met,
//     what it had assigned is released again.
//   - The mutating operations of one Allocator run one at a time: the
//     node's requests all compete for the same block, so running them in
//     parallel would only add compare-and-swap conflicts.
package ipam
