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
// Invariants: every write is validated (Default then Validate) before it
// reaches etcd, so a rejected write leaves etcd unchanged; watches start at
// an explicit revision so a List followed by a Watch from its revision
// misses nothing.
package datastore
