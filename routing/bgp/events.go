package bgp

import (
	"net/netip"
	"time"

	api "github.com/osrg/gobgp/v3/api"
)

// sessionStates names GoBGP's session states as BIRD and calicoctl do.
var sessionStates = map[api.PeerState_SessionState]string{
	api.PeerState_IDLE: "Idle", api.PeerState_CONNECT: "Connect", api.PeerState_ACTIVE: "Active",
	api.PeerState_OPENSENT: "OpenSent", api.PeerState_OPENCONFIRM: "OpenConfirm", api.PeerState_ESTABLISHED: "Established",
}

// onEvent handles one GoBGP watch event (on a GoBGP goroutine): peer state
// changes, best-path changes and End-of-RIB markers.
func (s *Speaker) onEvent(r *api.WatchEventResponse) {
	if pe := r.GetPeer(); pe != nil {
		s.onPeerEvent(pe)
		return
	}
	t := r.GetTable()
	if t == nil {
		return
	}
	s.mu.Lock()
	changed := false
	for _, p := range t.Paths {
		changed = s.onPath(p) || changed
	}
	s.mu.Unlock()
	if changed {
		s.notify()
	}
}

func (s *Speaker) onPeerEvent(pe *api.WatchEventResponse_PeerEvent) {
	if pe.Type != api.WatchEventResponse_PeerEvent_STATE || pe.Peer == nil || pe.Peer.State == nil {
		return
	}
	addr, err := netip.ParseAddr(pe.Peer.State.NeighborAddress)
	if err != nil {
		return
	}
	name, ok := sessionStates[pe.Peer.State.SessionState]
	if !ok {
		name = "Unknown"
	}
	s.mu.Lock()
	st := s.peers[addr.Unmap()]
	if st == nil {
		st = &peerState{}
		s.peers[addr.Unmap()] = st
	}
	if st.state != name {
		st.state, st.since = name, time.Now()
		if name != "Established" {
			st.eor = false
		}
	}
	s.mu.Unlock()
	if name == "Established" || name == "Idle" || name == "Active" {
		s.log.Info("BGP session state", "peer", addr, "state", name)
	}
	s.notify()
}

// onPath records one best-path change (or an End-of-RIB marker); s.mu is
// held. It reports whether the learned routes changed.
func (s *Speaker) onPath(p *api.Path) bool {
	from, _ := netip.ParseAddr(p.NeighborIp)
	from = from.Unmap()
	if p.Nlri == nil { // End-of-RIB
		if st := s.peers[from]; st != nil && from.IsValid() {
			st.eor = true
		}
		return true
	}
	if p.Family == nil || (p.Family.Afi != api.Family_AFI_IP && p.Family.Afi != api.Family_AFI_IP6) ||
		p.Family.Safi != api.Family_SAFI_UNICAST {
		return false
	}
	var nlri api.IPAddressPrefix
	if err := p.Nlri.UnmarshalTo(&nlri); err != nil {
		return false
	}
	addr, err := netip.ParseAddr(nlri.Prefix)
	if p.Family.Afi == api.Family_AFI_IP {
		addr = addr.Unmap()
	}
	if err != nil || int(nlri.PrefixLen) > addr.BitLen() || addr.Is4() != (p.Family.Afi == api.Family_AFI_IP) {
		return false
	}
	pfx := netip.PrefixFrom(addr, int(nlri.PrefixLen)).Masked()
	_, had := s.learned[pfx]
	if p.IsWithdraw || !from.IsValid() || from.IsUnspecified() {
		// Withdrawn, or our own path is now the best: nothing learned.
		delete(s.learned, pfx)
		return had
	}
	nh := nextHop(p)
	if !nh.IsValid() || nh.Is4() != pfx.Addr().Is4() {
		delete(s.learned, pfx)
		return had
	}
	r := Route{Prefix: pfx, NextHop: nh, Peer: from, Stale: p.Stale}
	if s.priorities {
		r.Priority = priorityOf(p)
	}
	s.learned[pfx] = r
	return true
}

// nextHop reads the next hop of a path (NEXT_HOP for IPv4, MP_REACH_NLRI's
// first next hop for IPv6).
func nextHop(p *api.Path) netip.Addr {
	for _, a := range p.Pattrs {
		var nh api.NextHopAttribute
		if a.UnmarshalTo(&nh) == nil {
			if addr, err := netip.ParseAddr(nh.NextHop); err == nil {
				return addr.Unmap()
			}
		}
		var mp api.MpReachNLRIAttribute
		if a.UnmarshalTo(&mp) == nil && len(mp.NextHops) > 0 {
			if addr, err := netip.ParseAddr(mp.NextHops[0]); err == nil {
				return addr.Unmap()
			}
		}
	}
	return netip.Addr{}
}

// priorityOf reads the priority an import policy gave a path (see
// priorityTag); 0: none.
func priorityOf(p *api.Path) int {
	for _, a := range p.Pattrs {
		var lc api.LargeCommunitiesAttribute
		if a.UnmarshalTo(&lc) != nil {
			continue
		}
		for _, c := range lc.Communities {
			if c.GlobalAdmin == 4294967295 && c.LocalData1 == 1 && c.LocalData2 > 0 && c.LocalData2 < 1<<31 {
				return int(c.LocalData2)
			}
		}
	}
	return 0
}

// forgetPeer drops the watch state of a removed peer.
func (s *Speaker) forgetPeer(addr netip.Addr) {
	s.mu.Lock()
	delete(s.peers, addr)
	s.mu.Unlock()
}
