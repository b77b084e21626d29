package policy

import (
	"net/netip"
	"reflect"
	"slices"

	"github.com/calico-docker/calico-libnetwork/calc"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
	"github.com/calico-docker/calico-libnetwork/model"
)

// Config says whose policy a Calculator renders and how.
type Config struct {
	// NodeName is this host's name: endpoints with Spec.Node equal to it are
	// the local ones, whose traffic the rendered chains police.
	NodeName string
	// IPVersions to render policy for: 4, and 6 when IPv6 is enabled. None:
	// the Calculator only tracks the local endpoints (no enforcement).
	IPVersions []int
	// EndpointToHostAccept lets workloads reach the host itself once their
	// egress policy allowed it; false (the default) drops such traffic.
	EndpointToHostAccept bool
	// EndpointToHostReturn returns such traffic to the INPUT chain's later
	// rules instead (Calico's Return); it wins over EndpointToHostAccept.
	EndpointToHostReturn bool
	// FlowLogGroup, when not 0, makes verdict rules log each new
	// connection's first packet to this NFLOG group (rules.Config).
	FlowLogGroup uint16
	// HostEndpoints configures host endpoint protection (failsafe ports).
	HostEndpoints rules.HostEndpointConfig
}

// Calculator turns datastore sync events into the desired filter-table
// state (chains, inserts, IP sets) of each IP version and the list of local
// endpoints. It is the policy half of felix's dataplane loop and, like the
// loop, is owned by one goroutine.
type Calculator struct {
	cfg    Config
	index  *Index
	synced bool // a full sync event was applied
	dirty  bool // something changed since the last Render
	// rendered: RenderIfChanged has rendered once (its skip compares
	// against the last render).
	rendered bool
	// hostAddrs are the host's addresses by interface (hostendpoints.go).
	hostAddrs map[netip.Addr]string
	// tunnels are the tunnel peers host endpoints accept (hostendpoints.go).
	tunnels rules.TunnelPeers
	// renderers keep each IP version's rendered chains between renders, so
	// a change re-renders only the chains it touches (rules.Renderer).
	renderers map[int]*rules.Renderer
}

// NewCalculator returns a Calculator with an empty model.
func NewCalculator(cfg Config) *Calculator {
	return &Calculator{cfg: cfg, index: NewIndex(cfg.NodeName), renderers: map[int]*rules.Renderer{}}
}

// Apply feeds one sync event of calc.Kinds (Tiers included: they order
// policies and end each tier; network sets add their CIDRs to the IP sets
// of the selectors matching them); other kinds are ignored.
// It reports whether the event changed anything the dataplane renders.
func (c *Calculator) Apply(ev model.SyncEvent) bool {
	relevant := ev.Full
	for _, u := range ev.Updates {
		relevant = relevant || isPolicyKind(u.Kind)
	}
	if !relevant {
		return false
	}
	c.index.Apply(ev)
	c.synced = c.synced || ev.Full
	c.dirty = true
	return true
}

// isPolicyKind reports whether the dataplane's model reads kind: calc
// decides, so felix and calc never disagree on what policy depends on.
func isPolicyKind(kind string) bool { return slices.Contains(calc.Kinds, kind) }

// SetConfig changes how the model renders (the node stays); the next
// Render uses it.
func (c *Calculator) SetConfig(cfg Config) {
	cfg.NodeName = c.cfg.NodeName
	if !reflect.DeepEqual(cfg, c.cfg) {
		c.cfg = cfg
		c.invalidate()
	}
}

// invalidate marks the model dirty and makes the next RenderIfChanged
// render: for inputs the Index does not see (configuration, host
// addresses, tunnel peers).
func (c *Calculator) invalidate() {
	c.dirty = true
	c.rendered = false
}

// Synced reports whether a full sync event has been applied: before it the
// model is partial and nothing may be programmed from it.
func (c *Calculator) Synced() bool { return c.synced }

// Dirty reports whether something changed since the last Render.
func (c *Calculator) Dirty() bool { return c.dirty }

// Model returns the policy model (for Verdict). Read only.
func (c *Calculator) Model() *calc.Model { return c.index.Model() }

// Render renders the filter state of every configured IP version and
// clears Dirty. Only the chains a change touched since the last Render are
// rendered again; each Result's Delta names them.
func (c *Calculator) Render() map[int]rules.Result {
	c.index.BeginRender()
	out := make(map[int]rules.Result, len(c.cfg.IPVersions))
	for v := range c.renderers {
		if !slices.Contains(c.cfg.IPVersions, v) {
			c.renderers[v].Forget()
			delete(c.renderers, v)
		}
	}
	for _, v := range c.cfg.IPVersions {
		rd := c.renderers[v]
		if rd == nil {
			rd = new(rules.Renderer)
			c.renderers[v] = rd
		}
		out[v] = rd.Render(c.index, c.cfg.NodeName, rules.Config{
			IPVersion: v, EndpointToHostAccept: c.cfg.EndpointToHostAccept, EndpointToHostReturn: c.cfg.EndpointToHostReturn,
			HostEndpoints: c.cfg.HostEndpoints, HostAddrs: c.hostAddrs, Tunnels: c.tunnels, FlowLogGroup: c.cfg.FlowLogGroup,
		})
	}
	c.index.EndRender()
	c.dirty = false
	return out
}

// RenderIfChanged is Render when a render could differ from the last one
// (see Index.Changed); otherwise it clears Dirty and returns nil, false:
// the last render's filter states still hold. A remote endpoint change
// that moves no address in or out of a used IP set renders nothing.
func (c *Calculator) RenderIfChanged() (map[int]rules.Result, bool) {
	if c.rendered && !c.index.Changed() {
		c.dirty = false
		return nil, false
	}
	c.rendered = true
	return c.Render(), true
}

// LocalEndpointsVersion returns a number that changes whenever
// LocalEndpoints' answer may have: callers keep what they derived from it
// while it stays.
func (c *Calculator) LocalEndpointsVersion() uint64 { return c.index.LocalVersion() }

// LocalEndpoints returns this node's endpoints, sorted by key.
func (c *Calculator) LocalEndpoints() []*calc.Endpoint {
	return c.index.LocalEndpoints(c.cfg.NodeName)
}
