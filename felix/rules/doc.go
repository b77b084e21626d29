// Package rules renders the policy calculation (package calc) into
// iptables chains and the IP sets they match on. It is pure: no kernel
// access; felix's dataplane applies what it returns. A Renderer renders
// incrementally: it keeps the chains of policies, profiles, groups and
// endpoints keyed by what shapes them, re-renders only what a change
// touches, and names the chains and IP sets that changed (Result.Delta);
// Render is a Renderer used once. Reading a Source that tracks its changes
// (Tracker: policy.Index), a render costs what the change touches, not
// what the model holds: it revisits only the endpoints and member sets the
// Source names (sets.go, endpoints.go).
//
// Chain layout (filter table, one family at a time):
//
//	FORWARD ─> cali-FORWARD   INPUT ─> cali-INPUT   OUTPUT ─> cali-OUTPUT
//	cali-FORWARD: established/related accept, invalid drop, then
//	   -i cali+ -> cali-from-wl-dispatch (returns only when egress allows)
//	   -o cali+ -> cali-to-wl-dispatch   (returns only when ingress allows)
//	   accept
//	cali-from-wl-dispatch: -i <iface> -g cali-fw-<iface>, ..., then DROP
//	cali-fw-<iface>: anti-spoofing (source MAC and source IPs), then -g the
//	   endpoint's egress group chain
//	cali-gi-/cali-ge-<hash>: one chain per distinct (tiers with their
//	   ordered policies, profiles) list, shared by every endpoint with that
//	   list, so the rule count grows with policies + endpoints, not their
//	   product. Per tier (calc's order): clear the marks, jump to each
//	   policy while no mark is set, return if accepted, drop unless passed
//	   (the tier's defaultAction Deny; nothing for Pass); then the profiles
//	cali-pi-/cali-po-<hash>: one chain per policy and direction
//	cali-pri-/cali-pro-<hash>: one chain per profile and direction
//
// cali-INPUT polices workload-to-host traffic like cali-FORWARD's
// from-workload half, then drops it unless EndpointToHostAccept; for IPv6
// it first accepts neighbour discovery (ICMPv6 types 130-133, 135, 136),
// whose link-local sources anti-spoofing would drop. cali-OUTPUT accepts
// host-to-workload traffic: the host always reaches its workloads.
//
// Host endpoints (hostendpoint.go, hosttables.go), rendered only when
// this node has some, in the order calc/hostorder.go gives (the accepts
// before policy: calc.HostChecks; the failsafe lists:
// calc.FailsafeConfig.Failsafes), which policy explain traces too; cali*
// interfaces are never host endpoints:
//
//	filter cali-INPUT (after the workload rules) / cali-OUTPUT:
//	   accept mark set (by untracked or pre-DNAT policy) -> ACCEPT
//	   -> cali-from-host-endpoint / cali-to-host-endpoint:
//	      -i/-o <iface> -g cali-fh-/cali-th-<iface>, ...; then for "*"
//	      (every other interface but cali+ and lo) -g its hashed chain;
//	      other interfaces return unpoliced
//	cali-fh-/cali-th-<iface>: established accept, invalid drop,
//	   -j cali-failsafe-in / cali-failsafe-out (ACCEPT per failsafe port),
//	   (IPv6: neighbour discovery accept), VXLAN and IPIP from/to the
//	   tunnel peers' IP sets accept (hosttunnels.go), -j the group chain of the
//	   endpoint's normal policies and profiles (no policy, no profile:
//	   drop), ACCEPT
//	cali-FORWARD: before the workload dispatch, unless the accept mark is
//	   set, -j cali-hep-forward (-j cali-from-hep-forward, -j
//	   cali-to-hep-forward: dispatch to cali-fhfw-/cali-thfw-<iface>:
//	   established -> accept mark, return; the tiers of the applyOnForward
//	   policies with their end-of-tier drop; none: return undecided); at
//	   its end the accept mark -> ACCEPT (traffic between host interfaces)
//	raw PREROUTING/OUTPUT -> cali-PREROUTING/cali-OUTPUT: clear our mark
//	   bits, dispatch (named interfaces only) to cali-fh-/cali-th-<iface>:
//	   failsafe (both ways: no conntrack here), the doNotTrack policies'
//	   tiers (no end-of-tier drop); accept mark -> NOTRACK, ACCEPT
//	mangle PREROUTING -> cali-PREROUTING: established or accept mark ->
//	   ACCEPT, dispatch to cali-fh-<iface>: failsafe, the preDNAT policies'
//	   tiers (no end-of-tier drop); accept mark -> ACCEPT
//
// Rule selectors match through IP sets (cali40s:/cali60s:<selector id>,
// hash:net): one per distinct selector, holding Source.Members — the
// addresses of the endpoints it matches and the CIDRs of the
// GlobalNetworkSets and NetworkSets it matches (calc decides which, with
// Calico's namespace scoping) — so a network set costs no extra rule.
//
// Verdicts inside a group chain use two mark bits: accept (a policy's
// Allow) and pass (its Pass: the rest of the tier is skipped and the next
// tier, or the profiles after the last, decide).
// An interface with no known endpoint is dropped (fail closed), so a
// container whose labels are not yet known never bypasses policy.
package rules
