package driver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/docker/go-plugins-helpers/network"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/felix"
	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// Route types of the remote-driver protocol.
const (
	routeNextHop   = 0
	routeConnected = 1
)

// AnnotationSandbox records on a WorkloadEndpoint the sandbox (network
// namespace path) its interface joined.
const AnnotationSandbox = model.AnnotationSandbox

// gatewayBase is the first of the link-local gateways: the n-th calico
// interface of one sandbox uses 169.254.1.n. Nothing owns these addresses;
// the host side of each veth answers ARP for any address (proxy ARP).
var gatewayBase = netip.MustParseAddr("169.254.1.1")

// joinPlan is what Join answers, worked out from the sandbox's routes.
type joinPlan struct {
	gw4, gw6 netip.Addr // invalid when the endpoint has no such address
	routes   []*network.StaticRoute
}

// planJoin chooses the gateways and routes of a new interface in a sandbox
// that already has the routes in have.
//
// The first calico interface of a sandbox gets 169.254.1.1 with an on-link
// /32 route to it. A second one cannot reuse that route (the kernel
// refuses the same destination on a second device: "error setting
// interface routes to [169.254.1.1/32]: file exists"), so the n-th gets
// the lowest free 169.254.1.n with its own on-link route. Docker installs
// a default route only through the sandbox's gateway endpoint, so extra
// interfaces add no second default route. Each interface of a network
// created with --subnet also gets routes for those subnets via its own
// gateway, so traffic to that network leaves by the interface (and with the
// source address) that belongs to it, whichever interface holds the default
// route. Destinations already routed in the sandbox are left alone (the
// first interface to claim them keeps them).
//
// IPv6: the gateway is the host side's link-local address on every link;
// only the first interface gets the /128 on-link route (IPv6 refuses a
// duplicate too), the others reach it through their own fe80::/64.
func planJoin(have map[netip.Prefix]bool, addrs, subnets []netip.Prefix) (joinPlan, error) {
	var p joinPlan
	has4, has6 := false, false
	for _, a := range addrs {
		has4, has6 = has4 || a.Addr().Is4(), has6 || a.Addr().Is6()
	}
	if has4 {
		gw, ok := freeGateway(have)
		if !ok {
			return p, errors.New("the sandbox has no free gateway address left in 169.254.1.0/24")
		}
		p.gw4 = gw
		p.routes = append(p.routes, &network.StaticRoute{Destination: netip.PrefixFrom(gw, 32).String(), RouteType: routeConnected})
		for _, s := range subnets {
			if s.Addr().Is4() && !have[s] {
				p.routes = append(p.routes, &network.StaticRoute{Destination: s.String(), RouteType: routeNextHop, NextHop: gw.String()})
			}
		}
	}
	if has6 {
		p.gw6 = felix.IPv6Gateway
		if gw := netip.PrefixFrom(p.gw6, 128); !have[gw] {
			p.routes = append(p.routes, &network.StaticRoute{Destination: gw.String(), RouteType: routeConnected})
		}
	}
	return p, nil
}

func freeGateway(have map[netip.Prefix]bool) (netip.Addr, bool) {
	gw := gatewayBase
	for range 254 {
		if !have[netip.PrefixFrom(gw, 32)] {
			return gw, true
		}
		gw = gw.Next()
	}
	return netip.Addr{}, false
}

