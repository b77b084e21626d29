package testbed

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/docker/go-plugins-helpers/ipam"
	"github.com/docker/go-plugins-helpers/network"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Network is a Docker network made with the calico drivers on every host
// (networks are local-scoped: each host's engine creates its own).
type Network struct {
	Name    string
	Profile string
	Subnet  netip.Prefix // invalid: every pool
	IPv6    bool         // dual-stack: an IPv6 address from every IPv6 pool too
	ids     map[*Host]string
	pools   map[*Host]string
	pools6  map[*Host]string
}

// CreateNetwork does on every host what `docker network create --driver
// calico --ipam-driver calico-ipam [--subnet S] [--opt
// org.projectcalico.profile=P] name` does: RequestPool, the gateway
// RequestAddress, CreateNetwork.
func (b *Bed) CreateNetwork(name string, subnet netip.Prefix, profile string) (*Network, error) {
	return b.createNetwork(&Network{Name: name, Profile: profile, Subnet: subnet})
}

// CreateDualStackNetwork is CreateNetwork with `--ipv6`: workloads get an
// IPv4 address and an IPv6 one (from any enabled IPv6 pool).
func (b *Bed) CreateDualStackNetwork(name string, subnet netip.Prefix, profile string) (*Network, error) {
	return b.createNetwork(&Network{Name: name, Profile: profile, Subnet: subnet, IPv6: true})
}

func (b *Bed) createNetwork(n *Network) (*Network, error) {
	n.ids, n.pools, n.pools6 = map[*Host]string{}, map[*Host]string{}, map[*Host]string{}
	for _, h := range b.Hosts {
		if err := h.createNetwork(n); err != nil {
			return nil, err
		}
	}
	return n, nil
}

func (h *Host) createNetwork(n *Network) error {
	pool := ""
	if n.Subnet.IsValid() {
		pool = n.Subnet.String()
	}
	var pr ipam.RequestPoolResponse
	if err := h.call("calico-ipam", "/IpamDriver.RequestPool", ipam.RequestPoolRequest{
		AddressSpace: "CalicoGlobalAddressSpace", Pool: pool, Options: map[string]string{}}, &pr); err != nil {
		return err
	}
	var gw ipam.RequestAddressResponse
	if err := h.call("calico-ipam", "/IpamDriver.RequestAddress", ipam.RequestAddressRequest{
		PoolID: pr.PoolID, Options: map[string]string{"RequestAddressType": "com.docker.network.gateway"}}, &gw); err != nil {
		return err
	}
	var data6 []*network.IPAMData
	if n.IPv6 {
		var pr6 ipam.RequestPoolResponse
		if err := h.call("calico-ipam", "/IpamDriver.RequestPool", ipam.RequestPoolRequest{
			AddressSpace: "CalicoGlobalAddressSpace", V6: true, Options: map[string]string{}}, &pr6); err != nil {
			return err
		}
		var gw6 ipam.RequestAddressResponse
		if err := h.call("calico-ipam", "/IpamDriver.RequestAddress", ipam.RequestAddressRequest{
			PoolID: pr6.PoolID, Options: map[string]string{"RequestAddressType": "com.docker.network.gateway"}}, &gw6); err != nil {
			return err
		}
		n.pools6[h] = pr6.PoolID
		data6 = []*network.IPAMData{{AddressSpace: "CalicoGlobalAddressSpace", Pool: pr6.Pool, Gateway: gw6.Address}}
	}
	generic := map[string]any{}
	if n.Profile != "" {
		generic["org.projectcalico.profile"] = n.Profile
	}
	id := randomID()
	h.Docker.AddNetwork(id, n.Name)
	err := h.call("calico", "/NetworkDriver.CreateNetwork", network.CreateNetworkRequest{
		NetworkID: id, Options: map[string]any{"com.docker.network.enable_ipv6": n.IPv6, "com.docker.network.generic": generic},
		IPv4Data: []*network.IPAMData{{AddressSpace: "CalicoGlobalAddressSpace", Pool: pr.Pool, Gateway: gw.Address}},
		IPv6Data: data6,
	}, nil)
	if err != nil {
		return err
	}
	n.ids[h], n.pools[h] = id, pr.PoolID
	return nil
}

