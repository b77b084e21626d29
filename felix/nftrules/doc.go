// Package nftrules turns the policy rendering that felix/rules produces
// (one chain model, shared by both dataplanes) into the desired content of
// our nftables tables, and compiles each rule into nftables expressions.
// It is pure: no kernel access; felix/nft programs what it returns.
//
// Why translate rather than render twice: felix/rules is the single place
// where the calculation (package calc, through felix/policy's Calculator)
// becomes chains — tiers, group chains, policy and profile chains,
// anti-spoofing, endpoint_to_host_action, link-local drops. Both backends
// consume that one result, so their semantics are the same by
// construction and one test body proves both. What nftables does better
// is done here, structurally:
//
//   - endpoint dispatch: the dispatch chains (one "-i <iface> -g
//     cali-fw-<iface>" rule per endpoint) become one rule each, a verdict
//     map lookup keyed by interface name (cali-from-wl-dispatch and
//     cali-to-wl-dispatch, maps of the same name), so a new endpoint is a
//     map element, not a chain rewrite, and dispatch is O(1);
//   - anti-spoofing: an endpoint's from-workload chain that only checks
//     its source MAC and addresses and goes to its egress group becomes
//     elements of a verdict map keyed by interface, MAC and address
//     (SourceMap, spoof.go), looked up before the dispatch map;
//   - selector and network-set IP sets (and natOutgoing's pool sets)
//     become members of the table's one interval set, SelectorSet, each
//     beside its set's number (SetID): a rule matching a set looks up the
//     packet's address with the number beside it (prefixes: CIDRs
//     welcome), updated element by element;
//   - the top-level inserts (FORWARD, INPUT, OUTPUT; POSTROUTING for
//     natOutgoing) become base chains of our own table.
//
// Table layout: a family's Table is programmed as several kernel tables
// (Table.Parts, shard.go): the main table "calico" below, and workload
// shards "calico-wl<N>", each holding one direction's endpoint chains of
// its endpoints with every chain and set those reach, behind base chains
// of its own (from-workload: wl-forward-from, wl-input-from; to-workload:
// wl-forward-to); the main table's dispatch maps then only return for
// known interfaces. In egress mode (Options.Egress, egress.go) the
// to-workload shards are netdev tables "calico-v4-to<N>" whose base chain
// wl-egress-to hooks their interfaces' egress by name prefix, and
// cali-FORWARD marks what they police (MarkToWorkload). The main table
// ("ip calico", "ip6 calico"):
//
//	forward  filter hook forward  priority -5 -> jump cali-FORWARD
//	input    filter hook input    priority -5 -> jump cali-INPUT
//	output   filter hook output   priority -5 -> jump cali-OUTPUT
//	postrouting nat hook postrouting priority 100 -> jump cali-POSTROUTING
//	raw-prerouting filter hook prerouting priority -300 -> jump raw-cali-PREROUTING
//	raw-output     filter hook output     priority -300 -> jump raw-cali-OUTPUT
//	mangle-prerouting filter hook prerouting priority -150 -> jump mangle-cali-PREROUTING
//	               (host endpoints' doNotTrack and preDNAT: only while needed)
//	cali-*   the chains of felix/rules and felix/nat, same names
//	raw-cali-*, mangle-cali-*  felix/rules' raw and mangle chains, renamed
//	         (it reuses names across iptables tables: cali-OUTPUT)
//	sets     cali-sel (address . set number: the members of the address
//	         sets cali40s-<selector id> (":" of the ipset name becomes
//	         "-"), cali40masq-ipam-pools, cali40all-ipam-pools); maps
//	         cali-from-wl-dispatch, cali-to-wl-dispatch (ifname : verdict);
//	         in from-workload shards cali-from-wl-src (ifname . ether_addr
//	         . ipv4_addr : verdict) and its chain cali-spoofed
//
// The rule vocabulary compiled (Compile) is exactly what felix/rules and
// felix/nat emit; anything else is an error naming the token, so a new
// match in felix/rules fails loudly in nftables mode instead of being
// silently dropped from a rule.
package nftrules
