package rules

import (
	"fmt"
	"github.com/calico-docker/calico-libnetwork/internal/seeds"
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/calc"
	ipt "github.com/calico-docker/calico-libnetwork/felix/iptables"
	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
)

func buildModel(t testing.TB, yamls string, weps ...*resources.WorkloadEndpoint) *calc.Model {
	t.Helper()
	var ups []model.Update
	if yamls != "" {
		objs, err := resources.DecodeBytes([]byte(yamls))
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			if err := o.Validate(); err != nil {
				t.Fatal(err)
			}
			ups = append(ups, model.UpdateOf(o))
		}
	}
	for _, w := range weps {
		ups = append(ups, model.UpdateOf(w))
	}
	m := calc.NewModel()
	m.Apply(model.SyncEvent{Full: true, Updates: ups})
	return m
}

func wep(name, node, ip string, labels map[string]string) *resources.WorkloadEndpoint {
	w := resources.NewWorkloadEndpoint(name)
	w.Spec.Node, w.Spec.InterfaceName = node, "cali"+name
	w.Spec.IPNetworks = []string{ip + "/32"}
	w.Spec.MAC = "02:00:00:00:00:01"
	w.Spec.Profiles = []string{"net1"}
	w.Labels = labels
	return w
}

var seed = `apiVersion: projectcalico.org/v3
kind: Profile
metadata: {name: net1}
spec:
  labelsToApply: {pcn.net1: ""}
  ingress: [{action: Allow, source: {selector: "has(pcn.net1)"}}]
  egress: [{action: Allow}]
---
` + seeds.BookstorePolicy

func chain(res Result, name string) []ipt.Rule {
	for _, c := range res.Chains {
		if c.Name == name {
			return c.Rules
		}
	}
	return nil
}

func text(rules []ipt.Rule) string {
	var b strings.Builder
	for _, r := range rules {
		fmt.Fprintf(&b, "%s -j %s\n", r.Match, r.Action)
	}
	return b.String()
}

func TestRenderSeed(t *testing.T) {
	m := buildModel(t, seed,
		wep("bs", "h1", "10.0.0.2", map[string]string{"biz_type": "bookstore", "role": "server"}),
		wep("bf", "h1", "10.0.0.1", map[string]string{"biz_type": "bookstore"}),
		wep("ff", "h2", "10.0.0.3", map[string]string{"biz_type": "fruitstore"}))
	res := Render(m, "h1", Config{IPVersion: 4})
	pol := text(chain(res, PolicyChain("NetworkPolicy/default/allow-bookstore-cliient-to-server", true)))
	bookSel, _ := calc.InNamespace("biz_type == 'bookstore'", "default") // a NetworkPolicy's rules see its namespace
	fruitSel, _ := calc.InNamespace("biz_type == 'fruitstore'", "default")
	bookSet, fruitSet := IPSetName(bookSel.UniqueID(), 4), IPSetName(fruitSel.UniqueID(), 4)
	for _, want := range []string{
		"-p tcp -m set --match-set " + bookSet + " src -m multiport --dports 80 -j MARK --set-xmark 0x10000/0x10000",
		"-p tcp -m set --match-set " + fruitSet + " src -m multiport --dports 80 -j DROP",
	} {
		if !strings.Contains(pol, want) {
			t.Errorf("policy chain lacks %q:\n%s", want, pol)
		}
	}
	if got := res.IPSets[fruitSet]; len(got) != 1 || got[0].String() != "10.0.0.3/32" {
		t.Errorf("fruit set = %v (remote endpoints must be members)", got)
	}
	fw := text(chain(res, EndpointChain("calibs", true)))
	if !strings.Contains(fw, "-m mac ! --mac-source 02:00:00:00:00:01 -j DROP") || !strings.Contains(fw, "-s 10.0.0.2/32 -g cali-ge-") {
		t.Errorf("anti-spoofing missing:\n%s", fw)
	}
	// Only local endpoints get dispatch entries; the remote one doesn't.
	disp := text(chain(res, ChainToDispatch))
	if !strings.Contains(disp, "-o calibs") || strings.Contains(disp, "califf") || !strings.HasSuffix(disp, " -j DROP\n") {
		t.Errorf("dispatch:\n%s", disp)
	}
	// Server and frontend have different policy lists → two ingress groups;
	// both share the egress group (no egress policy, same profile).
	var gi, ge int
	for _, c := range res.Chains {
		gi += b2i(strings.HasPrefix(c.Name, "cali-gi-"))
		ge += b2i(strings.HasPrefix(c.Name, "cali-ge-"))
		if len(c.Name) > maxChain {
			t.Errorf("chain name %q too long", c.Name)
		}
	}
	if gi != 2 || ge != 1 {
		t.Errorf("groups: %d ingress, %d egress; want 2, 1", gi, ge)
	}
}