// Workload is a "container" on a host: a namespace with cali0.
type Workload struct {
	Name        string
	Host        *Host
	Net         *Network
	NS          *NS
	IP          netip.Addr
	IP6         netip.Addr // on dual-stack networks
	EndpointID  string
	ContainerID string
	// Joined is when Join returned (what Docker then starts from).
	Joined time.Time
}

var workloadSeq struct {
	sync.Mutex
	n int
}

// AddWorkload does what `docker run --net <net> --label ...` does with the
// drivers: RequestAddress, CreateEndpoint, Join; then, as Docker does with
// Join's answer, moves the veth into the container's namespace as cali0
// with its address, the answered routes and the default route. Labels are
// the container's (org.projectcalico.label.* become endpoint labels).
func (h *Host) AddWorkload(n *Network, labels map[string]string) (_ *Workload, err error) {
	workloadSeq.Lock()
	workloadSeq.n++
	seq := workloadSeq.n
	workloadSeq.Unlock()
	w := &Workload{Name: fmt.Sprintf("wl%d", seq), Host: h, Net: n, EndpointID: randomID(), ContainerID: randomID()}
	if w.NS, err = h.bed.track(w.Name); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = w.Remove()
		}
	}()
	var ar ipam.RequestAddressResponse
	if err := h.call("calico-ipam", "/IpamDriver.RequestAddress", ipam.RequestAddressRequest{PoolID: n.pools[h], Options: map[string]string{}}, &ar); err != nil {
		return nil, err
	}
	addr, err := netip.ParsePrefix(ar.Address)
	if err != nil {
		return nil, fmt.Errorf("RequestAddress answered %q: %w", ar.Address, err)
	}
	w.IP = addr.Addr()
	iface := &network.EndpointInterface{Address: ar.Address}
	if n.IPv6 {
		if iface.AddressIPv6, err = h.requestIPv6(n); err != nil {
			return nil, err
		}
		w.IP6 = netip.MustParsePrefix(iface.AddressIPv6).Addr()
	}
	h.Docker.AddContainer(w.ContainerID, w.Name, labels)
	var cr network.CreateEndpointResponse
	if err := h.call("calico", "/NetworkDriver.CreateEndpoint", network.CreateEndpointRequest{NetworkID: n.ids[h], EndpointID: w.EndpointID,
		Interface: iface, Options: map[string]any{}}, &cr); err != nil {
		return nil, err
	}
	var jr network.JoinResponse
	if err := h.call("calico", "/NetworkDriver.Join", network.JoinRequest{NetworkID: n.ids[h], EndpointID: w.EndpointID,
		SandboxKey: w.NS.Path, Options: map[string]any{}}, &jr); err != nil {
		return nil, err
	}
	w.Joined = time.Now()
	if err := w.plumb(jr, addr); err != nil {
		return nil, err
	}
	h.Docker.Connect(w.ContainerID, n.ids[h], w.EndpointID)
	return w, nil
}

// requestIPv6 gets an address from the network's IPv6 pool.
func (h *Host) requestIPv6(n *Network) (string, error) {
	var ar ipam.RequestAddressResponse
	if err := h.call("calico-ipam", "/IpamDriver.RequestAddress", ipam.RequestAddressRequest{PoolID: n.pools6[h], Options: map[string]string{}}, &ar); err != nil {
		return "", err
	}
	if _, err := netip.ParsePrefix(ar.Address); err != nil {
		return "", fmt.Errorf("RequestAddress (IPv6) answered %q: %w", ar.Address, err)
	}
	return ar.Address, nil
}

