package dockerapi

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/internal/testenv"
)

// TestNetworkName asks the real test engine for its built-in bridge network.
func TestNetworkName(t *testing.T) {
	host := testenv.Docker(t)
	id := testenv.MustDocker(t, "network", "inspect", "-f", "{{.Id}}", "bridge")
	c, err := New(host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	name, err := c.NetworkName(ctx, id)
	if err != nil || name != "bridge" {
		t.Fatalf("NetworkName(%s) = %q, %v; want bridge", id, name, err)
	}
	_, err = c.NetworkName(ctx, "0000000000000000000000000000000000000000000000000000000000000000")
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown network: err = %v, want ErrNotFound", err)
	}
}

func TestNewRejectsBadHost(t *testing.T) {
	if _, err := New("ftp://x"); err == nil {
		t.Error("New accepted ftp://x")
	}
}
