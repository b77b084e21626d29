package routing

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// The interface of a route this node originates, for BGPFilter interface
// rules. Calico's BIRD announces a node's blocks as blackhole routes,
// which have no interface, and an address borrowed from another node's
// block as the kernel's /32 route to the workload's interface. So do we:
// a block has no interface; a borrowed address has the interface of the
// workload endpoint of this node holding it. Learned routes have no
// interface here (GoBGP does not resolve next hops to interfaces).

// workloadIface is what routing keeps of one of this node's workload
// endpoints.
type workloadIface struct {
	name  string
	addrs []netip.Addr
}

// setIface keeps or forgets the interface of a workload endpoint of this
// node; other nodes' endpoints are not kept. It reports whether what
// routing keeps changed.
func (c *cluster) setIface(u model.Update) bool {
	key := u.Namespace + "/" + u.Name
	w, ok := u.Object.(*resources.WorkloadEndpoint)
	if u.Deleted() || !ok || c.node == "" || w.Spec.Node != c.node {
		_, had := c.ifaces[key]
		delete(c.ifaces, key)
		return had
	}
	wi := workloadIface{name: w.Spec.InterfaceName}
	for _, n := range w.Spec.IPNetworks {
		if p, err := resources.ParseCIDR(n); err == nil {
			wi.addrs = append(wi.addrs, p.Addr())
		}
	}
	old, had := c.ifaces[key]
	c.ifaces[key] = wi
	return !had || old.name != wi.name || !slices.Equal(old.addrs, wi.addrs)
}

// ownOnInterface lists this node's exports whose interface matches
// pattern (see above).
func (c *cluster) ownOnInterface(exports []netip.Prefix, pattern string) []netip.Prefix {
	var out []netip.Prefix
	for _, w := range c.ifaces {
		if !ifaceMatches(pattern, w.name) {
			continue
		}
		for _, a := range w.addrs {
			host := netip.PrefixFrom(a, a.BitLen())
			if _, found := slices.BinarySearchFunc(exports, host, comparePrefix); found {
				out = append(out, host)
			}
		}
	}
	slices.SortFunc(out, comparePrefix)
	return slices.Compact(out)
}

// ifaceMatches matches an interface name against a BGPFilter interface
// pattern, where * stands for any characters (BIRD's ifname ~ "...").
func ifaceMatches(pattern, name string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == name
	}
	if !strings.HasPrefix(name, parts[0]) {
		return false
	}
	name = name[len(parts[0]):]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(name, mid)
		if i < 0 {
			return false
		}
		name = name[i+len(mid):]
	}
	return strings.HasSuffix(name, parts[len(parts)-1])
}
