// Package iptables programs our chains and rules into the kernel's iptables
// tables, in the manner of Calico felix's iptables driver.
//
// A Table holds desired state: chains we own outright (named with a prefix,
// "cali-") and rules we keep at the top of chains we do not own (FORWARD).
// Every rule we write carries a comment "cali:<hash>", where the hash covers
// the chain name and the rule. Applying reads the table back with
// iptables-save, compares hash lists (no rule-text parsing), and writes only
// the difference in one iptables-restore --noflush batch per table: a chain
// that keeps its other rules in order while it gains or loses some is
// patched in place, its rules gone deleted by their text and its new ones
// inserted at their positions (a chain whose rules may run in any order,
// TableConfig.AnyOrder, gets its new ones at the top); any other change
// flushes and rewrites it. Rules without our tag are never
// touched, so Docker's chains and rules are safe.
//
// Reading back a large table (thousands of policy rules) costs far more
// than writing a small change, so ApplyIncremental diffs against what the
// previous successful apply left instead; callers use it for changes of the
// desired state and Apply (which reads back, repairing what others changed)
// for the periodic resync. Rule hashes are cached per chain while a chain's
// rules do not change.
//
// DetectBackend chooses between the legacy (x_tables) and nft backends by
// where rules already are, so our rules sit next to Docker's.
package iptables
