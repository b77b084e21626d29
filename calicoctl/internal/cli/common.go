package cli

import (
	"context"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/ipam"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// ipamNode is the node name calicoctl's Allocator carries; calicoctl only
// reads and releases, it never claims a block.
const ipamNode = "calicoctl"

func NewAllocator(st *datastore.Store) *ipam.Allocator { return ipam.New(st, ipamNode) }

// SortedPools lists the pools, IPv4 first, by address.
func SortedPools(ctx context.Context, st *datastore.Store) ([]*resources.IPPool, error) {
	pools, _, err := datastore.ListAs[*resources.IPPool](ctx, st, "")
	if err != nil {
		return nil, fmt.Errorf("list IP pools: %w", err)
	}
	slices.SortFunc(pools, func(x, y *resources.IPPool) int {
		px, _ := resources.ParseCIDR(x.Spec.CIDR)
		py, _ := resources.ParseCIDR(y.Spec.CIDR)
		if c := px.Addr().Compare(py.Addr()); c != 0 {
			return c
		}
		return strings.Compare(x.Name, y.Name)
	})
	return pools, nil
}

func AppendUnique(list []string, items ...string) []string {
	for _, it := range items {
		found := false
		for _, l := range list {
			found = found || l == it
		}
		if !found {
			list = append(list, it)
		}
	}
	return list
}

func IntPtr(i int) *int { return &i }

func PortList(ports []resources.Port) string {
	parts := make([]string, len(ports))
	for i, p := range ports {
		parts[i] = p.String()
	}
	return strings.Join(parts, ",")
}

func OrDash(s string) string {
	if s == "" {
		return emptyCell
	}
	return s
}

// Version is the client version, set at build time with
// -ldflags "-X github.com/calico-docker/calico-libnetwork/calicoctl.Version=v1.2.3".
var Version = "dev"

// GitCommit is the VCS revision the binary was built from, if recorded.
func GitCommit() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	rev, dirty := "unknown", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty {
		rev += "-dirty"
	}
	return rev
}
