package rules

import (
	"reflect"
	"strings"
	"testing"

	ipt "github.com/calico-docker/calico-libnetwork/felix/iptables"
)

const hdr = "apiVersion: projectcalico.org/v3\nkind: "

// Tiers and policies on endpoint db (role == 'db') for the table below.
var (
	tierSecurity     = hdr + "Tier\nmetadata: {name: security}\nspec: {order: 100}\n"
	tierSecurityPass = hdr + "Tier\nmetadata: {name: security}\nspec: {order: 100, defaultAction: Pass}\n"
	tierPlatform     = hdr + "Tier\nmetadata: {name: platform}\nspec: {order: 50}\n"
	polSecPass       = hdr + "GlobalNetworkPolicy\nmetadata: {name: security.pass}\nspec: {tier: security, order: 2, selector: role == 'db', ingress: [{action: Pass}]}\n"
	polSecDeny       = hdr + "GlobalNetworkPolicy\nmetadata: {name: security.deny}\nspec: {tier: security, order: 1, selector: role == 'db', ingress: [{action: Deny, protocol: UDP}]}\n"
	polPlatform      = hdr + "GlobalNetworkPolicy\nmetadata: {name: platform.ssh}\nspec: {tier: platform, selector: all(), ingress: [{action: Allow, protocol: TCP, destination: {ports: [22]}}, {action: Pass, protocol: UDP}]}\n"
	polDefault       = hdr + "GlobalNetworkPolicy\nmetadata: {name: allow-web}\nspec: {selector: role == 'db', ingress: [{action: Allow}]}\n"
	polDefaultPass   = hdr + "GlobalNetworkPolicy\nmetadata: {name: pass-web}\nspec: {selector: role == 'db', ingress: [{action: Pass, protocol: TCP}]}\n"
	polUnstored      = hdr + "GlobalNetworkPolicy\nmetadata: {name: ops.x}\nspec: {tier: ops, selector: role == 'db', ingress: [{action: Allow}]}\n"
)

// TestRenderTiers: the ingress group chain of an endpoint, rule by rule,
// as tokens: "clear" (both marks), "P:<policy>" (jump while no mark is
// set; unconditional right after a clear), "accepted" (return),
// "end-drop" (no pass mark: drop), "R:<profile>" (jump while not
// accepted; unconditional right after a clear), "drop". A tier none of
// whose policies can pass ends in "drop" (ended): nothing follows it.
func TestRenderTiers(t *testing.T) {
	profiles := []string{"clear", "R:net1", "accepted", "drop"}
	const (
		open   = iota // defaultAction Pass: no end-of-tier drop
		passes        // a policy may pass: the drop checks the pass mark
		ended         // no policy passes: an unconditional drop, the chain's end
	)
	block := func(end int, pols ...string) []string {
		out := []string{"clear"}
		for _, p := range pols {
			out = append(out, "P:GlobalNetworkPolicy/"+p)
		}
		out = append(out, "accepted")
		switch end {
		case passes:
			out = append(out, "end-drop")
		case ended:
			out = append(out, "drop")
		}
		return out
	}
	cases := []struct {
		name  string
		yamls []string
		want  [][]string // blocks, then the profiles unless the last block ended
	}{
		{"no policy: profiles only", nil, nil},
		{"default tier only", []string{polDefault}, [][]string{block(ended, "allow-web")}},
		{"tier before default, policies by order", []string{tierSecurity, polSecPass, polSecDeny, polDefault},
			[][]string{block(passes, "security.deny", "security.pass"), block(ended, "allow-web")}},
		{"defaultAction Pass: no end-of-tier drop", []string{tierSecurityPass, polSecPass, polDefault},
			[][]string{block(open, "security.pass"), block(ended, "allow-web")}},
		{"tiers by order", []string{tierSecurity, tierPlatform, polSecDeny, polPlatform},
			[][]string{block(passes, "platform.ssh"), block(ended, "security.deny")}},
		{"a tier not stored sorts after default and drops", []string{polUnstored, polDefaultPass},
			[][]string{block(passes, "pass-web"), block(ended, "ops.x")}},
		{"only a non-default tier", []string{tierSecurity, polSecPass}, [][]string{block(passes, "security.pass")}},
		{"a tier that can't pass hides the next", []string{tierSecurity, polSecDeny, polDefault},
			[][]string{block(ended, "security.deny")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := buildModel(t, seed0+strings.Join(tc.yamls, "---\n"), wep("db", "h1", "10.0.0.2", map[string]string{"role": "db"}))
			res := Render(m, "h1", Config{IPVersion: 4})
			var want []string
			for _, b := range tc.want {
				want = append(want, b...)
			}
			if len(want) == 0 || want[len(want)-1] != "drop" {
				want = append(want, profiles...)
			}
			if got := tokens(t, res, groupOf(t, res, "calidb")); !reflect.DeepEqual(got, want) {
				t.Errorf("group chain\n got %v\nwant %v", got, want)
			}
		})
	}
}

