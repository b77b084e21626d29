package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// registerNode creates this host's Node resource, or refreshes its status
// (version, start time), keeping whatever else users or other components
// wrote into it.
func registerNode(ctx context.Context, s *datastore.Store, name string, now time.Time) error {
	for range 5 {
		n, err := datastore.GetAs[*resources.Node](ctx, s, "", name)
		switch {
		case errors.Is(err, datastore.ErrNotFound):
			n = resources.NewNode(name)
			n.Spec.OrchRefs = []resources.OrchRef{{Orchestrator: resources.OrchestratorLibnetwork, NodeName: name}}
			setNodeStatus(n, now)
			_, err = s.Create(ctx, n)
		case err != nil:
			return fmt.Errorf("read node %q: %w", name, err)
		default:
			setNodeStatus(n, now)
			_, err = s.Update(ctx, n) // compare-and-swap on the version read
		}
		if err == nil {
			return nil
		}
		if !errors.Is(err, datastore.ErrAlreadyExists) && !errors.Is(err, datastore.ErrConflict) {
			return fmt.Errorf("register node %q: %w", name, err)
		}
	}
	return fmt.Errorf("register node %q: it kept changing under us; retry", name)
}

func setNodeStatus(n *resources.Node, now time.Time) {
	n.Status.Version = Version()
	n.Status.LastStarted = now.UTC().Format(time.RFC3339)
}
