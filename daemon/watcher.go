package daemon

import (
	"context"
	"log/slog"
	"net/netip"

	"github.com/calico-docker/calico-libnetwork/cache"
	"github.com/calico-docker/calico-libnetwork/calc"
	"github.com/calico-docker/calico-libnetwork/model"
)

// dataplane is what the watcher drives (*felix.Dataplane in policy mode:
// Config.NodeName and Config.Policy set).
type dataplane interface {
	OnSyncEvent(model.SyncEvent)
	SetLocalBlocks([]netip.Prefix)
}

// watcher feeds the dataplane from the cache: every WorkloadEndpoint,
// Profile, NetworkPolicy, GlobalNetworkPolicy, Tier, HostEndpoint and
// (Global)NetworkSet (calc.Kinds: one Full event, then changes; felix
// picks this node's endpoints and host endpoints and renders their
// policy), and this node's affine IPAM blocks (programmed as
// blackhole routes), re-read from the cache's index whenever one of this
// node's affinities changes. It is the only path from the datastore to
// the kernel: the driver's handlers only write the datastore (and make
// veths).
type watcher struct {
	node  string
	cache *cache.Cache
	dp    dataplane
	log   *slog.Logger
}

func newWatcher(node string, c *cache.Cache, dp dataplane, log *slog.Logger) *watcher {
	return &watcher{node: node, cache: c, dp: dp, log: log.With("component", "watcher")}
}

// prime gives the dataplane this node's blocks before it starts; the
// cache must have synced. Endpoints need no priming: in policy mode felix
// programs nothing until the first Full event (the first thing its
// subscription delivers), so a restart never acts on a partial model and
// never cuts running workloads off.
func (w *watcher) prime() {
	w.dp.SetLocalBlocks(w.cache.BlocksAffineTo(w.node))
}

// run subscribes the dataplane until ctx ends.
func (w *watcher) run(ctx context.Context) {
	stopPolicy := w.cache.Subscribe("felix", calc.Kinds, w.dp.OnSyncEvent)
	defer stopPolicy()
	stopBlocks := w.cache.Subscribe("felix-blocks", []string{model.KindAffinity}, w.onAffinities)
	defer stopBlocks()
	<-ctx.Done()
}

// onAffinities hands felix this node's blocks when its affinities change.
func (w *watcher) onAffinities(ev model.SyncEvent) {
	if ev.Full || w.touchesNode(ev) {
		w.dp.SetLocalBlocks(w.cache.BlocksAffineTo(w.node))
	}
}

func (w *watcher) touchesNode(ev model.SyncEvent) bool {
	for _, u := range ev.Updates {
		if u.Namespace == w.node {
			return true
		}
	}
	return false
}
