// Package flows aggregates flow logs: the first packet of each connection
// a policy verdict rule logged (felix/flowlogs reads them, with the
// deciding rule's identifier), attributed to source and destination
// endpoints (from the cache, by address), with staged policies' would-be
// verdicts (calc.Model.StagedVerdict) and conntrack's packet and byte
// counts, per interval (default 15 s) by source, destination, protocol,
// destination port, action and deciding rule.
//
// Invariants: memory is bounded — at most Config.MaxRows rows per interval
// and 4×MaxRows tracked connections; what does not fit is counted
// (Dropped), never kept. A ring keeps the last Config.Intervals closed
// intervals. The package knows nothing of Docker or of the kernel: the
// daemon hands it packets, a rule table, counters and network names.
//
// It serves the flows API (api.go; docs/flows.md) and Prometheus counters
// per policy rule and per endpoint (metrics.go).
package flows
