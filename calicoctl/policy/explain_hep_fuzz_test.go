package policy

import (
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/calc"
	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// FuzzExplainParty: whatever --from/--to says (host endpoint forms
// included), resolving it never panics and either names the flag in its
// error or yields parties with a valid address.
func FuzzExplainParty(f *testing.F) {
	for _, s := range []string{"hostendpoint/h1-eth0", "hostendpoint/", "host1:eth0", "host1:", ":eth0", "host2:eth0",
		"host1:cali0", "h1-eth0", "192.168.1.1", "10.0.0.300", "fe80::1%eth0", "a:b:c", "host1:*"} {
		f.Add(s)
	}
	v := &policyView{Model: calc.NewModel(), ix: &cli.EndpointIndex{}}
	h := resources.NewHostEndpoint("h1-eth0")
	h.Spec.Node, h.Spec.InterfaceName, h.Spec.ExpectedIPs = "host1", "eth0", []string{"192.168.1.1"}
	all := resources.NewHostEndpoint("h2-all")
	all.Spec.Node, all.Spec.InterfaceName = "host2", "*"
	for _, o := range []resources.Resource{h, all} {
		v.Model.Update(model.UpdateOf(o))
	}
	f.Fuzz(func(t *testing.T, arg string) {
		ps, err := v.candidates("--to", arg)
		if err != nil {
			if !strings.Contains(err.Error(), "--to") {
				t.Errorf("%q: error does not name the flag: %v", arg, err)
			}
			return
		}
		for _, p := range ps {
			if !p.addr.IsValid() {
				t.Errorf("%q: party without an address: %+v", arg, p)
			}
		}
	})
}
