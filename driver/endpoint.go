package driver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"time"

	"github.com/docker/go-plugins-helpers/network"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/ipam"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// endpointRequest is a validated CreateEndpoint request.
type endpointRequest struct {
	networkID, endpointID string
	addrs                 []netip.Prefix // /32 and /128
	mac                   net.HardwareAddr
	macFromDocker         bool
}

func parseCreateEndpoint(req *network.CreateEndpointRequest) (*endpointRequest, error) {
	if err := checkID("NetworkID", req.NetworkID); err != nil {
		return nil, err
	}
	if err := checkID("EndpointID", req.EndpointID); err != nil {
		return nil, err
	}
	ep := &endpointRequest{networkID: req.NetworkID, endpointID: req.EndpointID}
	if req.Interface == nil || (req.Interface.Address == "" && req.Interface.AddressIPv6 == "") {
		return nil, fmt.Errorf("endpoint %s has no address: create the network with --ipam-driver calico-ipam", req.EndpointID)
	}
	for _, a := range []struct {
		s  string
		v6 bool
	}{{req.Interface.Address, false}, {req.Interface.AddressIPv6, true}} {
		if a.s == "" {
			continue
		}
		p, err := netip.ParsePrefix(a.s)
		if err != nil || p.Addr().Is6() != a.v6 || p.Addr().Is4In6() {
			return nil, fmt.Errorf("endpoint %s: address %q is not an IPv%d CIDR", req.EndpointID, a.s, map[bool]int{false: 4, true: 6}[a.v6])
		}
		// Calico gives every workload a host route, whatever the pool's size.
		ep.addrs = append(ep.addrs, netip.PrefixFrom(p.Addr(), p.Addr().BitLen()))
	}
	if m := req.Interface.MacAddress; m != "" {
		mac, err := net.ParseMAC(m)
		if err != nil || len(mac) != 6 {
			return nil, fmt.Errorf("endpoint %s: MAC address %q is not an Ethernet address", req.EndpointID, m)
		}
		ep.mac, ep.macFromDocker = mac, true
	} else {
		ep.mac = macFor(req.EndpointID)
	}
	return ep, nil
}

// CreateEndpoint validates the endpoint, works out its WorkloadEndpoint
// (labels pending: it drops all traffic until its container's labels are
// known, see labeler.go) and starts making its veth. Nothing is stored:
// Join stores the endpoint complete with its gateways and sandbox, then
// re-owns its addresses (see local.go).
func (d *Driver) CreateEndpoint(ctx context.Context, req *network.CreateEndpointRequest) (*network.CreateEndpointResponse, error) {
	start := time.Now()
	ep, err := parseCreateEndpoint(req)
	if err != nil {
		return nil, d.fail("CreateEndpoint", err, "endpoint", req.EndpointID)
	}
	netw, err := d.network(ctx, ep.networkID)
	if err != nil {
		return nil, d.fail("CreateEndpoint", err, "endpoint", ep.endpointID)
	}
	wep := d.workloadEndpoint(netw, ep)
	wep.Default()
	if err := wep.Validate(); err != nil {
		return nil, d.fail("CreateEndpoint", fmt.Errorf("endpoint %s: %w", ep.endpointID, err))
	}
	d.prepareVeth(ep.endpointID, ep.mac) // Join waits for it (vethprep.go)
	d.local.create(ep.endpointID, &createdEndpoint{req: ep, netw: netw, wep: wep})
	d.log.Info("Created endpoint", "endpoint", ep.endpointID, "network", netw.ID, "addrs", wep.Spec.IPNetworks, "profile", netw.Profile,
		"labelsPending", labelsPending(wep), "took", time.Since(start))
	resp := &network.CreateEndpointResponse{Interface: &network.EndpointInterface{}}
	if !ep.macFromDocker {
		// Docker accepts a MAC from the driver only when it sent none.
		resp.Interface.MacAddress = ep.mac.String()
	}
	return resp, nil
}

