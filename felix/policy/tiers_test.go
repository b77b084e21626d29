package policy_test

// Tiers, enforced with real packets on the matrix bed (client, server and
// other on net1, outsider on net2 with role=client). b.check also compares
// every outcome with calc.Model.Verdict for the same model.

// tierYAML is a Tier with the given spec body (YAML flow mapping).
func tierYAML(name, spec string) string {
	return "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: " + name + "}\nspec: " + spec + "\n---\n"
}

// globalPolicy is a GlobalNetworkPolicy with the given spec body (YAML,
// indented by two spaces).
func globalPolicy(name, body string) string {
	return "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: " + name + "}\nspec:\n" + body + "\n---\n"
}

var tierMatrix = []policyCase{
	{name: "tier Pass reaches the next tier's Deny", policies: tierYAML("security", "{order: 100}") +
		globalPolicy("security.gate", `  tier: security
  selector: role == 'server'
  ingress:
  - {action: Pass, source: {selector: "role == 'client'"}}
  - {action: Allow, source: {selector: "role == 'other'"}}`) + onServer("deny-clients", `
  ingress: [{action: Deny, source: {selector: "role == 'client'"}}]`), probes: []probe{
		tcp("client", "server", 80, false),   // passed on, then denied (the profile would allow it)
		tcp("outsider", "server", 80, false), // likewise
		v6(tcp("client", "server", 80, false)),
		tcp("other", "server", 80, true),  // the first tier decides
		tcp("server", "client", 80, true), // no egress policy: profiles
	}},
	{name: "end-of-tier drop", policies: tierYAML("security", "{order: 100}") +
		globalPolicy("security.udp-only", `  tier: security
  selector: role == 'server'
  ingress: [{action: Allow, protocol: UDP}]`) + onServer("allow-all", `
  ingress: [{action: Allow}]`), probes: []probe{
		tcp("client", "server", 80, false), // the security tier selected server and did not decide
		icmp("outsider", "server", false), v6(tcp("other", "server", 8080, false)),
		udp("client", "server", true),
		tcp("client", "other", 80, true), // no tier selects other: its profile
	}},
	{name: "tier defaultAction Pass", policies: tierYAML("security", "{order: 100, defaultAction: Pass}") +
		globalPolicy("security.udp-only", `  tier: security
  selector: role == 'server'
  ingress: [{action: Allow, protocol: UDP}]`) + onServer("allow-all", `
  ingress: [{action: Allow}]`), probes: []probe{
		tcp("client", "server", 80, true), tcp("outsider", "server", 80, true), udp("outsider", "server", true),
	}},
	{name: "tiers in order, Pass in the last tier reaches the profiles", policies: tierYAML("platform", "{order: 50}") +
		tierYAML("security", "{order: 100}") +
		globalPolicy("platform.web", `  tier: platform
  selector: all()
  ingress:
  - {action: Allow, protocol: TCP, destination: {ports: [8080]}}
  - {action: Pass}`) + globalPolicy("security.no-server", `  tier: security
  selector: role == 'server'
  ingress: [{action: Deny}]`), probes: []probe{
		tcp("outsider", "server", 8080, true), // platform decides first
		tcp("client", "server", 80, false),    // platform passes, security denies
		tcp("client", "other", 80, true),      // platform passes, no later tier: net1's profile
		tcp("outsider", "other", 80, false),   // ... which shuts net2 out
	}},
}
