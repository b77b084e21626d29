package routing

import (
	"context"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/calico-docker/calico-libnetwork/datastore"
)

// blockPrefix is where package ipam keeps its blocks (see ipam's doc):
// every allocation, release and affinity change writes a block.
const blockPrefix = datastore.Prefix + "/ipam/v2/assignment/"

// followIPAM keeps the model's blocks current: a watch of the block keys
// wakes a re-read (changes coalesce), and a re-read also runs every
// ResyncInterval. It returns when ctx ends.
func (r *Router) followIPAM(ctx context.Context) {
	changed := make(chan struct{}, 1)
	go r.watchBlocks(ctx, changed)
	resync := time.NewTicker(r.cfg.ResyncInterval)
	defer resync.Stop()
	backoff := 100 * time.Millisecond
	for {
		blocks, err := r.cfg.IPAM.Blocks(ctx)
		if err == nil {
			r.mu.Lock()
			r.c.blocks, r.blocksIn = blocks, true
			r.mu.Unlock()
			r.poke()
			backoff = 100 * time.Millisecond
		} else if ctx.Err() == nil {
			r.log.Warn("Could not read IPAM blocks; will retry", "err", err)
			select {
			case changed <- struct{}{}:
			default:
			}
			time.Sleep(backoff)
			backoff = min(2*backoff, 5*time.Second)
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-resync.C:
		}
	}
}

// watchBlocks signals changed on every change of a block key, re-creating
// the watch when it fails.
func (r *Router) watchBlocks(ctx context.Context, changed chan<- struct{}) {
	cli := r.cfg.Store.Client()
	for ctx.Err() == nil {
		wch := cli.Watch(clientv3.WithRequireLeader(ctx), blockPrefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
		for resp := range wch {
			if resp.Err() != nil {
				break
			}
			select {
			case changed <- struct{}{}:
			default:
			}
		}
		select { // the watch ended: re-read, since changes may have been missed
		case changed <- struct{}{}:
		default:
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}
