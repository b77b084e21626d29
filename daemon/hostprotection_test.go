package daemon

import (
	"slices"
	"testing"

	"github.com/calico-docker/calico-libnetwork/resources"
)

func TestHostProtectionSettings(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		in, out []resources.ProtoPort
		err     string
	}{
		{"Calico's defaults", nil, resources.DefaultFailsafeInboundHostPorts(), resources.DefaultFailsafeOutboundHostPorts(), ""},
		{"set", map[string]string{"CALICO_FAILSAFE_INBOUND_HOST_PORTS": "tcp:2222,udp:10.0.0.0/8:68",
			"CALICO_FAILSAFE_OUTBOUND_HOST_PORTS": "none"},
			[]resources.ProtoPort{{Protocol: "tcp", Port: 2222}, {Protocol: "udp", Port: 68, Net: "10.0.0.0/8"}}, []resources.ProtoPort{}, ""},
		{"felix's variable", map[string]string{"FELIX_FAILSAFEINBOUNDHOSTPORTS": "tcp:22"},
			[]resources.ProtoPort{{Protocol: "tcp", Port: 22}}, resources.DefaultFailsafeOutboundHostPorts(), ""},
		{"bad protocol", map[string]string{"CALICO_FAILSAFE_INBOUND_HOST_PORTS": "icmp:22"}, nil, nil,
			`invalid failsafe_inbound_host_ports "icmp:22" (--failsafe-inbound-host-ports, $CALICO_FAILSAFE_INBOUND_HOST_PORTS`},
		{"bad port", map[string]string{"CALICO_FAILSAFE_OUTBOUND_HOST_PORTS": "udp:53,tcp:bgp"}, nil, nil,
			`failsafe_outbound_host_ports "udp:53,tcp:bgp"`},
		{"bad net", map[string]string{"CALICO_FAILSAFE_INBOUND_HOST_PORTS": "tcp:10.0.0.0/33:22"}, nil, nil,
			"write entries like tcp:22"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := loadFromEnv(t, tc.env, tc.err)
			if c == nil {
				return
			}
			if !slices.Equal(c.FailsafeInbound, tc.in) || !slices.Equal(c.FailsafeOutbound, tc.out) {
				t.Errorf("failsafe ports in %v out %v, want %v %v", c.FailsafeInbound, c.FailsafeOutbound, tc.in, tc.out)
			}
			fc := c.HostProtection.felixConfig()
			if (fc.FailsafeOutbound == nil) != (tc.out == nil) {
				t.Errorf("felix config %+v: an empty list must stay empty (none), not nil (defaults)", fc)
			}
		})
	}
}
