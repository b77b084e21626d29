// Package calc is the policy calculation shared by the dataplane (felix)
// and `calicoctl policy explain`: from WorkloadEndpoints, HostEndpoints,
// Profiles, NetworkPolicies, GlobalNetworkPolicies, Tiers and
// (Global)NetworkSets (and, for the reference verdict, staged policies) it
// computes
//
//   - each endpoint's effective labels: its own labels (container labels
//     and identity labels), over its profiles' labelsToApply, plus
//     projectcalico.org/namespace;
//   - for each endpoint and direction, the ordered policies that apply:
//     by tier (tier order ascending, unset last), then within a tier by
//     order (ascending, unset last, ties by kind-qualified name);
//   - the IP set each rule selector stands for (Members: the addresses of
//     every endpoint, on any host, that the selector matches, and the
//     CIDRs of every network set it matches);
//   - and, for a given packet, Calico's verdict with the trace of every
//     policy and profile consulted (Verdict), and the verdict the staged
//     policies would give (StagedVerdict).
//
// Semantics (Calico's): per direction, each tier with a policy selecting
// the endpoint decides in turn: Allow and Deny end evaluation, Log records
// and continues, Pass goes to the next tier; a tier whose policies do not
// decide ends in its defaultAction (Deny: the end-of-tier drop; Pass: the
// next tier). Passing the last tier, or no policy selecting the endpoint,
// leads to the endpoint's profiles; with no profile rule allowing, traffic
// is denied. A NetworkPolicy selects, and its rule selectors match, only
// endpoints of its own namespace unless a rule's namespaceSelector widens
// that. doNotTrack and preDNAT policies apply to host endpoints only, never
// to workloads. Staged policies never change Verdict. Rule selectors match
// the addresses of network sets with matching labels too (a NetworkSet for
// its namespace's policies, a GlobalNetworkSet for global policies or
// through namespaceSelector global()).
//
// HostEndpoints (hostendpoints.go) are endpoints too: effective labels
// (profiles' labelsToApply, then their own; no namespace, so only global
// policies select them and namespaceSelector global() matches them), their
// expectedIPs in the IP sets of matching rule selectors, and, per kind of
// traffic (AppliesToHost), the policies that apply: normal (to and from
// the host), applyOnForward (forwarded), preDNAT (ingress, before DNAT),
// doNotTrack (untracked), each list in tier order (HostPoliciesFor).
// The order the dataplane applies them in, with the accepts before policy
// (failsafe ports, neighbour discovery, tunnel peers), lives here
// (hostorder.go: HostChecks, FailsafeConfig.Failsafes): felix/rules
// renders its chains from it and PathVerdict (hostverdict.go) traces a
// packet through it, host by host (Hops), for explain.
//
// The dataplane (felix) consumes Kinds only and renders tiers from the
// same ordering (PoliciesFor, TierGroups, Tier) and IP sets from Members,
// so network sets are enforced with exactly the scoping Verdict applies
// (NetSet.Labels carries it; a dataplane backend never re-derives it).
// Staged policies (ExplainKinds) are evaluated here for explain only.
//
// Model is not safe for concurrent use: one goroutine owns it.
package calc
