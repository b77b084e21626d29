package fleetsim

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"

	"github.com/calico-docker/calico-libnetwork/driver"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// Config describes a simulated fleet. The zero value of a field means its
// default (see Defaults).
type Config struct {
	Hosts            int    // simulated hosts (default 1000)
	EndpointsPerHost int    // WorkloadEndpoints per host (default 50)
	Policies         int    // NetworkPolicies (default 20)
	Apps             int    // distinct fleet-app label values (default 20)
	Tiers            int    // distinct fleet-tier label values (default 4)
	PoolCIDR         string // the fleet's IP pool (default 198.18.0.0/15)
	BlockSize        int    // IPv4 block size of the pool (default 26)
	NodePrefix       string // simulated node names are <prefix><index> (default fleetsim-h)
	// DisableMesh also stores BGPConfiguration "default" with
	// nodeToNodeMeshEnabled false (see the package doc, Safety).
	DisableMesh bool
	// Concurrency bounds the writes in flight while loading (default 16).
	Concurrency int
}

// Names of the fleet-wide objects.
const (
	PoolName    = "fleetsim-pool"
	ProfileName = "fleetsim-net"
	networkID   = "fleetsim0000000000000000000000000000000000000000000000000000net0"
)

// Label keys on simulated endpoints (and on local containers a benchmark
// wants selected by the fleet's policies).
const (
	LabelApp  = "fleet-app"
	LabelTier = "fleet-tier"
)

// Defaults returns c with every unset field at its default.
func (c Config) Defaults() Config {
	set := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	set(&c.Hosts, 1000)
	set(&c.EndpointsPerHost, 50)
	set(&c.Policies, 20)
	set(&c.Apps, 20)
	set(&c.Tiers, 4)
	set(&c.BlockSize, 26)
	set(&c.Concurrency, 16)
	if c.PoolCIDR == "" {
		c.PoolCIDR = "198.18.0.0/15"
	}
	if c.NodePrefix == "" {
		c.NodePrefix = "fleetsim-h"
	}
	return c
}

// Validate checks a defaulted Config, naming the field and the fix.
func (c Config) Validate() error {
	for _, f := range []struct {
		name string
		v    int
	}{{"Hosts", c.Hosts}, {"EndpointsPerHost", c.EndpointsPerHost}, {"Policies", c.Policies},
		{"Apps", c.Apps}, {"Tiers", c.Tiers}, {"Concurrency", c.Concurrency}} {
		if f.v < 0 {
			return fmt.Errorf("fleetsim: %s is %d: give a positive number (0 means the default)", f.name, f.v)
		}
	}
	pool, err := netip.ParsePrefix(c.PoolCIDR)
	if err != nil || !pool.Addr().Is4() || pool != pool.Masked() {
		return fmt.Errorf("fleetsim: PoolCIDR %q is not an IPv4 network address in CIDR form (e.g. 198.18.0.0/15)", c.PoolCIDR)
	}
	if c.BlockSize < max(pool.Bits(), 26) || c.BlockSize > 32 {
		// A block is written in one transaction with a handle key per
		// address; etcd allows 128 operations in one.
		return fmt.Errorf("fleetsim: BlockSize %d must lie between %d (the pool's prefix length, at least 26) and 32", c.BlockSize, max(pool.Bits(), 26))
	}
	if need, have := c.Hosts*c.blocksPerHost(), 1<<(c.BlockSize-pool.Bits()); need > have {
		return fmt.Errorf("fleetsim: %d hosts × %d endpoints need %d blocks of /%d but PoolCIDR %s holds %d: give a larger pool or fewer hosts",
			c.Hosts, c.EndpointsPerHost, need, c.BlockSize, c.PoolCIDR, have)
	}
	if err := resources.NewNode(c.NodeName(c.Hosts - 1)).Validate(); err != nil {
		return fmt.Errorf("fleetsim: NodePrefix %q gives invalid node names: %w", c.NodePrefix, err)
	}
	return nil
}

func (c Config) blockLen() int { return 1 << (32 - c.BlockSize) }

func (c Config) blocksPerHost() int { return (c.EndpointsPerHost + c.blockLen() - 1) / c.blockLen() }

// NodeName is the name of simulated host h.
func (c Config) NodeName(h int) string { return fmt.Sprintf("%s%05d", c.NodePrefix, h) }

// Endpoints is the number of simulated WorkloadEndpoints.
func (c Config) Endpoints() int { return c.Hosts * c.EndpointsPerHost }

// block returns the j-th block of host h.
func (c Config) block(h, j int) netip.Prefix {
	pool := netip.MustParsePrefix(c.PoolCIDR)
	idx := uint32(h*c.blocksPerHost() + j)
	base := pool.Addr().As4()
	v := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
	v += idx << (32 - c.BlockSize)
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), c.BlockSize)
}

