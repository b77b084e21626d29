package bgp

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	api "github.com/osrg/gobgp/v3/api"
	"github.com/osrg/gobgp/v3/pkg/server"
	"google.golang.org/protobuf/types/known/anypb"
)

// Session timers (seconds). ConnectRetry is short so a restarted peer is
// found again quickly.
const (
	connectRetry = 5
	holdTime     = 90
	keepalive    = 30
)

var (
	ipv4Unicast = &api.Family{Afi: api.Family_AFI_IP, Safi: api.Family_SAFI_UNICAST}
	ipv6Unicast = &api.Family{Afi: api.Family_AFI_IP6, Safi: api.Family_SAFI_UNICAST}
)

// familyOf is the unicast family of an address or prefix.
func familyOf(a netip.Addr) *api.Family {
	if a.Is4() {
		return ipv4Unicast
	}
	return ipv6Unicast
}

// applier is Run's memory of what the GoBGP server holds. Only Run's
// goroutine uses it.
type applier struct {
	s       *Speaker
	srv     *server.BgpServer
	global  *Global // nil: the server is stopped
	unwatch context.CancelFunc
	peers   map[netip.Addr]Peer
	exports map[netip.Prefix][]byte // prefix -> path UUID
	// policies are the peers' filters GoBGP holds (filters.go), installed
	// the GoBGP objects of their generation policyGen.
	policies  map[netip.Addr]PeerPolicy
	installed policyNames
	policyGen int
}

// apply converges the server on d. Every step runs; errors are joined.
func (a *applier) apply(ctx context.Context, d Desired) error {
	if d.Global == nil {
		a.stop(false)
		return nil
	}
	if a.global == nil || *a.global != *d.Global {
		a.stop(false)
		if err := a.start(ctx, *d.Global); err != nil {
			return err
		}
	}
	// Filters first, so a new peer's first routes are already filtered.
	if err := a.syncPolicies(ctx, d.Policies); err != nil {
		return err // no session without its filters
	}
	return errors.Join(a.syncPeers(ctx, d.Peers), a.syncExports(ctx, d.Exports))
}

// start starts BGP with identity g and watches peers, best paths and
// End-of-RIB markers.
func (a *applier) start(ctx context.Context, g Global) error {
	port := int32(g.ListenPort)
	if port == 0 {
		port = DefaultPort
	}
	listen := []string{g.RouterID.String()}
	if g.IPv6.IsValid() {
		listen = append(listen, g.IPv6.String())
	}
	err := a.srv.StartBgp(ctx, &api.StartBgpRequest{Global: &api.Global{
		Asn: g.ASN, RouterId: g.RouterID.String(), ListenPort: port, ListenAddresses: listen,
	}})
	if err != nil {
		return fmt.Errorf("start BGP as AS %d, router %s, port %d: %w", g.ASN, g.RouterID, port, err)
	}
	wctx, cancel := context.WithCancel(context.Background())
	err = a.srv.WatchEvent(wctx, &api.WatchEventRequest{
		Peer: &api.WatchEventRequest_Peer{},
		Table: &api.WatchEventRequest_Table{Filters: []*api.WatchEventRequest_Table_Filter{
			{Type: api.WatchEventRequest_Table_Filter_BEST, Init: true},
			{Type: api.WatchEventRequest_Table_Filter_EOR, Init: true},
		}},
	}, a.s.onEvent)
	if err != nil {
		cancel()
		_ = a.srv.StopBgp(ctx, &api.StopBgpRequest{})
		return fmt.Errorf("watch BGP events: %w", err)
	}
	a.global, a.unwatch = &g, cancel
	a.s.mu.Lock()
	a.s.running, a.s.applied = true, g
	a.s.mu.Unlock()
	a.s.log.Info("BGP started", "asNumber", g.ASN, "routerID", g.RouterID, "ipv6Address", g.IPv6, "listenPort", port)
	return nil
}

// stop stops BGP; graceful first closes the sessions without NOTIFICATION
// so peers keep our routes (graceful restart helper mode).
func (a *applier) stop(graceful bool) {
	if a.global == nil {
		return
	}
	if graceful {
		ports := map[int]bool{}
		for _, p := range a.peers {
			ports[portOr179(p.Port)] = true
		}
		n := severSessions(a.global.RouterID, portOr179(a.global.ListenPort), ports)
		if a.global.IPv6.IsValid() {
			n += severSessions(a.global.IPv6, portOr179(a.global.ListenPort), ports)
		}
		a.s.log.Info("Closed BGP sessions for graceful restart", "sessions", n)
	}
	if err := a.srv.StopBgp(context.Background(), &api.StopBgpRequest{}); err != nil {
		a.s.log.Warn("Stopping BGP", "err", err)
	}
	a.unwatch()
	a.global, a.unwatch = nil, nil
	clear(a.peers)
	clear(a.exports)
	a.policies, a.installed = nil, policyNames{} // StartBgp starts with no policies
	a.s.mu.Lock()
	a.s.running, a.s.exported, a.s.priorities = false, 0, false
	clear(a.s.learned)
	clear(a.s.peers)
	a.s.mu.Unlock()
	a.s.notify()
	a.s.log.Info("BGP stopped", "graceful", graceful)
}

func portOr179(p int) int {
	if p <= 0 {
		return DefaultPort
	}
	return p
}

