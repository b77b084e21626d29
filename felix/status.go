package felix

import (
	"time"

	"github.com/calico-docker/calico-libnetwork/felix/iptables"
)

// Status is a snapshot of the dataplane's health, for logs and status
// commands.
type Status struct {
	InSync    bool             // see Dataplane.InSync
	Backend   iptables.Backend // iptables backend in use (nftables mode: where Docker's rules are)
	Dataplane string           // DataplaneIptables or DataplaneNftables
	// NftablesHook, with nftables, is where workloads' ingress policy
	// runs: HookEgress (each interface's egress hook) or HookForward.
	NftablesHook      string
	Applies           uint64    // applies attempted
	Failures          uint64    // applies that failed
	LastApply         time.Time // start of the last apply
	LastApplyDuration time.Duration
	LastError         error // of the last apply; nil if it succeeded
	Endpoints         int   // endpoints desired at the last apply
	RoutesProgrammed  int   // our routes in the kernel after the last apply

	// Policy mode (Config.NodeName): how long the last policy render took
	// and the latency from OnSyncEvent to the change being programmed.
	LastRenderDuration time.Duration
	UpdateLatency      LatencyStats
}

// Where the nftables dataplane runs workloads' ingress policy
// (Status.NftablesHook).
const (
	HookEgress  = "egress"
	HookForward = "forward"
)

// LatencyStats summarises observed latencies (for metrics: Total/Count is
// the mean).
type LatencyStats struct {
	Count uint64
	Last  time.Duration
	Max   time.Duration
	Total time.Duration
}

func (l *LatencyStats) record(d time.Duration) {
	l.Count++
	l.Last = d
	l.Max = max(l.Max, d)
	l.Total += d
}

// Status returns the current status.
func (d *Dataplane) Status() Status {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.status
}