// EndpointAddr is the address of endpoint i of host h.
func (c Config) EndpointAddr(h, i int) netip.Addr {
	b := c.block(h, i/c.blockLen())
	a := b.Addr().As4()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v += uint32(i % c.blockLen())
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// endpointID is a Docker-like 64-hex endpoint ID, stable per (h, i, gen).
func (c Config) endpointID(h, i int) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("fleetsim/%s/%d", c.NodeName(h), i)))
	return hex.EncodeToString(sum[:])
}

// Node returns simulated host h's Node: no BGP spec, no tunnel address.
func (c Config) Node(h int) *resources.Node {
	n := resources.NewNode(c.NodeName(h))
	n.Labels = map[string]string{"fleetsim": "true"}
	n.Spec.OrchRefs = []resources.OrchRef{{Orchestrator: resources.OrchestratorLibnetwork, NodeName: n.Name}}
	return n
}

// Endpoint returns endpoint i of host h with app label index app.
func (c Config) Endpoint(h, i, app int) *resources.WorkloadEndpoint {
	node, id := c.NodeName(h), c.endpointID(h, i)
	w := resources.NewWorkloadEndpoint(driver.WorkloadEndpointName(node, id))
	k := h*c.EndpointsPerHost + i
	w.Labels = map[string]string{
		resources.LabelOrchestrator: resources.OrchestratorLibnetwork,
		resources.LabelProfile:      ProfileName,
		resources.LabelNetwork:      ProfileName,
		LabelApp:                    fmt.Sprintf("app-%d", app%c.Apps),
		LabelTier:                   fmt.Sprintf("tier-%d", k%c.Tiers),
	}
	mac := [6]byte{0x02, 0x42, 0xc6, byte(k >> 16), byte(k >> 8), byte(k)}
	w.Spec = resources.WorkloadEndpointSpec{
		Orchestrator:  resources.OrchestratorLibnetwork,
		Workload:      fmt.Sprintf("fleet-%d-%d", h, i),
		Node:          node,
		Endpoint:      id,
		Network:       networkID,
		Profiles:      []string{ProfileName},
		InterfaceName: driver.HostIface(id),
		MAC:           fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]),
		IPNetworks:    []string{netip.PrefixFrom(c.EndpointAddr(h, i), 32).String()},
	}
	return w
}

// defaultApp is the app label index an endpoint is loaded with.
func (c Config) defaultApp(h, i int) int { return h*c.EndpointsPerHost + i }

// Pool returns the fleet's IP pool: disabled (the real host never
// allocates from it), no encapsulation.
func (c Config) Pool() *resources.IPPool {
	p := resources.NewIPPool(PoolName)
	p.Spec.CIDR = c.PoolCIDR
	p.Spec.BlockSize = c.BlockSize
	p.Spec.IPIPMode = resources.EncapNever
	p.Spec.VXLANMode = resources.EncapNever
	p.Spec.Disabled = true
	return p
}

// Profile returns the profile the simulated endpoints refer to.
func (c Config) Profile() *resources.Profile {
	p := resources.NewProfile(ProfileName)
	p.Spec.Ingress = []resources.Rule{{Action: resources.ActionAllow,
		Source: resources.EntityRule{Selector: fmt.Sprintf("%s == '%s'", resources.LabelProfile, ProfileName)}}}
	p.Spec.Egress = []resources.Rule{{Action: resources.ActionAllow}}
	return p
}

// Policy returns fleet policy i.
func (c Config) Policy(i int) *resources.NetworkPolicy {
	p := resources.NewNetworkPolicy(fmt.Sprintf("fleetsim-policy-%d", i))
	order := float64(100 + i)
	p.Spec.Order = &order
	p.Spec.Selector = fmt.Sprintf("%s == 'tier-%d'", LabelTier, i%c.Tiers)
	tcp, _ := resources.ParseProtocol("TCP")
	port, _ := resources.ParsePort(fmt.Sprint(8000 + i))
	p.Spec.Ingress = []resources.Rule{{Action: resources.ActionAllow, Protocol: &tcp,
		Source:      resources.EntityRule{Selector: fmt.Sprintf("%s == 'app-%d'", LabelApp, i%c.Apps)},
		Destination: resources.EntityRule{Ports: []resources.Port{port}}}}
	return p
}

// BGPConfiguration returns the default BGPConfiguration with the mesh off.
func (c Config) BGPConfiguration() *resources.BGPConfiguration {
	bc := resources.NewBGPConfiguration("default")
	off := false
	bc.Spec.NodeToNodeMeshEnabled = &off
	return bc
}
