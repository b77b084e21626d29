package node

import (
	"strings"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/routing/status"
)

func TestPeerRow(t *testing.T) {
	now := time.Date(2026, 3, 4, 20, 0, 0, 0, time.UTC)
	at := func(s string) *time.Time { v, _ := time.Parse(time.RFC3339, s); return &v }
	for _, tc := range []struct {
		peer status.Peer
		want string
	}{
		{status.Peer{PeerIP: "10.0.0.2", Type: "mesh", State: "Established", Info: "Established", Since: at("2026-03-04T08:30:04Z")},
			"10.0.0.2|node-to-node mesh|up|08:30:04|Established"},
		{status.Peer{PeerIP: "10.0.0.3", Type: "global", State: "Active", Info: "Socket: Connection refused", Since: at("2026-03-03T23:00:00Z")},
			"10.0.0.3|global|start|2026-03-03|Active Socket: Connection refused"},
		{status.Peer{PeerIP: "fd00::3", Type: "node", State: "Idle"}, "fd00::3|node specific|start||Idle"},
	} {
		if got := strings.Join(peerRow(tc.peer, now), "|"); got != tc.want {
			t.Errorf("peerRow(%+v) = %q, want %q", tc.peer, got, tc.want)
		}
	}
}
