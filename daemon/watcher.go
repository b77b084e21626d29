package daemon

import (
	"context"
	"log/slog"
	"net/netip"
	"time"

	"github.com/calico-docker/calico-libnetwork/calc"
	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// dataplane is what the watcher drives (*felix.Dataplane in policy mode:
// Config.NodeName and Config.Policy set).
type dataplane interface {
	OnSyncEvent(datastore.SyncEvent)
	SetLocalBlocks([]netip.Prefix)
}

// blockLister lists the IPAM blocks a node has affinity for (*ipam.Allocator).
type blockLister interface {
	AffineBlocks(ctx context.Context, node string) ([]netip.Prefix, error)
}

// watcher feeds the dataplane from the datastore: every WorkloadEndpoint,
// Profile, NetworkPolicy and GlobalNetworkPolicy (calc.Kinds, one list
// then a watch; felix picks this node's endpoints and renders their
// policy), and this node's affine IPAM blocks (programmed as blackhole
// routes). It is the only path from the datastore to the kernel: the
// driver's handlers only write the datastore (and make veths).
type watcher struct {
	node   string
	store  *datastore.Store
	blocks blockLister
	dp     dataplane
	resync time.Duration
	log    *slog.Logger

	kick chan struct{} // asks for a refresh of the blocks; buffer 1
}

func newWatcher(node string, s *datastore.Store, b blockLister, dp dataplane, resync time.Duration, log *slog.Logger) *watcher {
	return &watcher{node: node, store: s, blocks: b, dp: dp, resync: resync, log: log.With("component", "watcher"),
		kick: make(chan struct{}, 1)}
}

// prime gives the dataplane this node's blocks before it starts. Endpoints
// need no priming: in policy mode felix programs nothing until the first
// full sync event (the first thing run delivers), so a restart never acts
// on a partial model and never cuts running workloads off.
func (w *watcher) prime(ctx context.Context) error {
	return w.refreshBlocks(ctx)
}

// run watches until ctx ends.
func (w *watcher) run(ctx context.Context) {
	go func() { _ = w.store.Sync(ctx, calc.Kinds, w.apply) }()
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

// apply hands one sync event to the dataplane and, when it carries a
// local endpoint (which may come with a newly claimed block), refreshes
// the blocks.
func (w *watcher) apply(ev datastore.SyncEvent) {
	w.dp.OnSyncEvent(ev)
	if !ev.Full && !w.touchesLocalEndpoint(ev) {
		return
	}
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

func (w *watcher) touchesLocalEndpoint(ev datastore.SyncEvent) bool {
	for _, u := range ev.Updates {
		if wep, ok := u.Object.(*resources.WorkloadEndpoint); ok && wep.Spec.Node == w.node {
			return true
		}
	}
	return false
}
