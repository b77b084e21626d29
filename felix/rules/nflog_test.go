package rules

import (
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/resources"
)

// TestRenderFlowLogs: with FlowLogGroup set, every verdict (policy and
// profile Allow/Deny, end-of-tier drop, default drop) is preceded by an
// NFLOG rule with the same match plus ctstate NEW, whose prefix the
// result's table maps back to the rule; without it, no NFLOG at all.
func TestRenderFlowLogs(t *testing.T) {
	// security passes to the default tier (whose end-of-tier drop ends db's
	// chain); web, which no policy selects, meets the profile's default drop.
	m := buildModel(t, seed0+tierSecurity+"---\n"+polSecDeny+"---\n"+polSecPass+"---\n"+polDefault,
		wep("db", "h1", "10.0.0.2", map[string]string{"role": "db"}), wep("web", "h1", "10.0.0.3", map[string]string{"role": "web"}))
	if res := Render(m, "h1", Config{IPVersion: 4}); len(res.RuleIDs) != 0 || hasNFLOG(res) {
		t.Fatalf("flow logs off: RuleIDs %v, NFLOG rules %v", res.RuleIDs, hasNFLOG(res))
	}
	res := Render(m, "h1", Config{IPVersion: 4, FlowLogGroup: 7})
	want := map[string]RuleID{
		"DI0|gnp:security.deny": {Tier: "security", Kind: resources.KindGlobalNetworkPolicy, Name: "security.deny", Rule: 0,
			Direction: "ingress", Action: "deny", Trigger: TriggerRule},
		"AI0|gnp:allow-web": {Tier: "default", Kind: resources.KindGlobalNetworkPolicy, Name: "allow-web", Rule: 0,
			Direction: "ingress", Action: "allow", Trigger: TriggerRule},
		"DIt|tier:security": {Tier: "security", Rule: -1, Direction: "ingress", Action: "deny", Trigger: TriggerEndOfTier},
		"DIt|tier:default":  {Tier: "default", Rule: -1, Direction: "ingress", Action: "deny", Trigger: TriggerEndOfTier},
		"DId|dd":            {Rule: -1, Direction: "ingress", Action: "deny", Trigger: TriggerDefaultDeny},
		"AE0|pro:net1":      {Kind: resources.KindProfile, Name: "net1", Rule: 0, Direction: "egress", Action: "allow", Trigger: TriggerRule},
	}
	for prefix, id := range want {
		if got, ok := res.RuleIDs[prefix]; !ok || got != id {
			t.Errorf("RuleIDs[%q] = %+v, %v; want %+v", prefix, got, ok, id)
		}
	}
	// Each NFLOG rule precedes a verdict with the same match.
	for _, c := range res.Chains {
		for i, r := range c.Rules {
			if !strings.HasPrefix(r.Action, "NFLOG") {
				continue
			}
			if !strings.Contains(r.Action, "--nflog-group 7 ") || !strings.HasSuffix(r.Match, "-m conntrack --ctstate NEW") {
				t.Errorf("%s: NFLOG rule %+v", c.Name, r)
			}
			next := c.Rules[i+1]
			if strings.TrimSpace(next.Match+" -m conntrack --ctstate NEW") != r.Match {
				t.Errorf("%s: NFLOG match %q does not precede its verdict %+v", c.Name, r.Match, next)
			}
			prefix := r.Action[strings.Index(r.Action, `"`)+1 : len(r.Action)-1]
			if _, ok := res.RuleIDs[prefix]; !ok {
				t.Errorf("%s: prefix %q not in the table", c.Name, prefix)
			}
		}
	}
}

// TestRuleIDPrefixBounded: long names are hashed to stay within the
// kernel's 64 bytes, and still unique.
func TestRuleIDPrefixBounded(t *testing.T) {
	long := strings.Repeat("n", 200)
	a := RuleID{Kind: resources.KindNetworkPolicy, Namespace: "ns", Name: long + "a", Rule: 12, Direction: "egress", Action: "allow", Trigger: TriggerRule}
	b := a
	b.Name = long + "b"
	pa, pb := a.Prefix(), b.Prefix()
	if len(pa) > MaxPrefixLen || len(pb) > MaxPrefixLen || pa == pb || !strings.HasPrefix(pa, "AE12|#") {
		t.Fatalf("prefixes %q (%d) %q (%d)", pa, len(pa), pb, len(pb))
	}
}

func hasNFLOG(res Result) bool {
	for _, c := range res.Chains {
		for _, r := range c.Rules {
			if strings.HasPrefix(r.Action, "NFLOG") {
				return true
			}
		}
	}
	return false
}

// TestRenderFlowLogsPrePolicy: drops before policy are logged too, with
// trigger pre-policy and the reason as name: anti-spoofing (a wrong MAC
// or source address from a workload) and a pending endpoint (labels not
// known yet) in both directions.
func TestRenderFlowLogsPrePolicy(t *testing.T) {
	p := wep("p", "h1", "10.0.0.9", nil)
	p.Annotations = map[string]string{resources.AnnotationLabelsPending: "true"}
	m := buildModel(t, seed0, wep("db", "h1", "10.0.0.2", nil), p)
	res := Render(m, "h1", Config{IPVersion: 4, FlowLogGroup: 7})
	want := map[string]RuleID{
		"DEp|pp:anti-spoofing":    {Name: PrePolicyAntiSpoofing, Rule: -1, Direction: "egress", Action: "deny", Trigger: TriggerPrePolicy},
		"DEp|pp:endpoint-pending": {Name: PrePolicyPending, Rule: -1, Direction: "egress", Action: "deny", Trigger: TriggerPrePolicy},
		"DIp|pp:endpoint-pending": {Name: PrePolicyPending, Rule: -1, Direction: "ingress", Action: "deny", Trigger: TriggerPrePolicy},
	}
	for prefix, id := range want {
		if got, ok := res.RuleIDs[prefix]; !ok || got != id {
			t.Errorf("RuleIDs[%q] = %+v, %v; want %+v", prefix, got, ok, id)
		}
	}
	fw := text(chain(res, EndpointChain("calidb", true)))
	if strings.Count(fw, `--nflog-prefix "DEp|pp:anti-spoofing"`) != 2 {
		t.Errorf("the MAC and the source address checks are not both logged:\n%s", fw)
	}
	if tw := text(chain(res, EndpointChain("calip", false))); !strings.Contains(tw, `"DIp|pp:endpoint-pending"`) || !strings.HasSuffix(tw, " -j DROP\n") {
		t.Errorf("pending endpoint's chain:\n%s", tw)
	}
}
