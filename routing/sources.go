package routing

import (
	"context"
	"net/netip"

	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// What routing reads and writes, declared here so routing links neither
// etcd nor the datastore: the daemon wires its cache and store in.

// Source is where routing reads the cluster (the daemon's *cache.Cache):
// one Full event with every object of kinds, then the changes in order,
// from one goroutine.
type Source interface {
	Subscribe(name string, kinds []string, fn func(model.SyncEvent)) (cancel func())
}

// NodeStore writes this node's Node (its BGP identity and tunnel
// addresses); *datastore.Store implements it.
type NodeStore interface {
	// ModifyNode reads the Node name, applies change and stores it with
	// compare-and-swap (retrying on conflicts); it returns the Node as
	// stored.
	ModifyNode(ctx context.Context, name string, change func(*resources.Node) error) (*resources.Node, error)
}

// TunnelIPAM allocates the node's tunnel addresses (the daemon adapts
// *ipam.Allocator).
type TunnelIPAM interface {
	// IPsByHandle lists the addresses held by handle, sorted.
	IPsByHandle(ctx context.Context, handle string) ([]netip.Addr, error)
	// ReleaseIPs frees addresses; it returns those that were not allocated.
	ReleaseIPs(ctx context.Context, ips ...netip.Addr) ([]netip.Addr, error)
	// AssignIPv4 allocates one IPv4 address from pools to handle, with
	// attrs recorded on the allocation.
	AssignIPv4(ctx context.Context, handle string, pools []netip.Prefix, attrs map[string]string) (netip.Addr, error)
	// ReleaseHandle frees every address of handle; nil when it holds none.
	ReleaseHandle(ctx context.Context, handle string) error
}
