package calc

import (
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/resources"
)

const hdr = "apiVersion: projectcalico.org/v3\n"

// doc joins YAML documents, each given without its apiVersion line.
func doc(parts ...string) string {
	for i, p := range parts {
		parts[i] = hdr + p
	}
	return strings.Join(parts, "---\n")
}

// yamlObj is one object as YAML for doc: kind, then the flow-style
// contents of its metadata and spec.
func yamlObj(kind, metadata, spec string) string {
	return "kind: " + kind + "\nmetadata: {" + metadata + "}\nspec: {" + spec + "}\n"
}

// gnp is a GlobalNetworkPolicy for doc; tier a Tier.
func gnp(name, spec string) string  { return yamlObj("GlobalNetworkPolicy", "name: "+name, spec) }
func tier(name, spec string) string { return yamlObj("Tier", "name: "+name, spec) }

// np is a NetworkPolicy of a namespace for doc.
func np(name, namespace, spec string) string {
	return yamlObj("NetworkPolicy", "name: "+name+", namespace: "+namespace, spec)
}

func nsWep(name, ns, ip string, labels map[string]string) *resources.WorkloadEndpoint {
	w := wep(name, ip, []string{"net1"}, labels)
	w.Namespace = ns
	return w
}

// TestTieredVerdicts: Calico's tier semantics in the reference verdict.
func TestTieredVerdicts(t *testing.T) {
	web := wep("web", "10.0.0.1", []string{"net1"}, map[string]string{"role": "web"})
	db := wep("db", "10.0.0.2", []string{"net1"}, map[string]string{"role": "db"})
	weps := []*resources.WorkloadEndpoint{web, db}
	security := tier("security", "order: 100")
	securityPass := tier("security", "order: 100, defaultAction: Pass")
	platform := tier("platform", "order: 50")
	passAll := gnp("security.pass", "tier: security, selector: role == 'db', ingress: [{action: Pass}]")
	denyWeb := gnp("security.deny-web", "tier: security, order: 1, selector: role == 'db', ingress: [{action: Deny, source: {selector: role == 'web'}}]")
	noMatch := gnp("security.only-udp", "tier: security, selector: role == 'db', ingress: [{action: Allow, protocol: UDP}]")
	allowDefault := gnp("allow-web", "selector: role == 'db', ingress: [{action: Allow, source: {selector: role == 'web'}}]")
	denyDefault := gnp("deny-all", "selector: role == 'db', ingress: [{action: Deny}]")
	platformAllow := gnp("platform.allow", "tier: platform, selector: all(), ingress: [{action: Allow, protocol: TCP, destination: {ports: [22]}}, {action: Pass}]")
	cases := []struct {
		name, yaml string
		port       uint16
		allowed    bool
		reason     string
	}{
		{"pass reaches the next tier", doc(security, passAll, allowDefault), 80, true, "policy GlobalNetworkPolicy/allow-web"},
		{"pass reaches the next tier's deny", doc(security, passAll, denyDefault), 80, false, "GlobalNetworkPolicy/deny-all"},
		{"higher tier decides first", doc(security, denyWeb, allowDefault), 80, false, "GlobalNetworkPolicy/security.deny-web rule 0"},
		{"end of tier drop", doc(security, noMatch, allowDefault), 80, false, "tier security select default/db and none decided (end of tier drop)"},
		{"defaultAction Pass goes on", doc(securityPass, noMatch, allowDefault), 80, true, "allow-web"},
		{"tiers by order", doc(security, platform, denyWeb, platformAllow), 22, true, "platform.allow rule 0"},
		{"pass in the last tier reaches the profiles", doc(security, passAll), 80, true, "profile net1"},
		{"a tier not stored sorts last and drops at its end", doc(noMatch, allowDefault), 80, true, "allow-web"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := buildModel(t, netProfile+"---\n"+tc.yaml, weps...)
			res := m.Verdict(tcp("10.0.0.1", "10.0.0.2", tc.port))
			if res.Allowed != tc.allowed || !strings.Contains(res.Reason, tc.reason) {
				t.Fatalf("got allowed=%v %q; want %v with %q\nsteps: %v", res.Allowed, res.Reason, tc.allowed, tc.reason, res.Steps)
			}
		})
	}
}

func TestTierOrderOfPolicies(t *testing.T) {
	m := buildModel(t, doc(
		tier("b", "order: 10"),
		tier("a", "order: 20"),
		gnp("p-default", "order: 1, selector: all()"),
		gnp("p-a", "tier: a, order: 1, selector: all()"),
		gnp("p-b2", "tier: b, order: 2, selector: all()"),
		gnp("p-b1", "tier: b, order: 1, selector: all()"),
	), wep("x", "10.0.0.1", nil, nil))
	var names []string
	for _, p := range m.PoliciesFor(m.Endpoint("default/x"), Ingress) {
		names = append(names, p.Name)
	}
	if got := strings.Join(names, ","); got != "p-b1,p-b2,p-a,p-default" {
		t.Fatalf("order %s", got)
	}
}

