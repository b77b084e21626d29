// Package datastore stores Calico v3 resources in etcd v3.
//
// Key layout (all under Prefix, "/calico"):
//
//	/calico/resources/v3/projectcalico.org/<plural>/<name>              cluster-scoped kinds
//	/calico/resources/v3/projectcalico.org/<plural>/<namespace>/<name>  namespaced kinds
//	/calico/ipam/v2/...                                                 owned by package ipam
//
// Values are the resource's JSON with metadata.resourceVersion stripped;
// on read, resourceVersion is the key's etcd ModRevision, so an Update
// that carries it is a compare-and-swap (txn If ModRevision == rv).
//
// Reading: the Syncer (syncer.go) is the daemon's one reader of etcd's
// state: one list+watch per key space (resources; IPAM blocks and
// affinities) decoded once into model updates for package cache.
//
// Invariants: every write is validated (Default then Validate) before it
// reaches etcd, so a rejected write leaves etcd unchanged; watches start at
// an explicit revision so a list followed by a watch from its revision
// misses nothing, and a failed watch is followed by a fresh list.
package datastore
