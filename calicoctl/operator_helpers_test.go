package calicoctl

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	ipamcmd "github.com/calico-docker/calico-libnetwork/calicoctl/ipam"
	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/ipam"
)

// fixedTime is the allocation timestamp of the fixture's live addresses,
// so goldens that print it are stable.
const fixedTime = "2026-01-01T00:00:00Z"

// operatorEnv is a real etcd holding the seed's bookstore example
// (testdata/operator.yaml and the seed's policy) with each endpoint's
// address allocated through package ipam, as the drivers leave them.
func operatorEnv(t *testing.T) *etcdEnv {
	t.Helper()
	e := startEtcd(t)
	e.mustRun(t, "", "apply", "-f", "testdata/operator.yaml")
	e.mustRun(t, "", "apply", "-f", "testdata/seed-policy-bookstore.yaml")
	for _, a := range []struct{ node, ip, endpoint, wep string }{
		{"host1", "10.0.0.1", "a1a1a1a1a1a1", "host1-libnetwork-libnetwork-a1a1a1a1a1a1"},
		{"host1", "10.0.0.2", "b2b2b2b2b2b2", "host1-libnetwork-libnetwork-b2b2b2b2b2b2"},
		{"host2", "10.0.64.1", "c3c3c3c3c3c3", "host2-libnetwork-libnetwork-c3c3c3c3c3c3"},
	} {
		e.allocate(t, a.node, a.ip, ipamcmd.EndpointHandlePrefix+a.endpoint, map[string]string{
			"endpoint": a.endpoint, "workloadEndpoint": a.wep, ipam.AttrTimestamp: fixedTime,
		})
	}
	return e
}

// allocate assigns ip to handle through a real ipam.Allocator of node.
func (e *etcdEnv) allocate(t *testing.T, node, ip, handle string, attrs map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	alloc := ipam.New(datastore.New(e.cli), node)
	if err := alloc.AssignIP(ctx, netip.MustParseAddr(ip), handle, attrs); err != nil {
		t.Fatalf("allocate %s to %s: %v", ip, handle, err)
	}
}

// allocations returns ip → handle for every allocated address.
func (e *etcdEnv) allocations(t *testing.T) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	blocks, err := ipam.New(datastore.New(e.cli), "test").Blocks(ctx)
	if err != nil {
		t.Fatalf("read blocks: %v", err)
	}
	out := map[string]string{}
	for _, b := range blocks {
		for _, al := range b.Allocations {
			out[al.IP.String()] = al.Handle
		}
	}
	return out
}

// normalizeEtcd replaces the test etcd's URL, which changes every run.
func (e *etcdEnv) normalizeEtcd(s string) string { return strings.ReplaceAll(s, e.endpoint, "<etcd>") }

// runCode runs calicoctl and checks its exit code.
func (e *etcdEnv) runCode(t *testing.T, want int, stdin string, args ...string) result {
	t.Helper()
	r := e.run(t, stdin, args...)
	if r.code != want {
		t.Fatalf("calicoctl %s: want exit %d, got %v", strings.Join(args, " "), want, r)
	}
	return r
}