// ownAddresses records the endpoint's addresses against its handle. An
// address that is no longer allocated (its provisional allocation was
// garbage-collected, or released by an operator, between RequestAddress
// and now) is allocated again, unless another endpoint has it by now.
func (d *Driver) ownAddresses(ctx context.Context, ep *endpointRequest, netw *Network, wepName string) error {
	attrs := map[string]string{"endpoint": ep.endpointID, "network": netw.ID, "workloadEndpoint": wepName}
	for _, a := range ep.addrs {
		err := d.ipam.SetHandle(ctx, a.Addr(), Handle(ep.endpointID), attrs)
		if errors.Is(err, ipam.ErrNotAllocated) {
			d.log.Warn("The endpoint's address was released before the endpoint was created; allocating it again",
				"endpoint", ep.endpointID, "addr", a.Addr())
			err = d.ipam.AssignIP(ctx, a.Addr(), Handle(ep.endpointID), attrs)
		}
		if err != nil {
			return fmt.Errorf("endpoint %s: record address %s: %w", ep.endpointID, a.Addr(), err)
		}
	}
	return nil
}

// storeEndpoint creates wep; a retried Join of the same endpoint
// replaces its own record.
func (d *Driver) storeEndpoint(ctx context.Context, wep *resources.WorkloadEndpoint) error {
	wep.ResourceVersion = ""
	_, err := d.store.Create(ctx, wep)
	if !errors.Is(err, datastore.ErrAlreadyExists) {
		return err
	}
	_, err = d.store.Update(ctx, wep)
	return err
}

func (d *Driver) workloadEndpoint(netw *Network, ep *endpointRequest) *resources.WorkloadEndpoint {
	wep := resources.NewWorkloadEndpoint(WorkloadEndpointName(d.node, ep.endpointID))
	wep.Namespace = netw.namespace() // namespace.go
	wep.Labels = map[string]string{
		resources.LabelOrchestrator: resources.OrchestratorLibnetwork,
		resources.LabelProfile:      netw.Profile,
	}
	if d.labels != nil { // the container's labels are read after Join
		wep.Annotations = map[string]string{resources.AnnotationLabelsPending: "true"}
	}
	if validLabelValue(netw.Name) {
		wep.Labels[resources.LabelNetwork] = netw.Name
	}
	wep.Spec = resources.WorkloadEndpointSpec{
		Orchestrator:  resources.OrchestratorLibnetwork,
		Node:          d.node,
		Endpoint:      ep.endpointID,
		Network:       netw.ID,
		Profiles:      []string{netw.Profile},
		InterfaceName: HostIface(ep.endpointID),
		MAC:           ep.mac.String(),
	}
	for _, a := range ep.addrs {
		wep.Spec.IPNetworks = append(wep.Spec.IPNetworks, a.String())
	}
	return wep
}

var labelValuePattern = regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`)

func validLabelValue(s string) bool { return len(s) <= 63 && labelValuePattern.MatchString(s) }

// DeleteEndpoint removes the WorkloadEndpoint and the veth, should Leave
// not have run (in the background, as Leave does). Addresses are not released here: Docker calls
// calico-ipam's ReleaseAddress right after this.
func (d *Driver) DeleteEndpoint(ctx context.Context, req *network.DeleteEndpointRequest) error {
	start := time.Now()
	if err := checkID("EndpointID", req.EndpointID); err != nil {
		return d.fail("DeleteEndpoint", err)
	}
	d.deleteVethLater(req.EndpointID)
	d.local.forget(req.EndpointID)
	if d.labels != nil {
		d.labels.forget(req.EndpointID)
	}
	name := WorkloadEndpointName(d.node, req.EndpointID)
	ns, err := d.namespaceOf(ctx, req.NetworkID)
	if err == nil {
		_, err = d.store.Delete(ctx, resources.KindWorkloadEndpoint, ns, name, "")
	}
	if err != nil && !errors.Is(err, datastore.ErrNotFound) {
		return d.fail("DeleteEndpoint", err, "endpoint", req.EndpointID)
	}
	d.log.Info("Deleted endpoint", "endpoint", req.EndpointID, "took", time.Since(start))
	return nil
}