// TestRenderTierDefaultActionChangesGroup: endpoints whose tiers differ
// only by defaultAction must not share a group chain.
func TestRenderTierDefaultActionChangesGroup(t *testing.T) {
	db := wep("db", "h1", "10.0.0.2", map[string]string{"role": "db"})
	deny := groupOf(t, Render(buildModel(t, seed0+tierSecurity+"---\n"+polSecPass, db), "h1", Config{IPVersion: 4}), "calidb")
	pass := groupOf(t, Render(buildModel(t, seed0+tierSecurityPass+"---\n"+polSecPass, db), "h1", Config{IPVersion: 4}), "calidb")
	if deny == pass {
		t.Fatalf("same group chain %s for defaultAction Deny and Pass", deny)
	}
}

// seed0 is the profile net1 that wep() endpoints carry.
var seed0 = hdr + `Profile
metadata: {name: net1}
spec:
  ingress: [{action: Allow}]
  egress: [{action: Allow}]
---
`

// groupOf returns the ingress group chain the to-workload chain of iface
// goes to.
func groupOf(t *testing.T, res Result, iface string) string {
	t.Helper()
	tw := chain(res, EndpointChain(iface, false))
	if len(tw) != 1 || !strings.HasPrefix(tw[0].Match, "-g cali-gi-") {
		t.Fatalf("to-workload chain %v", tw)
	}
	return strings.TrimPrefix(tw[0].Match, "-g ")
}

// tokens names each rule of chain name (see TestRenderTiers).
func tokens(t *testing.T, res Result, name string) []string {
	t.Helper()
	names := map[string]string{ProfileChain("net1", true): "R:net1"}
	for _, k := range []string{"security.pass", "security.deny", "platform.ssh", "allow-web", "pass-web", "ops.x"} {
		names[PolicyChain("GlobalNetworkPolicy/"+k, true)] = "P:GlobalNetworkPolicy/" + k
	}
	clear := MarkAction(0, markMask)
	var out []string
	for _, r := range chain(res, name) {
		switch {
		case r == ipt.Rule{Action: clear}:
			out = append(out, "clear")
		case r == ipt.Rule{Match: MarkMatch(MarkAccept, MarkAccept), Action: "RETURN"}:
			out = append(out, "accepted")
		case r == ipt.Rule{Match: MarkMatch(0, MarkPass), Action: "DROP"}:
			out = append(out, "end-drop")
		case r == ipt.Rule{Action: "DROP"}:
			out = append(out, "drop")
		case names[r.Action] != "":
			// A jump: unconditional right after the clear, else while
			// no mark is set (policies) or not accepted (profiles).
			want := MarkMatch(0, markMask)
			if names[r.Action][0] == 'R' {
				want = MarkMatch(0, MarkAccept)
			}
			if len(out) > 0 && out[len(out)-1] == "clear" {
				want = ""
			}
			if r.Match != want {
				t.Fatalf("jump %+v in %s: match %q, want %q", r, name, r.Match, want)
			}
			out = append(out, names[r.Action])
		default:
			t.Fatalf("unexpected rule %+v in %s", r, name)
		}
	}
	return out
}

// TestRenderPassChangesGroup: a policy that gains a Pass rule makes its
// tier's end conditional, so its endpoints get another group chain (the
// incremental render re-renders groups by name).
func TestRenderPassChangesGroup(t *testing.T) {
	db := wep("db", "h1", "10.0.0.2", map[string]string{"role": "db"})
	passing := strings.Replace(polDefault, "[{action: Allow}]", "[{action: Allow}, {action: Pass, protocol: UDP}]", 1)
	ended := groupOf(t, Render(buildModel(t, seed0+polDefault, db), "h1", Config{IPVersion: 4}), "calidb")
	if g := groupOf(t, Render(buildModel(t, seed0+passing, db), "h1", Config{IPVersion: 4}), "calidb"); g == ended {
		t.Fatalf("same group chain %s with and without a Pass rule", g)
	}
}
