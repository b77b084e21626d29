// Package ipsets programs the kernel IP sets that felix's iptables rules
// match on, in the manner of Calico felix's ipsets driver and of this
// repository's felix/iptables.Table.
//
// A Manager owns every set of one IP family whose name starts with its
// prefix ("cali40" for IPv4, "cali60" for IPv6; felix/rules names selector
// sets "cali40s:<id>"). It holds the desired members of each set
// (SetDesired), reads the kernel back with one `ipset list`, computes the
// minimal delta and writes it with one `ipset restore -exist` batch.
//
// # Calling order
//
// iptables-restore rejects a rule that names a set that does not exist, and
// the kernel refuses to destroy a set that a rule still references. So an
// apply cycle of the dataplane is, in this order:
//
//  1. ApplyUpdates: create missing sets and fix the members of existing
//     ones (before iptables, so every set a new rule names exists);
//  2. apply the iptables tables (rules stop referencing stale sets);
//  3. ApplyDeletions: destroy our sets that are no longer desired. Skip
//     it when step 2 failed: the old rules may still use those sets (a set
//     that is still referenced is left alone and retried next time anyway).
//
// # Invariants
//
//   - Sets whose names do not start with the prefix are never written, not
//     even read beyond their header.
//   - A live set is never flushed and refilled: membership changes are
//     individual del and add lines, so a packet never sees a half-empty set.
//   - Our sets are hash:net of the manager's family with maxelem MaxSize and
//     no extensions. A set of ours with other parameters is replaced
//     atomically: a temporary set (prefix + "-tmp") is created, filled and
//     swapped in, then destroyed, so rules referencing the name see the old
//     content, then the new, never an empty set. The kernel swaps only sets
//     of the same type and family; a set of another type or family is
//     destroyed and re-created when nothing references it, and reported as
//     an error (naming the set) when something does.
//   - ApplyUpdates reads the kernel back, so members added, deleted or
//     flushed by hand and sets destroyed by hand are healed by the next
//     one (felix calls it on every full resync). ApplyUpdatesIncremental,
//     used for changes in between, plans against what the last successful
//     batch left and reads back only when nothing is known (at first, or
//     after any failure).
//   - Members are held as sorted slices (netip.Prefix.Compare), desired and
//     known alike: a slice already in kernel form is kept as given, not
//     copied (felix/policy's member lists are shared this way), a set given
//     the very same slice again costs nothing, and a changed set is diffed
//     against the known one in one merge pass.
//   - Batches use -exist, so a member that appeared or vanished between the
//     read and the write (or a create racing an identical create) is not an
//     error. A batch is not a transaction: ipset restore stops at the first
//     failing line, with the earlier lines applied; the next apply reads
//     back and converges from there.
//   - Zero-length prefixes (0.0.0.0/0, ::/0), which hash:net cannot hold,
//     are stored as their two halves (/1), as felix does.
//
// A Manager is not safe for concurrent use: the dataplane goroutine owns it.
package ipsets
