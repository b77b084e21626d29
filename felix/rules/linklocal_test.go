package rules

import (
	"strings"
	"testing"
)

// Workload traffic to link-local destinations is dropped in cali-FORWARD
// before policy could accept it, for both families and whatever
// endpoint_to_host_action says.
func TestLinkLocalNeverForwarded(t *testing.T) {
	m := buildModel(t, "")
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{IPVersion: 4}, "-i cali+ -d 169.254.0.0/16 -j DROP"},
		{Config{IPVersion: 4, EndpointToHostAccept: true}, "-i cali+ -d 169.254.0.0/16 -j DROP"},
		{Config{IPVersion: 6}, "-i cali+ -d fe80::/10 -j DROP"},
	} {
		fwd := text(chain(Render(m, "h1", tc.cfg), ChainForward))
		i, j := strings.Index(fwd, tc.want), strings.Index(fwd, ChainFromDispatch)
		if i < 0 || j < 0 || i > j {
			t.Errorf("%+v: cali-FORWARD lacks %q before the workload dispatch:\n%s", tc.cfg, tc.want, fwd)
		}
	}
}
