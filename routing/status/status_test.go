package status

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFetchRoundTrip(t *testing.T) {
	sock := filepath.Join(t.TempDir(), SocketName)
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	since := time.Date(2025, 1, 2, 15, 0, 0, 0, time.UTC)
	want := Status{Node: "host1", Backend: "bird", BGP: &BGP{Running: true, ASNumber: 64512, RouterID: "10.99.0.1",
		Peers: []Peer{{PeerIP: "10.99.0.2", ASNumber: 64512, Type: "mesh", Name: "host2", State: "Established", Since: &since}}}}
	srv := &http.Server{Handler: Handler(func() Status { return want })}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })

	got, err := Fetch(context.Background(), sock)
	if err != nil {
		t.Fatal(err)
	}
	if got.Node != "host1" || got.BGP == nil || len(got.BGP.Peers) != 1 || !got.BGP.Peers[0].Since.Equal(since) ||
		got.BGP.Peers[0].State != "Established" {
		t.Errorf("got %+v", got)
	}
	if PeerTypeDisplay(got.BGP.Peers[0].Type) != "node-to-node mesh" || PeerTypeDisplay("node") != "node specific" {
		t.Error("display names")
	}
}

func TestFetchNotRunning(t *testing.T) {
	_, err := Fetch(context.Background(), filepath.Join(t.TempDir(), "none.sock"))
	if err == nil || !strings.Contains(err.Error(), "not running") {
		t.Errorf("err = %v", err)
	}
}