// Join creates the endpoint's veth and tells Docker how to set up the
// container side: Docker moves the temporary end into the sandbox, names it
// cali<N>, gives it the endpoint's /32 (/128), and installs the routes and
// (for the sandbox's gateway endpoint) the default route answered here.
// Meanwhile it stores the WorkloadEndpoint, complete with its gateways and
// sandbox and still labels-pending, and re-owns its addresses.
// When the sandbox holds other calico endpoints, source routing is recorded
// for felix to program once Docker has moved the interface in (see
// srcroute.go).
func (d *Driver) Join(ctx context.Context, req *network.JoinRequest) (*network.JoinResponse, error) {
	start := time.Now()
	if err := checkID("EndpointID", req.EndpointID); err != nil {
		return nil, d.fail("Join", err)
	}
	if req.SandboxKey == "" {
		return nil, d.fail("Join", errors.New("SandboxKey is missing: Docker sends the path of the container's network namespace"))
	}
	ce, err := d.joining(ctx, req.NetworkID, req.EndpointID)
	if err != nil {
		return nil, d.fail("Join", err, "endpoint", req.EndpointID)
	}
	sb, err := d.sandboxState(ctx, req.SandboxKey, req.EndpointID)
	if err != nil {
		return nil, d.fail("Join", err, "endpoint", req.EndpointID)
	}
	plan, err := planJoin(sb.routes, ce.wep.Addrs(), d.routedSubnets(ctx, ce, sb.peers)) // poolroutes.go
	if err != nil {
		return nil, d.fail("Join", fmt.Errorf("endpoint %s: %w", req.EndpointID, err))
	}
	mac, err := net.ParseMAC(ce.wep.Spec.MAC)
	if err != nil {
		mac = macFor(req.EndpointID)
	}
	// The record writes (etcd round trips and fsyncs) overlap the veth
	// creation (kernel work): both are on every container's start-up path.
	recorded := make(chan error, 1)
	go func() { recorded <- d.recordJoin(ctx, ce, req.SandboxKey, plan) }()
	vethStart := time.Now()
	verr := d.createVeth(req.EndpointID, mac)
	vethWait := time.Since(vethStart)
	if rerr := <-recorded; rerr != nil || verr != nil {
		d.undoJoin(ctx, ce, verr == nil, rerr == nil)
		return nil, d.fail("Join", errors.Join(verr, rerr), "endpoint", req.EndpointID)
	}
	wep := ce.wep
	d.local.join(req.EndpointID, req.SandboxKey, wep)
	if len(sb.peers) > 0 {
		d.startSourceRouting(req.SandboxKey, append(sb.peers, wep))
	}
	if d.labels != nil && labelsPending(wep) {
		d.labels.add(req.EndpointID, wep.Spec.Network, time.Now(), wep)
	}
	d.log.Info("Joined endpoint", "endpoint", req.EndpointID, "sandbox", req.SandboxKey,
		"gateway", plan.gw4, "routes", len(plan.routes), "otherCalicoEndpoints", len(sb.peers), "vethWait", vethWait, "took", time.Since(start))
	return joinResponse(req.EndpointID, plan), nil
}

// joining returns what Join needs of an endpoint: the one CreateEndpoint
// accepted, or (a Join repeated after a daemon restart) the stored one.
func (d *Driver) joining(ctx context.Context, networkID, endpointID string) (*createdEndpoint, error) {
	if c := d.local.createdOf(endpointID); c != nil {
		return &createdEndpoint{req: c.req, netw: c.netw, wep: cloneEndpoint(c.wep)}, nil
	}
	name := WorkloadEndpointName(d.node, endpointID)
	ns, err := d.namespaceOf(ctx, networkID)
	if err != nil {
		return nil, fmt.Errorf("read endpoint %s: %w", endpointID, err)
	}
	wep, err := datastore.GetAs[*resources.WorkloadEndpoint](ctx, d.store, ns, name)
	if errors.Is(err, datastore.ErrNotFound) {
		return nil, fmt.Errorf("endpoint %s is unknown to the calico driver: it was not created through this daemon "+
			"(was the daemon restarted between CreateEndpoint and Join?); start the container again: %w", endpointID, err)
	}
	if err != nil {
		return nil, fmt.Errorf("read endpoint %s: %w", endpointID, err)
	}
	netw, err := d.records.get(ctx, wep.Spec.Network)
	if err != nil {
		d.log.Warn("No record of the network; adding no subnet routes", "network", wep.Spec.Network, "err", err)
		netw = &Network{ID: wep.Spec.Network}
	}
	return &createdEndpoint{netw: netw, wep: wep}, nil
}

// subnetsOf returns the --subnet CIDRs of a network (none when unknown).
func (d *Driver) subnetsOf(ctx context.Context, networkID string) []netip.Prefix {
	netw, err := d.records.get(ctx, networkID)
	if err != nil {
		d.log.Warn("No record of the network; adding no subnet routes", "network", networkID, "err", err)
		return nil
	}
	return netw.subnets()
}

func joinResponse(endpointID string, plan joinPlan) *network.JoinResponse {
	resp := &network.JoinResponse{
		InterfaceName:         network.InterfaceName{SrcName: tmpIface(endpointID), DstPrefix: HostIfacePrefix},
		StaticRoutes:          plan.routes,
		DisableGatewayService: true, // no docker_gwbridge: workloads are routed by the host
	}
	if plan.gw4.IsValid() {
		resp.Gateway = plan.gw4.String()
	}
	if plan.gw6.IsValid() {
		resp.GatewayIPv6 = plan.gw6.String()
	}
	return resp
}

