package model

import (
	"strconv"

	"github.com/calico-docker/calico-libnetwork/resources"
)

// Kinds of the IPAM key space. They are not Calico v3 resources: their
// Updates carry Block or Affinity instead of Object.
const (
	// KindBlock is an IPAM allocation block; Name is its CIDR.
	KindBlock = "IPAMBlock"
	// KindAffinity is a block affinity; Namespace is the node, Name the
	// block's CIDR.
	KindAffinity = "BlockAffinity"
)

// AnnotationSandbox records on a WorkloadEndpoint the sandbox (network
// namespace path) it joined; the driver writes it at Join. The cache
// indexes endpoints by it.
const AnnotationSandbox = "libnetwork.projectcalico.org/sandbox"

// Update is one change to one object. Exactly one of Object, Block and
// Affinity is set, according to Kind, unless the object was deleted.
type Update struct {
	Kind      string
	Namespace string
	Name      string
	// Object is a resource's new value; nil when it was deleted.
	Object resources.Resource
	// Block is a KindBlock's new value; nil when it was deleted.
	Block *Block
	// Affinity is a KindAffinity's new value; nil when it was deleted.
	Affinity *Affinity
	Revision int64
}

// UpdateOf is the update that stores obj as it is.
func UpdateOf(obj resources.Resource) Update {
	m := obj.Meta()
	rev, _ := strconv.ParseInt(m.ResourceVersion, 10, 64)
	return Update{Kind: obj.GetTypeMeta().Kind, Namespace: m.Namespace, Name: m.Name, Object: obj, Revision: rev}
}

// Deleted reports whether the update removes the object.
func (u Update) Deleted() bool { return u.Object == nil && u.Block == nil && u.Affinity == nil }

// Key identifies the object an update is about.
func (u Update) Key() Key { return Key{Kind: u.Kind, Namespace: u.Namespace, Name: u.Name} }

// Key identifies one object across kinds.
type Key struct {
	Kind, Namespace, Name string
}

// SyncEvent is a batch of updates. When Full is true, Updates holds every
// object of Kinds as of Revision and replaces all earlier state of those
// kinds (objects of other kinds are untouched); otherwise Updates are the
// changes since the previous event, in order.
type SyncEvent struct {
	Full     bool
	Kinds    []string // with Full: the kinds the snapshot covers
	Updates  []Update
	Revision int64
}
