package routing

import (
	"fmt"

	"github.com/calico-docker/calico-libnetwork/felix/routes"
)

// TunnelSettings are the tunnel settings that may change while routing
// runs (FelixConfiguration vxlanEnabled, vxlanVNI, vxlanPort, vxlanMTU,
// ipipEnabled, ipipMTU, resolved by the daemon). Zero numbers keep the
// defaults.
type TunnelSettings struct {
	// VXLANEnabled and IPIPEnabled: nil follows the IP pools (a device
	// when some pool asks for the encapsulation), as Calico's felix does
	// when they are unset; false means no device and no tunnel routes even
	// when pools ask; true is the same as nil (a device needs a pool's
	// tunnel address anyway).
	VXLANEnabled, IPIPEnabled     *bool
	VXLANVNI, VXLANPort, VXLANMTU int
	IPIPMTU                       int
}

// SetTunnels changes the tunnel settings; the next reconcile hands the
// dataplane devices with the new values (felix changes the MTU, VNI or
// port of an existing device in place or recreates it).
func (r *Router) SetTunnels(t TunnelSettings) error {
	for _, f := range []struct {
		name   string
		v      int
		lo, hi int
	}{{"VXLAN VNI", t.VXLANVNI, 0, 1<<24 - 1}, {"VXLAN port", t.VXLANPort, 0, 65535},
		{"VXLAN MTU", t.VXLANMTU, 0, 65535}, {"IPIP MTU", t.IPIPMTU, 0, 65535}} {
		if f.v < f.lo || f.v > f.hi {
			return fmt.Errorf("%s %d: use %d to %d (0: the default)", f.name, f.v, f.lo, f.hi)
		}
	}
	setDefault(&t.VXLANVNI, routes.DefaultVXLANVNI)
	setDefault(&t.VXLANPort, routes.DefaultVXLANPort)
	setDefault(&t.VXLANMTU, routes.DefaultVXLANMTU)
	setDefault(&t.IPIPMTU, routes.DefaultIPIPMTU)
	r.mu.Lock()
	r.opts.vxlanVNI, r.opts.vxlanPort, r.opts.vxlanMTU, r.opts.ipipMTU = t.VXLANVNI, t.VXLANPort, t.VXLANMTU, t.IPIPMTU
	r.opts.vxlanOff = t.VXLANEnabled != nil && !*t.VXLANEnabled
	r.opts.ipipOff = t.IPIPEnabled != nil && !*t.IPIPEnabled
	r.mu.Unlock()
	r.poke()
	return nil
}

// ipip reports whether routes may use tunl0: the kernel can and
// ipipEnabled is not false.
func (o encapOptions) ipip() bool { return o.ipipAvailable && !o.ipipOff }
