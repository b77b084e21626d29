package dockerapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/internal/testenv"
)

// TestContainerLookups runs a labelled container on the test engine's
// bridge network: the connect event names it, the network lists its
// endpoint, and its name and labels are read back.
func TestContainerLookups(t *testing.T) {
	host := testenv.Docker(t)
	c, err := New(host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	got := make(chan Connect, 16)
	subscribed := make(chan struct{})
	watchErr := make(chan error, 1)
	go func() {
		watchErr <- c.WatchConnects(ctx, func() { close(subscribed) }, func(ev Connect) { got <- ev })
	}()
	select {
	case <-subscribed:
	case err := <-watchErr:
		t.Fatalf("WatchConnects: %v", err)
	}

	b := make([]byte, 3)
	rand.Read(b)
	name := "cal-dockerapi-" + hex.EncodeToString(b)
	t.Cleanup(func() { _, _ = testenv.DockerCmd(t, "rm", "-f", name) })
	id := testenv.MustDocker(t, "run", "-d", "--name", name, "--net", "bridge",
		"--label", "org.projectcalico.label.role=db", testenv.TestImage(), "sleep", "600")
	netID := testenv.MustDocker(t, "network", "inspect", "-f", "{{.Id}}", "bridge")

	var ev Connect
	for ev.ContainerID != id {
		select {
		case ev = <-got:
		case <-ctx.Done():
			t.Fatal("no network connect event for the container")
		}
	}
	if ev.NetworkID != netID || ev.Time.IsZero() {
		t.Errorf("connect event = %+v, want network %s and a time", ev, netID)
	}

	eps, err := c.NetworkEndpoints(ctx, netID)
	if err != nil {
		t.Fatal(err)
	}
	epID := testenv.MustDocker(t, "inspect", "-f", "{{.NetworkSettings.Networks.bridge.EndpointID}}", name)
	if o := eps[epID]; o.ContainerID != id || o.ContainerName != name {
		t.Errorf("NetworkEndpoints[%s] = %+v, want container %s named %s", epID, o, id, name)
	}

	ct, err := c.Container(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if ct.ID != id || ct.Name != name || ct.Labels["org.projectcalico.label.role"] != "db" {
		t.Errorf("Container(%s) = %+v", id, ct)
	}
	if _, err := c.Container(ctx, id[:12]); !errors.Is(err, ErrNotFound) {
		t.Errorf("Container(short ID) err = %v, want ErrNotFound (only full IDs match)", err)
	}
	if _, err := c.NetworkEndpoints(ctx, "0000000000000000000000000000000000000000000000000000000000000000"); !errors.Is(err, ErrNotFound) {
		t.Errorf("NetworkEndpoints(unknown) err = %v, want ErrNotFound", err)
	}
	cancel()
	if err := <-watchErr; !errors.Is(err, context.Canceled) {
		t.Errorf("WatchConnects after cancel = %v, want context.Canceled", err)
	}
}
