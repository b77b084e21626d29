// Package nft is the kernel driver of the nftables dataplane: it programs
// the tables felix/nftrules describes ("ip calico", "ip6 calico") over
// netlink with github.com/google/nftables — no nft, iptables or ipset
// binary — and keeps Docker's iptables-nft FORWARD chain accepting our
// workloads' traffic.
//
// # Goals and invariants
//
//   - One transaction per apply. Everything an apply changes, in both
//     families and in Docker's FORWARD chain, is queued and committed as
//     one nfnetlink batch: the kernel switches from the old ruleset to the
//     new one atomically, or (any error) keeps the old one.
//   - One acknowledgement per transaction (transport.go). google/nftables
//     builds the messages; we send its batch on our own socket with an
//     acknowledgement asked of the last message only and no echoes (the
//     library asks both of every message and reads each with its own
//     recvmsg: most of a start of day). The kernel reports every failing
//     message anyway, before that last acknowledgement, so an error still
//     names the message that failed (verb, table/chain or set, rule tag).
//   - Egress mode's netdev tables (netdev.go): their base chains hook
//     devices by name prefix, which google/nftables cannot encode, so the
//     driver writes those messages into the same transaction and reads
//     the hooks' devices back with a chain dump of its own.
//   - Minimal delta. The Driver remembers what the kernel holds after its
//     last successful apply: a chain is rewritten (flush, add its rules)
//     only when its rules changed, an address set gets adds and deletes
//     of its elements in the table's selector set (sets.go), a
//     verdict map its changed interface entries. A policy change thus
//     costs a few netlink messages, whatever the size of the table.
//   - Read back and repair. A full apply (start, resync timer, after any
//     failure) first reads our tables back — chains with each rule's tag
//     (a hash of its source rule, or of the two a fused rule stands for,
//     in the rule's comment: rules.Fusable), sets with their
//     elements — and converges on the desired state from there, undoing
//     what anything else changed.
//   - Coexistence with Docker. An nftables accept only ends a packet's
//     walk through the chains of one table: Docker's iptables-nft table
//     "ip filter", whose FORWARD policy is DROP, still sees it. So on every
//     full apply two rules are kept in that FORWARD chain (inserted at its
//     top when missing): iifname "cali*" accept, oifname "cali*" accept,
//     tagged with iptables-nft comments (they read as
//     `-i cali+ -m comment --comment cali:nft-accept -j ACCEPT`). They
//     accept only what our own forward chain, at priority -5 (before
//     iptables-nft's 0), has let through: its drops are final. When
//     Docker's rules are in legacy iptables, felix keeps the same accepts
//     with iptables-legacy (felix/nftables.go); that is the only iptables
//     run in this mode.
package nft