// syncPeers deletes peers no longer desired (or changed) and adds new ones.
func (a *applier) syncPeers(ctx context.Context, want []Peer) error {
	wanted := make(map[netip.Addr]Peer, len(want))
	for _, p := range want {
		wanted[p.key()] = p
	}
	var errs []error
	for addr, have := range a.peers {
		if w, ok := wanted[addr]; ok && w == have {
			continue
		}
		if err := a.srv.DeletePeer(ctx, &api.DeletePeerRequest{Address: addr.String()}); err != nil {
			errs = append(errs, fmt.Errorf("delete BGP peer %s: %w", have, err))
			continue
		}
		delete(a.peers, addr)
		a.s.forgetPeer(addr)
		a.s.log.Info("Removed BGP peer", "peer", have.String())
	}
	for addr, p := range wanted {
		if _, ok := a.peers[addr]; ok {
			continue
		}
		if err := a.srv.AddPeer(ctx, &api.AddPeerRequest{Peer: a.apiPeer(p)}); err != nil {
			errs = append(errs, fmt.Errorf("add BGP peer %s: %w", p, err))
			continue
		}
		a.peers[addr] = p
		a.s.log.Info("Added BGP peer", "peer", p.String())
	}
	return errors.Join(errs...)
}

// apiPeer is the GoBGP configuration of a peer with graceful restart: an
// IPv4 peer gets IPv4 unicast over a session from the router ID, an IPv6
// peer IPv6 unicast over a session from the node's IPv6 address.
func (a *applier) apiPeer(p Peer) *api.Peer {
	local := a.global.RouterID
	if p.Address.Is6() {
		local = a.global.IPv6
	}
	ap := &api.Peer{
		Conf: &api.PeerConf{NeighborAddress: p.Address.String(), PeerAsn: p.ASN, Description: string(p.Type) + " " + p.Name,
			AuthPassword: p.Password},
		Transport: &api.Transport{LocalAddress: local.String(), RemotePort: uint32(p.Port), PassiveMode: p.Passive},
		Timers: &api.Timers{Config: &api.TimersConfig{
			ConnectRetry: connectRetry, HoldTime: holdTime, KeepaliveInterval: keepalive,
		}},
		GracefulRestart: &api.GracefulRestart{Enabled: true, RestartTime: uint32(a.s.cfg.RestartTime.Seconds())},
		AfiSafis: []*api.AfiSafi{{
			Config:            &api.AfiSafiConfig{Family: familyOf(p.Address), Enabled: true},
			MpGracefulRestart: &api.MpGracefulRestart{Config: &api.MpGracefulRestartConfig{Enabled: true}},
		}},
	}
	if p.RRClient {
		ap.RouteReflector = &api.RouteReflector{RouteReflectorClient: true, RouteReflectorClusterId: p.ClusterID}
	}
	if p.Multihop && p.ASN != a.global.ASN {
		ap.EbgpMultihop = &api.EbgpMultihop{Enabled: true, MultihopTtl: 255}
	}
	return ap
}

// syncExports announces new prefixes and withdraws dropped ones.
func (a *applier) syncExports(ctx context.Context, want []netip.Prefix) error {
	wanted := make(map[netip.Prefix]bool, len(want))
	for _, p := range want {
		if p.Addr().Is4() || (p.Addr().Is6() && a.global.IPv6.IsValid()) {
			wanted[p.Masked()] = true
		}
	}
	var errs []error
	for pfx, uuid := range a.exports {
		if wanted[pfx] {
			continue
		}
		if err := a.srv.DeletePath(ctx, &api.DeletePathRequest{Family: familyOf(pfx.Addr()), Uuid: uuid}); err != nil {
			errs = append(errs, fmt.Errorf("withdraw %s: %w", pfx, err))
			continue
		}
		delete(a.exports, pfx)
	}
	for pfx := range wanted {
		if _, ok := a.exports[pfx]; ok {
			continue
		}
		resp, err := a.srv.AddPath(ctx, &api.AddPathRequest{Path: a.path(pfx)})
		if err != nil {
			errs = append(errs, fmt.Errorf("announce %s: %w", pfx, err))
			continue
		}
		a.exports[pfx] = resp.Uuid
	}
	a.s.mu.Lock()
	a.s.exported = len(a.exports)
	a.s.mu.Unlock()
	return errors.Join(errs...)
}

// path is a unicast path for pfx with origin IGP and this node as next
// hop: the router ID for IPv4, the node's IPv6 address (in MP_REACH_NLRI)
// for IPv6.
func (a *applier) path(pfx netip.Prefix) *api.Path {
	nlri, _ := anypb.New(&api.IPAddressPrefix{Prefix: pfx.Addr().String(), PrefixLen: uint32(pfx.Bits())})
	origin, _ := anypb.New(&api.OriginAttribute{Origin: 0})
	if pfx.Addr().Is6() {
		mp, _ := anypb.New(&api.MpReachNLRIAttribute{Family: ipv6Unicast, NextHops: []string{a.global.IPv6.String()},
			Nlris: []*anypb.Any{nlri}})
		return &api.Path{Family: ipv6Unicast, Nlri: nlri, Pattrs: []*anypb.Any{origin, mp}}
	}
	nh, _ := anypb.New(&api.NextHopAttribute{NextHop: a.global.RouterID.String()})
	return &api.Path{Family: ipv4Unicast, Nlri: nlri, Pattrs: []*anypb.Any{origin, nh}}
}
