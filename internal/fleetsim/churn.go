package fleetsim

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// ChurnStats is what a Churn run did.
type ChurnStats struct {
	Changes  int           // endpoint writes made (deletes + creates)
	Deletes  int           // of which deletes
	Late     int           // changes started more than a second behind schedule
	Duration time.Duration // wall time of the run
}

// Rate is the achieved changes per second.
func (s ChurnStats) Rate() float64 {
	if s.Duration <= 0 {
		return 0
	}
	return float64(s.Changes) / s.Duration.Seconds()
}

// churnWorkers bounds the writes in flight, so one slow write does not
// hold back the schedule.
const churnWorkers = 4

// Churn replays container restarts on the loaded simulated hosts at rate
// changes per second for d (or until ctx ends): each change deletes a
// random endpoint or re-creates a deleted one with the next fleet-app
// label (see pick). It returns when every started change has finished.
func (f *Fleet) Churn(ctx context.Context, rate float64, d time.Duration, seed uint64) (ChurnStats, error) {
	if rate <= 0 || d <= 0 {
		return ChurnStats{}, fmt.Errorf("fleetsim: churn at %v/s for %v: give a positive rate and duration", rate, d)
	}
	hosts := f.Loaded()
	if hosts == 0 {
		return ChurnStats{}, errors.New("fleetsim: churn: no simulated host is loaded; call LoadTo first")
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	rng := rand.New(rand.NewPCG(seed, 1))
	busy := map[int]bool{}
	var mu sync.Mutex // guards busy, st and firstErr
	var st ChurnStats
	var firstErr error
	ticks := make(chan int, churnWorkers)
	var wg sync.WaitGroup
	for range churnWorkers {
		wg.Go(func() {
			for k := range ticks {
				del, err := f.change(ctx, k)
				mu.Lock()
				delete(busy, k)
				switch {
				case err != nil && ctx.Err() == nil && firstErr == nil:
					firstErr = err
				case err == nil:
					st.Changes++
					if del {
						st.Deletes++
					}
				}
				mu.Unlock()
			}
		})
	}
	start := time.Now()
	interval := time.Duration(float64(time.Second) / rate)
	for n := 0; ; n++ {
		due := start.Add(time.Duration(n) * interval)
		if wait := time.Until(due); wait > 0 {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
			}
		} else if -wait > time.Second {
			st.Late++
		}
		if ctx.Err() != nil {
			break
		}
		mu.Lock()
		k := f.pick(rng, hosts, busy)
		busy[k] = true
		mu.Unlock()
		select {
		case ticks <- k:
		case <-ctx.Done():
		}
	}
	close(ticks)
	wg.Wait()
	st.Duration = time.Since(start)
	return st, firstErr
}

// pick chooses the next endpoint to change, not one in busy: half of the
// time a deleted one (to re-create it), else any, so the fleet's size
// stays near its loaded size, as with restarting containers.
func (f *Fleet) pick(rng *rand.Rand, hosts int, busy map[int]bool) int {
	f.mu.Lock()
	var gone []int
	if len(f.absent) > 0 && rng.IntN(2) == 0 {
		for k := range f.absent { // map order is random enough; take a few
			if !busy[k] {
				gone = append(gone, k)
			}
			if len(gone) == 8 {
				break
			}
		}
	}
	f.mu.Unlock()
	if len(gone) > 0 {
		return gone[rng.IntN(len(gone))]
	}
	for {
		if k := rng.IntN(hosts * f.cfg.EndpointsPerHost); !busy[k] {
			return k
		}
	}
}

// change flips endpoint k: delete it if present, else re-create it with
// its next app label. It reports whether it deleted.
func (f *Fleet) change(ctx context.Context, k int) (bool, error) {
	h, i := k/f.cfg.EndpointsPerHost, k%f.cfg.EndpointsPerHost
	f.mu.Lock()
	gone, gen := f.absent[k], f.gen[k]
	f.mu.Unlock()
	if !gone {
		w := f.cfg.Endpoint(h, i, 0)
		_, err := f.store.Delete(ctx, resources.KindWorkloadEndpoint, w.Namespace, w.Name, "")
		if err != nil && !errors.Is(err, datastore.ErrNotFound) {
			return true, fmt.Errorf("fleetsim churn: delete endpoint %s: %w", w.Name, err)
		}
		f.mu.Lock()
		f.absent[k] = true
		f.mu.Unlock()
		return true, nil
	}
	gen++
	w := f.cfg.Endpoint(h, i, f.cfg.defaultApp(h, i)+gen)
	if _, err := f.store.Create(ctx, w); err != nil && !errors.Is(err, datastore.ErrAlreadyExists) {
		return false, fmt.Errorf("fleetsim churn: create endpoint %s: %w", w.Name, err)
	}
	f.mu.Lock()
	delete(f.absent, k)
	f.gen[k] = gen
	f.mu.Unlock()
	return false, nil
}

// Present is the number of simulated endpoints stored now.
func (f *Fleet) Present() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.loaded*f.cfg.EndpointsPerHost - len(f.absent)
}