// recordJoin stores the endpoint with its gateways and sandbox and, for an
// endpoint CreateEndpoint accepted, records its addresses against its
// handle. The endpoint is stored first: an allocation held by an endpoint
// handle then always has its WorkloadEndpoint, which is what lets the IPAM
// garbage collector tell leaks from live endpoints without a race.
func (d *Driver) recordJoin(ctx context.Context, ce *createdEndpoint, sandbox string, plan joinPlan) error {
	wep := ce.wep
	wep.Spec.IPv4Gateway, wep.Spec.IPv6Gateway = "", ""
	if plan.gw4.IsValid() {
		wep.Spec.IPv4Gateway = plan.gw4.String()
	}
	if plan.gw6.IsValid() {
		wep.Spec.IPv6Gateway = plan.gw6.String()
	}
	if wep.Annotations == nil {
		wep.Annotations = map[string]string{}
	}
	wep.Annotations[AnnotationSandbox] = sandbox
	if err := d.storeEndpoint(ctx, wep); err != nil {
		return fmt.Errorf("store endpoint %s: %w", wep.Spec.Endpoint, err)
	}
	if ce.req == nil {
		return nil // stored before a restart: its addresses are owned
	}
	return d.ownAddresses(ctx, ce.req, ce.netw, wep.Name)
}

// undoJoin removes what a failed Join made, on a context of its own (the
// request's may be what ran out): the veth if it was made and, for an
// endpoint CreateEndpoint accepted, the WorkloadEndpoint if recording it
// failed half-way (an endpoint recorded completely stays until Docker's
// DeleteEndpoint, which follows a failed Join). A Join Docker retries
// starts afresh.
func (d *Driver) undoJoin(ctx context.Context, ce *createdEndpoint, vethMade, recorded bool) {
	ctx, cancel := cleanupCtx(ctx)
	defer cancel()
	id := ce.wep.Spec.Endpoint
	if vethMade {
		if err := d.veths.DeleteVeth(HostIface(id)); err != nil {
			d.log.Warn("Undo Join: could not delete the veth", "endpoint", id, "err", err)
		}
	}
	if ce.req == nil || recorded {
		return
	}
	_, err := d.store.Delete(ctx, resources.KindWorkloadEndpoint, ce.wep.Namespace, ce.wep.Name, "")
	if err != nil && !errors.Is(err, datastore.ErrNotFound) {
		d.log.Warn("Undo Join: could not delete the endpoint", "endpoint", id, "err", err)
	}
}

// Leave deletes the endpoint's veth (the container side goes with it) in
// the background: the kernel takes 10-20 ms to destroy a veth, which would
// otherwise lengthen every container's teardown. The endpoint's source
// routing is withdrawn: felix removes its rule from a sandbox that lives on
// (docker network disconnect).
func (d *Driver) Leave(ctx context.Context, req *network.LeaveRequest) error {
	start := time.Now()
	if err := checkID("EndpointID", req.EndpointID); err != nil {
		return d.fail("Leave", err)
	}
	d.removeSourceRouting(req.EndpointID)
	d.local.leave(req.EndpointID)
	d.deleteVethLater(req.EndpointID)
	if d.labels != nil {
		d.labels.forget(req.EndpointID)
	}
	d.log.Info("Left endpoint", "endpoint", req.EndpointID, "took", time.Since(start))
	return nil
}

// deleteVethLater deletes an endpoint's veth in the background, once at a
// time per endpoint (Leave and DeleteEndpoint both ask). A veth left by a
// crash in between is replaced by the next CreateVeth of its name.
func (d *Driver) deleteVethLater(endpointID string) {
	d.mu.Lock()
	if d.deleting[endpointID] {
		d.mu.Unlock()
		return
	}
	d.deleting[endpointID] = true
	d.mu.Unlock()
	d.bg.Go(func() {
		defer func() {
			d.mu.Lock()
			delete(d.deleting, endpointID)
			d.mu.Unlock()
		}()
		d.takePrepared(endpointID, nil) // a pair still being created is deleted once made
		if err := d.veths.DeleteVeth(HostIface(endpointID)); err != nil {
			d.log.Warn("Could not delete the endpoint's veth", "endpoint", endpointID, "err", err)
		}
	})
}
