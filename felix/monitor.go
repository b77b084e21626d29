package felix

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/calico-docker/calico-libnetwork/felix/ns"
)

const (
	rtmDelRoute = unix.RTM_DELROUTE
	// resubscribeDelay spaces netlink re-subscriptions after a failure
	// (for example ENOBUFS when events overflow the socket buffer).
	resubscribeDelay = time.Second
	// eventBuffer is the subscriptions' socket buffer (forced: felix runs
	// as root): a start of day adds a route per endpoint, thousands of
	// events in a burst, while the apply keeps both CPUs busy.
	eventBuffer = 16 << 20
)

// watchKernel kicks the loop when a workload interface changes (linkChanged),
// one of our routes (workload or routing's) is deleted behind our back, or
// a host interface's address changes while a host endpoint is bound by
// address (hostinputs.go), so repairs need not wait for the resync timer.
// A failed subscription is renewed; meanwhile the timer covers. wanted holds the workload routes the
// loop last wanted (published before it deletes any): the deletion of a
// route not in it is the loop's own doing and wakes nothing (without that,
// each endpoint removed cost a second apply, and the batching holdoff for
// the next change). The returned channel is closed when the watcher has
// stopped (ctx ended).
func (d *Dataplane) watchKernel(ctx context.Context, n *ns.NS, wanted *atomic.Pointer[map[routeKey]*netlink.Route]) <-chan struct{} {
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			d.watchOnce(ctx, n, wanted)
			select {
			case <-ctx.Done():
				return
			case <-time.After(resubscribeDelay):
				d.pokeEndpoints() // events may have been missed
			}
		}
	}()
	return stopped
}

// watchOnce subscribes to link, route and address events and forwards the
// relevant ones until any subscription ends or ctx is done.
func (d *Dataplane) watchOnce(ctx context.Context, n *ns.NS, wanted *atomic.Pointer[map[routeKey]*netlink.Route]) {
	subCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	logErr := func(err error) {
		if subCtx.Err() == nil {
			d.log.Warn("Netlink subscription error", "err", err)
		}
	}
	links := make(chan netlink.LinkUpdate, 256)
	routes := make(chan netlink.RouteUpdate, 256)
	addrs := make(chan netlink.AddrUpdate, 256)
	if err := netlink.LinkSubscribeWithOptions(links, subCtx.Done(),
		netlink.LinkSubscribeOptions{Namespace: n.Handle(), ErrorCallback: logErr,
			ReceiveBufferSize: eventBuffer, ReceiveBufferForceSize: true}); err != nil {
		logErr(err)
		close(links)
	}
	if err := netlink.RouteSubscribeWithOptions(routes, subCtx.Done(),
		netlink.RouteSubscribeOptions{Namespace: n.Handle(), ErrorCallback: logErr,
			ReceiveBufferSize: eventBuffer, ReceiveBufferForceSize: true}); err != nil {
		logErr(err)
		close(routes)
	}
	if err := netlink.AddrSubscribeWithOptions(addrs, subCtx.Done(),
		netlink.AddrSubscribeOptions{Namespace: n.Handle(), ErrorCallback: logErr,
			ReceiveBufferSize: eventBuffer, ReceiveBufferForceSize: true}); err != nil {
		logErr(err)
		close(addrs)
	}
	// Interfaces, routes and addresses may have changed unseen before these
	// subscriptions: the next apply dumps them (linkcache.go, routes.go,
	// hostinputs.go).
	d.mu.Lock()
	d.linksStale, d.routesStale, d.hostAddrsStale = true, true, true
	d.mu.Unlock()
	// Drain the channels until netlink closes them, so its goroutines never
	// block on a send; the first to close ends the others via cancel.
	seen := map[int]linkState{}
	for links != nil || routes != nil || addrs != nil {
		select {
		case u, ok := <-links:
			if !ok {
				links = nil
				cancel()
			} else if u.Link != nil {
				if names := linkChanged(seen, u, d.cfg.InterfacePrefix); len(names) > 0 {
					d.pokeLinks(names)
				}
			}
		case u, ok := <-routes:
			if !ok {
				routes = nil
				cancel()
			} else if u.Type == rtmDelRoute && int(u.Protocol) == d.cfg.RouteProtocol && stillWanted(u.Route, wanted.Load()) {
				d.routeWakes.Add(1)
				d.pokeEndpoints()
			} else if u.Type == rtmDelRoute && int(u.Protocol) == d.cfg.TunnelRouteProtocol && d.remoteStillWanted(u.Route) {
				d.remoteWakes.Add(1)
				d.pokeRemote()
			}
		case u, ok := <-addrs:
			if !ok {
				addrs = nil
				cancel()
			} else if _, workload := seen[u.LinkIndex]; !workload && !u.LinkAddress.IP.IsLinkLocalUnicast() {
				d.pokeHostAddrs()
			}
		}
	}
}

// stillWanted reports whether a deleted route of our protocol is one the
// loop wants (someone else deleted it: repair), or may want: nothing
// published yet, or outside the main table, where our routes never are.
func stillWanted(r netlink.Route, wanted *map[routeKey]*netlink.Route) bool {
	if wanted == nil || (r.Table != 0 && r.Table != unix.RT_TABLE_MAIN) {
		return true
	}
	_, ok := (*wanted)[routeKeyOf(r)]
	return ok
}

// remoteStillWanted is stillWanted for a deleted route of routing's
// (Config.TunnelRouteProtocol): is its destination in routing's desired
// state? The loop deletes the others itself, routing having withdrawn them.
// The destinations are indexed once per desired state (SetRoutes), when a
// deletion first asks.
func (d *Dataplane) remoteStillWanted(r netlink.Route) bool {
	if r.Table != 0 && r.Table != unix.RT_TABLE_MAIN {
		return true
	}
	dst := routeKeyOf(r).dst
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.remote == nil {
		return true
	}
	if d.remoteDsts == nil || d.remoteDstsGen != d.remoteGen {
		d.remoteDsts = make(map[netip.Prefix]bool, len(d.remote.Routes))
		for _, w := range d.remote.Routes {
			d.remoteDsts[w.Dst.Masked()] = true
		}
		d.remoteDstsGen = d.remoteGen
	}
	return d.remoteDsts[dst]
}

// linkState is what the endpoint side depends on of a workload interface
// besides its index: its name (endpoints are bound by name) and whether
// it is up (felix brings it up). A change of carrier or operational state
// (the veth's peer moved into a container and brought up there, each
// container start) changes neither and wakes nothing.
type linkState struct {
	name string
	up   bool
}

// linkChanged records link event u in seen (by ifindex) and returns the
// names of the workload interfaces whose linkState it changes (none, or
// its name and, renamed, its old one): one seen for the first time, gone,
// renamed, or set up or down.
func linkChanged(seen map[int]linkState, u netlink.LinkUpdate, prefix string) []string {
	a := u.Attrs()
	prev, known := seen[a.Index]
	ours := strings.HasPrefix(a.Name, prefix)
	var names []string
	if known && prev.name != a.Name {
		names = append(names, prev.name)
	}
	if u.Header.Type == unix.RTM_DELLINK || !ours {
		delete(seen, a.Index)
		if ours {
			names = append(names, a.Name)
		}
		return names
	}
	cur := linkState{name: a.Name, up: a.Flags&net.FlagUp != 0}
	seen[a.Index] = cur
	if !known || prev != cur {
		names = append(names, a.Name)
	}
	return names
}
