package routing

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
	"github.com/calico-docker/calico-libnetwork/resources"
)

func TestConfigureNode(t *testing.T) {
	_, cli := testenv.StartEtcd(t)
	store := datastore.New(cli)
	ctx := context.Background()
	if _, err := store.Create(ctx, resources.NewNode("host1")); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	steps := []struct {
		name     string
		settings NodeSettings
		want4    string
		wantAS   string
	}{
		{"explicit address and AS", NodeSettings{IP: "10.99.0.1/24", AS: "64511"}, "10.99.0.1/24", "64511"},
		{"empty settings keep what is stored", NodeSettings{}, "10.99.0.1/24", "64511"},
		{"bare address is a host route", NodeSettings{IP: "10.99.0.7"}, "10.99.0.7/32", "64511"},
		{"none removes it", NodeSettings{IP: "none"}, "", "64511"},
	}
	for _, st := range steps {
		n, err := ConfigureNode(ctx, store, "host1", st.settings, log)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		stored, _ := datastore.GetAs[*resources.Node](ctx, store, "", "host1")
		if got := stored.Spec.BGP.IPv4Address; got != st.want4 || n.Spec.BGP.IPv4Address != st.want4 {
			t.Errorf("%s: ipv4Address = %q, want %q", st.name, got, st.want4)
		}
		if got := asString(stored.Spec.BGP.ASNumber); got != st.wantAS {
			t.Errorf("%s: asNumber = %s, want %s", st.name, got, st.wantAS)
		}
	}
	for _, bad := range []NodeSettings{{IP: "fd00::1/64"}, {AS: "0"}, {IP: "autodetect", IPMethod: "interface=nonesuch"}} {
		if _, err := ConfigureNode(ctx, store, "host1", bad, log); err == nil {
			t.Errorf("settings %+v accepted", bad)
		}
	}
}

// TestParseAS: the AS setting takes Calico's two notations and refuses
// anything else, and zero, with both named.
func TestParseAS(t *testing.T) {
	for s, want := range map[string]resources.ASNumber{"64513": 64513, " 64513 ": 64513, "1.10": 65546, "65535.65535": 4294967295} {
		got, err := ParseAS(s)
		if err != nil || got == nil || *got != want {
			t.Fatalf("AS %q: %v, %v; want %d", s, got, err, want)
		}
	}
	if got, err := ParseAS(""); got != nil || err != nil {
		t.Fatalf("AS \"\": %v, %v; want unset", got, err)
	}
	for _, s := range []string{"0", "0.0", "x", "1.65536", "4294967296", "1.2.3"} {
		if _, err := ParseAS(s); err == nil || !strings.Contains(err.Error(), "HIGH.LOW") {
			t.Fatalf("AS %q: error %v, want one naming both notations", s, err)
		}
	}
}
