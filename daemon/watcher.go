package daemon

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/felix"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// dataplane is what the watcher drives (*felix.Dataplane).
type dataplane interface {
	OnEndpointUpdate(felix.Endpoint)
	OnEndpointRemove(id string)
	SetLocalBlocks([]netip.Prefix)
}

// blockLister lists the IPAM blocks a node has affinity for (*ipam.Allocator).
type blockLister interface {
	AffineBlocks(ctx context.Context, node string) ([]netip.Prefix, error)
}

// watcher feeds the dataplane this node's WorkloadEndpoints (from a
// datastore list+watch) and its affine IPAM blocks. It is the only path
// from the datastore to the kernel: the driver's handlers only write the
// datastore (and make veths).
type watcher struct {
	node   string
	store  *datastore.Store
	blocks blockLister
	dp     dataplane
	resync time.Duration
	log    *slog.Logger

	known map[string]bool // endpoint IDs given to the dataplane
	kick  chan struct{}   // asks for a refresh of the blocks; buffer 1
}

func newWatcher(node string, s *datastore.Store, b blockLister, dp dataplane, resync time.Duration, log *slog.Logger) *watcher {
	return &watcher{node: node, store: s, blocks: b, dp: dp, resync: resync, log: log.With("component", "watcher"),
		known: map[string]bool{}, kick: make(chan struct{}, 1)}
}

// prime loads the current endpoints and blocks once, so the dataplane's
// first apply (a full resync that deletes routes nobody wants) already
// knows every running workload: a restart must not cut them off.
func (w *watcher) prime(ctx context.Context) error {
	weps, _, err := datastore.ListAs[*resources.WorkloadEndpoint](ctx, w.store, "")
	if err != nil {
		return err
	}
	var ups []datastore.Update
	for _, wep := range weps {
		ups = append(ups, datastore.Update{Kind: resources.KindWorkloadEndpoint, Namespace: wep.Namespace, Name: wep.Name, Object: wep})
	}
	w.apply(datastore.SyncEvent{Full: true, Updates: ups})
	return w.refreshBlocks(ctx)
}

// run watches until ctx ends.
func (w *watcher) run(ctx context.Context) {
	go func() { _ = w.store.Sync(ctx, []string{resources.KindWorkloadEndpoint}, w.apply) }()
	t := time.NewTicker(w.resync)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-w.kick:
		}
		if err := w.refreshBlocks(ctx); err != nil && ctx.Err() == nil {
			w.log.Warn("Could not list this node's IPAM blocks; will retry", "err", err)
		}
	}
}

func (w *watcher) refreshBlocks(ctx context.Context) error {
	blocks, err := w.blocks.AffineBlocks(ctx, w.node)
	if err != nil {
		return err
	}
	w.dp.SetLocalBlocks(blocks)
	return nil
}

// apply hands one sync event to the dataplane. Endpoints are keyed by
// namespace/name; endpoints of other nodes are ignored.
func (w *watcher) apply(ev datastore.SyncEvent) {
	seen := map[string]bool{}
	for _, u := range ev.Updates {
		id := u.Namespace + "/" + u.Name
		wep, _ := u.Object.(*resources.WorkloadEndpoint)
		if wep == nil || wep.Spec.Node != w.node {
			if w.known[id] {
				w.dp.OnEndpointRemove(id)
				delete(w.known, id)
			}
			continue
		}
		w.dp.OnEndpointUpdate(endpointOf(id, wep))
		w.known[id], seen[id] = true, true
	}
	if ev.Full {
		for id := range w.known {
			if !seen[id] {
				w.dp.OnEndpointRemove(id)
				delete(w.known, id)
			}
		}
	}
	select { // new endpoints usually mean a newly claimed block
	case w.kick <- struct{}{}:
	default:
	}
}

func endpointOf(id string, wep *resources.WorkloadEndpoint) felix.Endpoint {
	ep := felix.Endpoint{ID: id, IfaceName: wep.Spec.InterfaceName}
	for _, a := range wep.Addrs() {
		if a.Addr().Is4() {
			ep.IPv4Nets = append(ep.IPv4Nets, a)
		} else {
			ep.IPv6Nets = append(ep.IPv6Nets, a)
		}
	}
	if mac, err := net.ParseMAC(wep.Spec.MAC); err == nil {
		ep.MAC = mac
	}
	return ep
}