// TestStagedVerdicts: staged policies never change the verdict, and the
// staged verdict shows what they would decide.
func TestStagedVerdicts(t *testing.T) {
	web := wep("web", "10.0.0.1", []string{"net1"}, map[string]string{"role": "web"})
	db := wep("db", "10.0.0.2", []string{"net1"}, map[string]string{"role": "db"})
	allow := gnp("allow-web", "order: 1, selector: role == 'db', ingress: [{action: Allow}]")
	cases := []struct {
		name, yaml       string
		enforced, staged bool
		stagedReason     string
	}{
		{"staged deny", doc(yamlObj("StagedGlobalNetworkPolicy", "name: deny-db", "selector: role == 'db', ingress: [{action: Deny}]")),
			true, false, "StagedGlobalNetworkPolicy/deny-db rule 0"},
		{"staged replacement of a policy", doc(allow, yamlObj("StagedGlobalNetworkPolicy", "name: allow-web", "selector: role == 'db', ingress: [{action: Allow, protocol: UDP}]")),
			true, false, "none allowed"},
		{"staged delete", doc(allow, yamlObj("StagedGlobalNetworkPolicy", "name: allow-web", "stagedAction: Delete"),
			gnp("deny-rest", "order: 1000, selector: role == 'db', ingress: [{action: Deny}]")),
			true, false, "deny-rest"},
		{"staged namespaced deny in another namespace changes nothing", doc(yamlObj("StagedNetworkPolicy", "name: deny, namespace: other", "selector: all(), ingress: [{action: Deny}]")),
			true, true, "profile net1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := buildModel(t, netProfile+"---\n"+tc.yaml, web, db)
			pkt := tcp("10.0.0.1", "10.0.0.2", 80)
			if res := m.Verdict(pkt); res.Allowed != tc.enforced {
				t.Fatalf("enforced verdict changed by a staged policy: %+v", res)
			}
			if !m.HasStaged() {
				t.Fatal("HasStaged = false")
			}
			res := m.StagedVerdict(pkt)
			if res.Allowed != tc.staged || !strings.Contains(res.Reason, tc.stagedReason) {
				t.Fatalf("staged: allowed=%v %q; want %v with %q", res.Allowed, res.Reason, tc.staged, tc.stagedReason)
			}
		})
	}
	m := buildModel(t, netProfile, web, db)
	if m.HasStaged() || len(m.Policies()) != 0 {
		t.Fatal("staged policies must not appear without staged objects")
	}
}

// TestNamespaces: a NetworkPolicy selects, and its rule selectors match,
// only its own namespace; namespaceSelector widens that.
func TestNamespaces(t *testing.T) {
	aWeb := nsWep("a-web", "team-a", "10.0.0.1", map[string]string{"role": "web"})
	aDB := nsWep("a-db", "team-a", "10.0.0.2", map[string]string{"role": "db"})
	bWeb := nsWep("b-web", "team-b", "10.0.0.3", map[string]string{"role": "web"})
	bDB := nsWep("b-db", "team-b", "10.0.0.4", map[string]string{"role": "db"})
	denyOthers := gnp("z-deny", "order: 1000, selector: all(), ingress: [{action: Deny}]")
	npA := np("web-to-db", "team-a", "order: 1, selector: role == 'db', ingress: [{action: Allow, source: {selector: role == 'web'}}]")
	npAFromB := np("b-web-to-db", "team-a", "order: 1, selector: role == 'db', ingress: [{action: Allow, source: {selector: role == 'web', namespaceSelector: projectcalico.org/name == 'team-b'}}]")
	gnpNS := gnp("only-b", "order: 1, namespaceSelector: projectcalico.org/name == 'team-b', selector: role == 'db', ingress: [{action: Allow}]")
	cases := []struct {
		name, yaml string
		src, dst   string
		allowed    bool
	}{
		{"same namespace allowed", doc(npA, denyOthers), "10.0.0.1", "10.0.0.2", true},
		{"rule selector does not reach another namespace", doc(npA, denyOthers), "10.0.0.3", "10.0.0.2", false},
		{"policy does not select another namespace", doc(npA, denyOthers), "10.0.0.3", "10.0.0.4", false},
		{"namespaceSelector reaches team-b", doc(npAFromB, denyOthers), "10.0.0.3", "10.0.0.2", true},
		{"namespaceSelector excludes team-a", doc(npAFromB, denyOthers), "10.0.0.1", "10.0.0.2", false},
		{"global policy namespaceSelector selects team-b", doc(gnpNS, denyOthers), "10.0.0.1", "10.0.0.4", true},
		{"global policy namespaceSelector skips team-a", doc(gnpNS, denyOthers), "10.0.0.3", "10.0.0.2", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := buildModel(t, netProfile+"---\n"+tc.yaml, aWeb, aDB, bWeb, bDB)
			res := m.Verdict(tcp(tc.src, tc.dst, 80))
			if res.Allowed != tc.allowed {
				t.Fatalf("allowed=%v (%s), want %v", res.Allowed, res.Reason, tc.allowed)
			}
		})
	}
	m := buildModel(t, "", aWeb)
	if got := m.Endpoint("team-a/a-web").Labels[LabelNamespace]; got != "team-a" {
		t.Fatalf("namespace label = %q", got)
	}
}

