package fleetsim

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// Fleet writes and churns a simulated fleet through one Store.
type Fleet struct {
	cfg   Config
	store *datastore.Store

	mu     sync.Mutex
	loaded int          // hosts [0, loaded) are stored
	absent map[int]bool // endpoint k (host*EndpointsPerHost+i) deleted by churn
	gen    map[int]int  // endpoint k's app label index after churn
}

// New returns a Fleet over store after defaulting and validating cfg.
func New(store *datastore.Store, cfg Config) (*Fleet, error) {
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Fleet{cfg: cfg, store: store, absent: map[int]bool{}, gen: map[int]int{}}, nil
}

// Config returns the defaulted configuration.
func (f *Fleet) Config() Config { return f.cfg }

// Loaded is the number of simulated hosts stored so far.
func (f *Fleet) Loaded() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.loaded
}

// Setup stores the fleet-wide objects: the pool, the profile, the
// policies and, with DisableMesh, the BGPConfiguration. Idempotent.
func (f *Fleet) Setup(ctx context.Context) error {
	objs := []resources.Resource{f.cfg.Pool(), f.cfg.Profile()}
	if f.cfg.DisableMesh {
		objs = append(objs, f.cfg.BGPConfiguration())
	}
	for i := range f.cfg.Policies {
		objs = append(objs, f.cfg.Policy(i))
	}
	for _, o := range objs {
		if _, err := f.store.Apply(ctx, o); err != nil {
			return fmt.Errorf("fleetsim setup: store %s %q: %w", o.GetTypeMeta().Kind, o.Meta().Name, err)
		}
	}
	return nil
}

// LoadTo stores simulated hosts until hosts of them are in etcd (Setup
// first if nothing is loaded yet): per host its Node, its IPAM blocks and
// its endpoints. Hosts are written Concurrency at a time.
func (f *Fleet) LoadTo(ctx context.Context, hosts int) error {
	if hosts > f.cfg.Hosts {
		return fmt.Errorf("fleetsim: load %d hosts: the fleet was configured with Hosts=%d; raise Hosts", hosts, f.cfg.Hosts)
	}
	from := f.Loaded()
	if from == 0 {
		if err := f.Setup(ctx); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan int)
	errs := make(chan error, f.cfg.Concurrency)
	var wg sync.WaitGroup
	for range f.cfg.Concurrency {
		wg.Go(func() {
			for h := range work {
				if err := f.loadHost(ctx, h); err != nil {
					errs <- err
					cancel()
					return
				}
			}
		})
	}
feed:
	for h := from; h < hosts; h++ {
		select {
		case work <- h:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	close(errs)
	if err := errors.Join(collect(errs)...); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("fleetsim: load hosts %d-%d: %w", from, hosts-1, err)
	}
	f.mu.Lock()
	f.loaded = max(f.loaded, hosts)
	f.mu.Unlock()
	return nil
}

func collect(ch <-chan error) []error {
	var out []error
	for e := range ch {
		out = append(out, e)
	}
	return out
}

// loadHost writes one simulated host: Node, blocks, endpoints.
func (f *Fleet) loadHost(ctx context.Context, h int) error {
	if err := f.put(ctx, f.cfg.Node(h)); err != nil {
		return err
	}
	if err := f.cfg.writeBlocks(ctx, f.store, h); err != nil {
		return err
	}
	for i := range f.cfg.EndpointsPerHost {
		if err := f.put(ctx, f.cfg.Endpoint(h, i, f.cfg.defaultApp(h, i))); err != nil {
			return err
		}
	}
	return nil
}

// put creates r, or leaves it when it exists already (re-runs are no-ops).
func (f *Fleet) put(ctx context.Context, r resources.Resource) error {
	_, err := f.store.Create(ctx, r)
	if err != nil && !errors.Is(err, datastore.ErrAlreadyExists) {
		return fmt.Errorf("fleetsim: store %s %q: %w", r.GetTypeMeta().Kind, r.Meta().Name, err)
	}
	return nil
}
