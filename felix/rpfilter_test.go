package felix

import (
	"context"
	"errors"
	"testing"

	"github.com/calico-docker/calico-libnetwork/felix/internal/felixtest"
)

func TestStartRefusesLooseRPF(t *testing.T) {
	host := felixtest.NewNS(t, "rpf")
	host.SetSysctl(t, "net/ipv4/conf/all/rp_filter", "2")
	d := New(Config{NetNS: host.Path, NodeName: "host1", Policy: true, Logger: quietLogger()})
	err := d.Start(context.Background())
	if !errors.Is(err, ErrLooseRPF) {
		t.Fatalf("Start with rp_filter=2: %v, want ErrLooseRPF", err)
	}
	t.Logf("refused: %v", err)

	// Accepting the risk starts it (and the refusal left no state behind).
	startDataplane(t, host, Config{NodeName: "host1", Policy: true, IgnoreLooseRPF: true})
	// Without policy there is nothing to get past: no check.
	startDataplane(t, host, Config{})
	strict := felixtest.NewNS(t, "rpf-strict")
	strict.SetSysctl(t, "net/ipv4/conf/all/rp_filter", "1")
	startDataplane(t, strict, Config{NodeName: "host1", Policy: true})
}
