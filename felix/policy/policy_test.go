package policy_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/felix"
	"github.com/calico-docker/calico-libnetwork/internal/seeds"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// networkProfiles are the profiles the driver creates for two networks
// (driver.NewNetworkProfile): members get the network's label, ingress
// only from members, egress anywhere.
const networkProfiles = `
apiVersion: projectcalico.org/v3
kind: Profile
metadata: {name: net1}
spec:
  labelsToApply: {net1: ""}
  ingress: [{action: Allow, source: {selector: "has(net1)"}}]
  egress: [{action: Allow}]
---
apiVersion: projectcalico.org/v3
kind: Profile
metadata: {name: net2}
spec:
  labelsToApply: {net2: ""}
  ingress: [{action: Allow, source: {selector: "has(net2)"}}]
  egress: [{action: Allow}]
`

// matrixBed has four workloads: client, server and other on network net1
// (labels role=<name>), and outsider on net2 with role=client.
func matrixBed(t *testing.T, cfg felix.Config) *bed {
	cfg.Policy, cfg.EnableIPv6 = true, true
	b := newBed(t, cfg, decode(t, networkProfiles)...)
	b.addWorkload("client", 1, []string{"net1"}, map[string]string{"role": "client"})
	b.addWorkload("server", 2, []string{"net1"}, map[string]string{"role": "server"})
	b.addWorkload("other", 3, []string{"net1"}, map[string]string{"role": "other"})
	b.addWorkload("outsider", 4, []string{"net2"}, map[string]string{"role": "client"})
	return b
}

// policyCase is one policy configuration and the traffic it must let
// through or stop.
type policyCase struct {
	name     string
	policies string // Calico v3 YAML: the only policies in the datastore
	probes   []probe
}

// onServer is a NetworkPolicy selecting the server with the given spec
// body (YAML, indented by four spaces).
func onServer(name, body string) string {
	return `
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: ` + name + `}
spec:
  selector: role == 'server'
` + body + "\n---\n"
}