func TestRenderPendingFailsClosed(t *testing.T) {
	w := wep("p", "h1", "10.0.0.9", nil)
	w.Annotations = map[string]string{resources.AnnotationLabelsPending: "true"}
	res := Render(buildModel(t, seed, w), "h1", Config{IPVersion: 4})
	if got := text(chain(res, EndpointChain("calip", false))); got != " -j DROP\n" {
		t.Fatalf("pending endpoint chain = %q", got)
	}
}

func TestRenderFamiliesAndExpansion(t *testing.T) {
	y := seed + `---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: g}
spec:
  selector: all()
  ingress:
  - {action: Allow, protocol: UDP, source: {nets: [10.1.0.0/16, 10.2.0.0/16, "fd00::/64"], notNets: [10.1.2.0/24]}, destination: {ports: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, "20:30"]}}
  - {action: Allow, protocol: ICMPv6}
  - {action: Log, ipVersion: 6}
  - {action: Deny, protocol: ICMP, icmp: {type: 8, code: 0}}
`
	m := buildModel(t, y, wep("a", "h1", "10.0.0.2", nil))
	v4 := text(chain(Render(m, "h1", Config{IPVersion: 4}), PolicyChain("GlobalNetworkPolicy/g", true)))
	// 2 v4 nets x 2 port chunks = 4 allow matches (x2 rules each) + 1 deny.
	if n := strings.Count(v4, "--set-xmark 0x10000/0x10000\n"); n != 4 {
		t.Errorf("v4 allow rules = %d, want 4:\n%s", n, v4)
	}
	for _, want := range []string{"-m iprange ! --src-range 10.1.2.0-10.1.2.255", "-p icmp -m icmp --icmp-type 8/0 -j DROP"} {
		if !strings.Contains(v4, want) {
			t.Errorf("v4 lacks %q:\n%s", want, v4)
		}
	}
	if strings.Contains(v4, "fd00") || strings.Contains(v4, "ipv6-icmp") || strings.Contains(v4, "LOG") {
		t.Errorf("v6-only criteria leaked into v4:\n%s", v4)
	}
	v6 := text(chain(Render(m, "h1", Config{IPVersion: 6}), PolicyChain("GlobalNetworkPolicy/g", true)))
	if !strings.Contains(v6, "-s fd00::/64") || !strings.Contains(v6, "-p ipv6-icmp") || !strings.Contains(v6, "LOG") || strings.Contains(v6, "icmp-type 8") {
		t.Errorf("v6 chain wrong:\n%s", v6)
	}
}

// TestRuleCountLinear checks the rule count grows with policies +
// endpoints: 200 endpoints and 200 policies each selecting one endpoint.
func TestRuleCountLinear(t *testing.T) {
	small := ruleCount(t, 20, 20)
	big := ruleCount(t, 200, 200)
	if big > 12*small {
		t.Fatalf("rules grew superlinearly: %d for 20+20, %d for 200+200", small, big)
	}
	t.Logf("rules: %d for 20 endpoints + 20 policies, %d for 200 + 200", small, big)
}

func ruleCount(t testing.TB, endpoints, policies int) int {
	m, err := ScaleModel(endpoints, policies)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range Render(m, "h1", Config{IPVersion: 4}).Chains {
		n += len(c.Rules)
	}
	return n
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func BenchmarkRender1000x1000(b *testing.B) {
	m, err := ScaleModel(1000, 1000)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res := Render(m, "h1", Config{IPVersion: 4})
		if i == 0 {
			n := 0
			for _, c := range res.Chains {
				n += len(c.Rules)
			}
			b.ReportMetric(float64(n), "rules")
		}
	}
}

// TestRenderHostChains: the host is protected unless configured otherwise,
// and IPv6 neighbour discovery with the host passes before anti-spoofing.
func TestRenderHostChains(t *testing.T) {
	m := buildModel(t, seed, wep("a", "h1", "10.0.0.1", nil))
	for _, tc := range []struct {
		cfg        Config
		last       string
		ndpAllowed bool
	}{
		{Config{IPVersion: 4}, "DROP", false},
		{Config{IPVersion: 4, EndpointToHostAccept: true}, "ACCEPT", false},
		{Config{IPVersion: 6}, "DROP", true},
	} {
		input := chain(Render(m, "h1", tc.cfg), ChainInput)
		if got := input[len(input)-1]; got.Match != "-i cali+" || got.Action != tc.last {
			t.Errorf("%+v: last INPUT rule %+v, want -i cali+ -j %s", tc.cfg, got, tc.last)
		}
		ndp := strings.Contains(text(input), "--icmpv6-type 135")
		if ndp != tc.ndpAllowed {
			t.Errorf("%+v: neighbour solicitation accepted=%v, want %v:\n%s", tc.cfg, ndp, tc.ndpAllowed, text(input))
		}
		if out := chain(Render(m, "h1", tc.cfg), ChainOutput); text(out) != "-o cali+ -j ACCEPT\n" {
			t.Errorf("%+v: OUTPUT %q, want host-to-workload accepted", tc.cfg, text(out))
		}
	}
}
