package felix

import (
	"github.com/calico-docker/calico-libnetwork/felix/routes"
)

// Routing across hosts: package routing computes the routes to other
// hosts' workloads, the VXLAN device with its FDB and neighbour entries
// and tunl0's configuration, and hands them over with SetRoutes; the loop
// programs them with a routes.Manager, marked Config.TunnelRouteProtocol
// (81), apart from the workload routes and blackholes of
// Config.RouteProtocol (80). Each side deletes only stale routes of its own
// protocol. They are re-read and repaired at every full resync, when one of
// them is deleted behind our back (kernel watch) and whenever routing hands
// over a new state; they are removed when the loop stops (routes learned
// from peers must not outlive the process that keeps them correct), while
// workload routes stay.

// SetRoutes replaces routing's desired state. Until the first call the
// loop leaves routes of Config.TunnelRouteProtocol and the tunnel devices
// alone (a restarted daemon keeps them until routing knows better; see
// routes.Desired.KeepStale for the time after).
func (d *Dataplane) SetRoutes(des routes.Desired) {
	des = des.Clone()
	d.change(func() { d.remote, d.remoteDirty = &des, true; d.remoteGen++ })
}

// RoutesStatus reports the last apply of routing's desired state.
func (d *Dataplane) RoutesStatus() routes.Status {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := d.remoteStatus
	st.InSync = st.InSync && d.remoteStatusGen == d.remoteGen // nothing newer waits
	st.Conflicts = append([]string(nil), st.Conflicts...)
	return st
}

// IPIPSupport reports whether the kernel supports IPIP tunnels, and if not
// why, as probed at Start (Config.ProbeIPIP; false before).
func (d *Dataplane) IPIPSupport() (bool, string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.cfg.ProbeIPIP {
		return false, "IPIP support was not probed (felix Config.ProbeIPIP is off)"
	}
	return d.ipipOK, d.ipipReason
}

// pokeRemote wakes the loop to re-apply routing's state: one of its routes
// was deleted behind our back.
func (d *Dataplane) pokeRemote() {
	d.mu.Lock()
	d.remoteDirty = true
	d.mu.Unlock()
	d.poke()
}

// syncTunnels applies routing's desired state; the loop goroutine only.
func (k *kernelState) syncTunnels(des routes.Desired, gen uint64) error {
	if k.remote == nil {
		k.remote = routes.NewManager(routes.Config{RouteProtocol: k.cfg.TunnelRouteProtocol, Logger: k.log, Dumps: k.dumps}, k.nl)
	}
	st, err := k.remote.Apply(des)
	k.remoteApplies++
	st.Applies = k.remoteApplies
	k.remoteStatus, k.remoteGen = st, gen
	return err
}

// removeTunnelRoutes deletes routing's routes when the loop stops, if it
// ever programmed them.
func (k *kernelState) removeTunnelRoutes() {
	if k.remote == nil {
		return
	}
	if n, err := k.remote.RemoveOurRoutes(); err != nil {
		k.log.Warn("Could not remove routes to other hosts at shutdown", "err", err)
	} else {
		k.log.Info("Removed routes to other hosts at shutdown", "routes", n)
	}
}