var matrix = []policyCase{
	{name: "profiles only: networks isolated", probes: []probe{
		tcp("client", "server", 80, true), tcp("server", "client", 8080, true),
		icmp("client", "server", true), udp("other", "server", true),
		tcp("outsider", "server", 80, false), icmp("outsider", "server", false),
		tcp("server", "outsider", 80, false), udp("outsider", "client", false),
		v6(tcp("client", "server", 80, true)), v6(icmp("client", "server", true)),
		v6(tcp("outsider", "server", 80, false)),
		tcp("host", "server", 80, true), tcp("host", "outsider", 9090, true), v6(tcp("host", "client", 80, true)),
		tcp("client", "host", hostPort, false), icmp("client", "host", false),
	}},
	{name: "allow TCP 80 only", policies: onServer("web", `
  ingress:
  - {action: Allow, protocol: TCP, destination: {ports: [80]}}`), probes: []probe{
		tcp("client", "server", 80, true), tcp("client", "server", 8080, false),
		icmp("client", "server", false), udp("client", "server", false),
		tcp("outsider", "server", 80, true), v6(tcp("outsider", "server", 80, true)), // policy, not profile, decides
		tcp("host", "server", 8080, true), // the host always reaches its workloads
		tcp("server", "client", 80, true), // ingress-only policy: egress falls to the profile
	}},
	{name: "order: deny before allow", policies: onServer("deny-other", `
  order: 10
  ingress: [{action: Deny, source: {selector: "role == 'other'"}}]`) + onServer("allow-all", `
  order: 20
  ingress: [{action: Allow}]`), probes: []probe{
		tcp("other", "server", 80, false), tcp("client", "server", 80, true), tcp("outsider", "server", 9090, true),
	}},
	{name: "order: allow before deny", policies: onServer("deny-other", `
  order: 30
  ingress: [{action: Deny, source: {selector: "role == 'other'"}}]`) + onServer("allow-all", `
  order: 20
  ingress: [{action: Allow}]`), probes: []probe{
		tcp("other", "server", 80, true), tcp("client", "server", 80, true),
	}},
	{name: "pass hands over to profiles", policies: onServer("pass-clients", `
  order: 1
  ingress:
  - {action: Pass, source: {selector: "role == 'client'"}}
  - {action: Allow, protocol: UDP, source: {selector: "role == 'other'"}}`) + onServer("allow-all", `
  order: 2
  ingress: [{action: Allow}]`), probes: []probe{
		tcp("client", "server", 80, true),    // pass, then net1's profile allows
		tcp("outsider", "server", 80, false), // pass skips allow-all; net1's profile denies
		udp("other", "server", true),
		tcp("other", "server", 80, true), // no rule matched in pass-clients: allow-all decides
	}},
	{name: "an Allow of several ports, then a Deny", policies: onServer("ports-then-deny", `
  ingress:
  - {action: Allow, protocol: TCP, destination: {ports: [80, 8080]}}
  - {action: Deny, protocol: TCP}`), probes: []probe{
		tcp("client", "server", 80, true), tcp("client", "server", 8080, true), tcp("client", "server", 9090, false),
	}},
	{name: "log records and goes on", policies: onServer("log", `
  ingress:
  - {action: Log, protocol: TCP}
  - {action: Allow, protocol: TCP, destination: {ports: [8080]}}`), probes: []probe{
		tcp("client", "server", 8080, true), tcp("client", "server", 80, false),
	}},
	{name: "nets", policies: onServer("nets", `
  ingress:
  - {action: Allow, source: {nets: [10.65.1.1/32, "fd00:65:1::1/128"]}}`), probes: []probe{
		tcp("client", "server", 80, true), tcp("other", "server", 80, false),
		v6(tcp("client", "server", 80, true)), v6(tcp("other", "server", 80, false)),
	}},
	{name: "notNets", policies: onServer("not-nets", `
  ingress:
  - {action: Allow, source: {notNets: [10.65.1.0/30]}}`), probes: []probe{
		tcp("client", "server", 80, false), tcp("other", "server", 80, false), tcp("outsider", "server", 80, true),
		v6(tcp("client", "server", 80, true)), // an IPv4 notNets does not exclude IPv6 sources
	}},
	{name: "port ranges", policies: onServer("ranges", `
  ingress:
  - {action: Allow, protocol: TCP, destination: {ports: ["8000:8100"]}}`), probes: []probe{
		tcp("client", "server", 8080, true), tcp("client", "server", 80, false), tcp("client", "server", 9090, false),
	}},
	{name: "notPorts", policies: onServer("not-ports", `
  ingress:
  - {action: Allow, protocol: TCP, destination: {notPorts: [80, "9000:9999"]}}`), probes: []probe{
		tcp("client", "server", 8080, true), tcp("client", "server", 80, false), tcp("client", "server", 9090, false),
	}},
	{name: "protocol UDP", policies: onServer("udp", `
  ingress: [{action: Allow, protocol: UDP}]`), probes: []probe{
		udp("client", "server", true), tcp("client", "server", 80, false), icmp("client", "server", false),
	}},
	{name: "notProtocol and numbers", policies: onServer("not-tcp", `
  ingress: [{action: Allow, notProtocol: TCP}, {action: Allow, protocol: 6, destination: {ports: [9090]}}]`),
		probes: []probe{
			udp("client", "server", true), icmp("client", "server", true), v6(icmp("client", "server", true)),
			tcp("client", "server", 80, false), tcp("client", "server", 9090, true),
		}},
	{name: "icmp types", policies: onServer("echo", `
  ingress:
  - {action: Allow, protocol: ICMP, icmp: {type: 8}}
  - {action: Allow, protocol: ICMPv6, notICMP: {type: 128}}`), probes: []probe{
		icmp("client", "server", true), v6(icmp("client", "server", false)),
	}},
	{name: "global egress policy", policies: `
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: clients-not-to-servers}
spec:
  selector: role == 'client'
  types: [Egress]
  egress:
  - {action: Deny, destination: {selector: "role == 'server'"}}
  - {action: Allow}
`, probes: []probe{
		tcp("client", "server", 80, false), tcp("outsider", "server", 80, false), v6(tcp("client", "server", 80, false)),
		tcp("client", "other", 80, true),
		tcp("server", "client", 80, true), // the policy has no ingress: profiles decide
	}},
	{name: "global all() with notSelector", policies: `
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: shun-other}
spec:
  selector: all()
  ingress: [{action: Allow, source: {notSelector: "role == 'other'"}}]
`, probes: []probe{
		tcp("other", "server", 80, false), tcp("other", "client", 80, false),
		tcp("outsider", "server", 80, true), tcp("server", "other", 80, true),
	}},
}

func TestPolicyMatrix(t *testing.T) { eachDataplane(t, testPolicyMatrix) }

