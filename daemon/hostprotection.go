package daemon

import (
	"github.com/calico-docker/calico-libnetwork/felix"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// HostProtection holds the settings of host endpoint protection: the
// failsafe ports, open to and from this host through any HostEndpoint
// policy so an operator cannot lock themselves out. They feed
// felix.Config.HostEndpoints (a FelixConfiguration's failsafe ports map
// onto the same struct).
type HostProtection struct {
	FailsafeInbound  []resources.ProtoPort
	FailsafeOutbound []resources.ProtoPort
}

func (p *parser) hostProtection() HostProtection {
	return HostProtection{
		FailsafeInbound:  p.protoPorts("failsafe_inbound_host_ports"),
		FailsafeOutbound: p.protoPorts("failsafe_outbound_host_ports"),
	}
}

func (p *parser) protoPorts(key string) []resources.ProtoPort {
	s := p.str(key)
	ports, err := resources.ParseProtoPorts(s)
	if err != nil {
		p.fail(configError(key, s, err.Error()))
	}
	return ports
}

// felixConfig is the dataplane's view of the settings.
func (h HostProtection) felixConfig() felix.HostEndpointConfig {
	return felix.HostEndpointConfig{FailsafeInbound: h.FailsafeInbound, FailsafeOutbound: h.FailsafeOutbound}
}