// plumb sets up the container side from Join's answer, as Docker does.
func (w *Workload) plumb(jr network.JoinResponse, addr netip.Prefix) error {
	host := w.Host.NS
	tmp, err := host.NL.LinkByName(jr.InterfaceName.SrcName)
	if err != nil {
		return fmt.Errorf("interface %s from Join: %w", jr.InterfaceName.SrcName, err)
	}
	if err := host.NL.LinkSetNsFd(tmp, int(*w.NS.NS.Handle())); err != nil {
		return err
	}
	nl := w.NS.NL
	link, err := nl.LinkByName(jr.InterfaceName.SrcName)
	if err != nil {
		return err
	}
	if err := errors.Join(nl.LinkSetName(link, jr.InterfaceName.DstPrefix+"0"), nl.LinkSetUp(link)); err != nil {
		return err
	}
	if err := nl.AddrAdd(link, &netlink.Addr{IPNet: ipNet(addr)}); err != nil {
		return err
	}
	if w.IP6.IsValid() {
		if err := nl.AddrAdd(link, &netlink.Addr{IPNet: ipNet(netip.PrefixFrom(w.IP6, 128)), Flags: unix.IFA_F_NODAD}); err != nil {
			return err
		}
	}
	for _, r := range jr.StaticRoutes {
		dst, err := netip.ParsePrefix(r.Destination)
		if err != nil {
			return err
		}
		rt := &netlink.Route{LinkIndex: link.Attrs().Index, Dst: ipNet(dst), Scope: netlink.SCOPE_LINK}
		if r.RouteType == 0 {
			rt.Gw, rt.Scope = net.ParseIP(r.NextHop), netlink.SCOPE_UNIVERSE
		}
		if err := nl.RouteAdd(rt); err != nil {
			return fmt.Errorf("route %s: %w", r.Destination, err)
		}
	}
	def := &netlink.Route{LinkIndex: link.Attrs().Index, Gw: net.ParseIP(jr.Gateway), Dst: ipNet(netip.MustParsePrefix("0.0.0.0/0"))}
	if err := nl.RouteAdd(def); err != nil || jr.GatewayIPv6 == "" {
		return err
	}
	def6 := &netlink.Route{LinkIndex: link.Attrs().Index, Gw: net.ParseIP(jr.GatewayIPv6), Dst: ipNet(netip.MustParsePrefix("::/0"))}
	return nl.RouteAdd(def6)
}

// Remove does what `docker rm -f` does with the drivers (Leave,
// DeleteEndpoint, ReleaseAddress) and deletes the workload's namespace.
func (w *Workload) Remove() error {
	h := w.Host
	var errs []error
	if w.IP.IsValid() {
		errs = append(errs,
			h.call("calico", "/NetworkDriver.Leave", network.LeaveRequest{NetworkID: w.Net.ids[h], EndpointID: w.EndpointID}, nil),
			h.call("calico", "/NetworkDriver.DeleteEndpoint", network.DeleteEndpointRequest{NetworkID: w.Net.ids[h], EndpointID: w.EndpointID}, nil),
			h.call("calico-ipam", "/IpamDriver.ReleaseAddress", ipam.ReleaseAddressRequest{PoolID: w.Net.pools[h], Address: w.IP.String()}, nil))
	}
	if w.IP6.IsValid() {
		errs = append(errs, h.call("calico-ipam", "/IpamDriver.ReleaseAddress",
			ipam.ReleaseAddressRequest{PoolID: w.Net.pools6[h], Address: w.IP6.String()}, nil))
	}
	h.Docker.RemoveContainer(w.ContainerID)
	h.bed.mu.Lock()
	for i, n := range h.bed.nss {
		if n == w.NS {
			h.bed.nss = append(h.bed.nss[:i], h.bed.nss[i+1:]...)
			break
		}
	}
	h.bed.mu.Unlock()
	errs = append(errs, w.NS.delete())
	return errors.Join(errs...)
}

func randomID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