func testPolicyMatrix(t *testing.T, cfg felix.Config) {
	b := matrixBed(t, cfg)
	for _, tc := range matrix {
		t.Run(tc.name, func(t *testing.T) {
			b.t = t
			b.setPolicies(tc.policies)
			b.check(tc.probes...)
		})
	}
	for _, tc := range tierMatrix { // tiers_test.go
		t.Run(tc.name, func(t *testing.T) {
			b.t = t
			b.setPolicies(tc.policies)
			b.check(tc.probes...)
		})
	}
	t.Run("log rule programmed", func(t *testing.T) {
		b.t = t
		i := slices.IndexFunc(matrix, func(c policyCase) bool { return c.name == "log records and goes on" })
		b.setPolicies(matrix[i].policies)
		if !strings.Contains(strings.Join(b.ourRules(), "\n"), "-j LOG") && !strings.Contains(strings.Join(b.ourRules(), "\n"), " log") {
			t.Errorf("no LOG rule among ours:\n%s", strings.Join(b.ourRules(), "\n"))
		}
	})
	t.Run("label changes", func(t *testing.T) {
		b.t = t
		testLabelChanges(b)
	})
	t.Run("pending labels fail closed", func(t *testing.T) {
		b.t = t
		testPending(b)
	})
	t.Run("disruption healed", func(t *testing.T) {
		b.t = t
		testDisruption(b)
	})
	t.Run("seed bookstore example", func(t *testing.T) {
		b.t = t
		testSeedBookstore(b)
	})
}

func testLabelChanges(b *bed) {
	b.setPolicies(onServer("from-clients", `
  ingress: [{action: Allow, source: {selector: "role == 'client'"}}]`))
	b.check(tcp("other", "server", 80, false), tcp("client", "server", 80, true))

	other := b.wep("other")
	other.Labels["role"] = "client" // now in the selector's IP set
	b.put(other)
	b.check(tcp("other", "server", 80, true))

	other.Labels["role"] = "other"
	b.put(other)
	b.check(tcp("other", "server", 80, false))

	server := b.wep("server")
	server.Labels["role"] = "web" // no policy selects it: back to its profile
	b.put(server)
	b.check(tcp("other", "server", 80, true), tcp("outsider", "server", 80, false))
	server.Labels["role"] = "server"
	b.put(server)

	// A profile's labelsToApply feeds selectors too.
	b.setPolicies(onServer("from-front", `
  ingress: [{action: Allow, source: {selector: "tier == 'front'"}}]`))
	b.check(tcp("client", "server", 80, false))
	net1 := decode(b.t, networkProfiles)[0].(*resources.Profile)
	net1.Spec.LabelsToApply["tier"] = "front"
	b.put(net1)
	b.check(tcp("client", "server", 80, true), tcp("outsider", "server", 80, false))
	net1.Spec.LabelsToApply = map[string]string{"net1": ""}
	b.put(net1)
	b.check(tcp("client", "server", 80, false))
}

func testPending(b *bed) {
	b.setPolicies("")
	other := b.wep("other")
	other.Annotations = map[string]string{resources.AnnotationLabelsPending: "true"}
	b.put(other)
	b.check(tcp("other", "server", 80, false), tcp("client", "other", 80, false),
		icmp("other", "client", false), tcp("host", "other", 80, true))
	delete(other.Annotations, resources.AnnotationLabelsPending)
	b.put(other)
	b.check(tcp("other", "server", 80, true), tcp("client", "other", 80, true))
}

// seedPolicy is the NetworkPolicy of the bookstore/fruitstore example in
// ../shared/seeds/004_7ff30da9549411fb.txt, unchanged.
var seedPolicy = seeds.BookstorePolicy

func testSeedBookstore(b *bed) {
	b.setPolicies("")
	b.put(decode(b.t, allowAll)...)
	b.addWorkload("bookstore-frontend", 5, []string{"calico"}, map[string]string{"biz_type": "bookstore"})
	b.addWorkload("bookstore-server", 6, []string{"calico"}, map[string]string{"biz_type": "bookstore", "role": "server"})
	b.addWorkload("fruitstore-frontend", 7, []string{"calico"}, map[string]string{"biz_type": "fruitstore"})
	b.check(tcp("bookstore-frontend", "bookstore-server", 80, true), tcp("fruitstore-frontend", "bookstore-server", 80, true))

	b.setPolicies(seedPolicy)
	b.check(tcp("bookstore-frontend", "bookstore-server", 80, true), tcp("fruitstore-frontend", "bookstore-server", 80, false),
		tcp("bookstore-frontend", "bookstore-server", 8080, false), icmp("bookstore-frontend", "bookstore-server", false),
		tcp("bookstore-server", "fruitstore-frontend", 80, true)) // egress is not policed by it

	b.setPolicies("") // calicoctl delete networkpolicy allow-bookstore-cliient-to-server
	b.check(tcp("bookstore-frontend", "bookstore-server", 80, true), tcp("fruitstore-frontend", "bookstore-server", 80, true))
}