// TestHostOnlyPoliciesSkipWorkloads: doNotTrack and preDNAT policies apply
// to host endpoints only, never to workloads.
func TestHostOnlyPoliciesSkipWorkloads(t *testing.T) {
	m := buildModel(t, netProfile+"---\n"+doc(
		gnp("untracked", "selector: all(), doNotTrack: true, applyOnForward: true, ingress: [{action: Deny}]"),
		gnp("prednat", "selector: all(), preDNAT: true, applyOnForward: true, ingress: [{action: Deny}]"),
	), wep("a", "10.0.0.1", []string{"net1"}, nil), wep("b", "10.0.0.2", []string{"net1"}, nil))
	if res := m.Verdict(tcp("10.0.0.1", "10.0.0.2", 80)); !res.Allowed {
		t.Fatalf("host-only policies applied to a workload: %s", res.Reason)
	}
}

// TestNetworkSets: rule selectors match the addresses of labelled network
// sets, with Calico's scoping (a NetworkSet for its namespace's policies,
// a GlobalNetworkSet for global policies or namespaceSelector global()).
func TestNetworkSets(t *testing.T) {
	db := nsWep("db", "team-a", "10.0.0.2", map[string]string{"role": "db"})
	gns := yamlObj("GlobalNetworkSet", "name: partners, labels: {role: partner}", "nets: [198.51.100.0/24]")
	ns := yamlObj("NetworkSet", "name: office, namespace: team-a, labels: {role: office}", "nets: [203.0.113.0/28]")
	nsOther := yamlObj("NetworkSet", "name: office, namespace: team-b, labels: {role: office}", "nets: [192.0.2.0/28]")
	partnersIn := gnp("partners-in", "selector: role == 'db', ingress: [{action: Allow, source: {selector: role == 'partner'}}]")
	npOffice := np("office-in", "team-a", "selector: role == 'db', ingress: [{action: Allow, source: {selector: role == 'office'}}]")
	npGlobal := np("partners-in", "team-a", "selector: role == 'db', ingress: [{action: Allow, source: {selector: role == 'partner', namespaceSelector: global()}}]")
	npNoGlobal := np("partners-in", "team-a", "selector: role == 'db', ingress: [{action: Allow, source: {selector: role == 'partner'}}]")
	notPartner := gnp("not-partners", "selector: role == 'db', ingress: [{action: Allow, source: {notSelector: role == 'partner'}}]")
	cases := []struct {
		name, yaml, src string
		allowed         bool
	}{
		{"global set admits its CIDR", doc(gns, partnersIn), "198.51.100.7", true},
		{"outside the set denied", doc(gns, partnersIn), "198.51.101.7", false},
		{"namespaced set admits for its namespace", doc(ns, npOffice), "203.0.113.5", true},
		{"another namespace's set does not", doc(nsOther, npOffice), "192.0.2.5", false},
		{"global set needs namespaceSelector global() in a NetworkPolicy", doc(gns, npNoGlobal), "198.51.100.7", false},
		{"namespaceSelector global() reaches the global set", doc(gns, npGlobal), "198.51.100.7", true},
		{"notSelector excludes the set", doc(gns, notPartner), "198.51.100.7", false},
		{"notSelector admits others", doc(gns, notPartner), "203.0.113.5", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := buildModel(t, netProfile+"---\n"+tc.yaml, db)
			if res := m.Verdict(tcp(tc.src, "10.0.0.2", 80)); res.Allowed != tc.allowed {
				t.Fatalf("allowed=%v (%s), want %v", res.Allowed, res.Reason, tc.allowed)
			}
		})
	}
}
