// Package calc is the policy calculation shared by the dataplane (felix)
// and `calicoctl policy explain`: from WorkloadEndpoints, Profiles,
// NetworkPolicies and GlobalNetworkPolicies it computes
//
//   - each endpoint's effective labels: its own labels (container labels
//     and identity labels), over its profiles' labelsToApply;
//   - for each endpoint and direction, the ordered policies that apply
//     (order ascending, unset order last, ties by kind-qualified name);
//   - the IP set each rule selector stands for (the addresses of every
//     endpoint, on any host, that the selector matches);
//   - and, for a given packet, Calico's verdict with the trace of every
//     policy and profile consulted (Verdict).
//
// Semantics (Calico's): for a direction, once any policy selects the
// endpoint, traffic no policy allows is denied, and profiles are
// consulted only after a Pass; an endpoint no policy selects falls to its
// profiles; Deny ends evaluation; Log records and continues; with no
// profile rule allowing, traffic is denied.
//
// Model is not safe for concurrent use: one goroutine owns it.
package calc
