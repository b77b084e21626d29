package routing

import (
	"time"

	"github.com/calico-docker/calico-libnetwork/felix/routes"
	"github.com/calico-docker/calico-libnetwork/routing/bgp"
	"github.com/calico-docker/calico-libnetwork/routing/status"
)

// Status reports routing for the status endpoint (package status).
func (r *Router) Status() status.Status {
	r.mu.Lock()
	self := r.c.nodes[r.cfg.NodeName]
	vx, vteps := r.c.vxlanDevice(r.cfg.NodeName, r.opts)
	ipip := r.c.ipipDevice(r.cfg.NodeName, r.opts)
	ipipWanted := len(r.c.poolsWhere(ipipPool)) > 0
	keep, tunnelErr := r.keepStale, r.tunnelErr
	r.mu.Unlock()

	st := status.Status{Node: r.cfg.NodeName, Time: time.Now().UTC(), Backend: r.cfg.Backend}
	if r.speaker != nil {
		st.BGP = bgpStatus(r.speaker.Status())
		if ip := nodeIPv4(self); ip.IsValid() {
			st.BGP.IPv4Address = ip.String()
		} else {
			st.BGP.LastError = "this node has no IPv4 BGP address (spec.bgp.ipv4Address): set IP or fix autodetection"
		}
	}
	if r.dp != nil {
		ds := r.dp.RoutesStatus()
		st.Routes = status.Routes{InSync: ds.InSync, Programmed: ds.Routes, Protocol: r.cfg.RouteProtocol,
			KeepingStale: keep, Conflicts: ds.Conflicts, LastError: ds.LastError}
	}
	st.Encapsulation.VXLAN = status.VXLAN{Enabled: vx != nil, Device: routes.DefaultVXLANDevice,
		VNI: r.opts.vxlanVNI, Port: r.opts.vxlanPort, MTU: r.opts.vxlanMTU, Peers: len(vteps)}
	if vx != nil {
		st.Encapsulation.VXLAN.TunnelAddress, st.Encapsulation.VXLAN.MAC = vx.Addr.String(), vx.MAC.String()
	}
	st.Encapsulation.IPIP = status.IPIP{Enabled: ipipWanted, Available: r.opts.ipipAvailable, Reason: r.ipipWhy,
		Device: routes.IPIPDevice, MTU: r.opts.ipipMTU}
	if ipip != nil {
		st.Encapsulation.IPIP.TunnelAddress = ipip.Addr.String()
	}
	if tunnelErr != nil && st.Routes.LastError == "" {
		st.Routes.LastError = "tunnel address: " + tunnelErr.Error()
	}
	return st
}

func bgpStatus(s bgp.Status) *status.BGP {
	out := &status.BGP{Running: s.Running, Exported: s.Exported, Learned: s.Learned, LastError: s.LastError,
		Peers: []status.Peer{}}
	if s.Running {
		out.ASNumber, out.RouterID, out.ListenPort = s.Global.ASN, s.Global.RouterID.String(), s.Global.ListenPort
	}
	for _, p := range s.Peers {
		sp := status.Peer{PeerIP: p.Address.String(), Port: p.Port, ASNumber: p.ASN, Type: string(p.Type), Name: p.Name,
			RouteReflectorClient: p.RRClient, State: p.State, Info: p.Info}
		if !p.Since.IsZero() {
			t := p.Since.UTC()
			sp.Since = &t
		}
		if sp.Info == "" && p.State == "Established" {
			sp.Info = "Established"
		}
		out.Peers = append(out.Peers, sp)
	}
	return out
}
