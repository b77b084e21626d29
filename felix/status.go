package felix

import (
	"time"

	"github.com/calico-docker/calico-libnetwork/felix/iptables"
)

// Status is a snapshot of the dataplane's health, for logs and status
// commands.
type Status struct {
	InSync            bool             // see Dataplane.InSync
	Backend           iptables.Backend // iptables backend in use
	Applies           uint64           // applies attempted
	Failures          uint64           // applies that failed
	LastApply         time.Time        // start of the last apply
	LastApplyDuration time.Duration
	LastError         error // of the last apply; nil if it succeeded
	Endpoints         int   // endpoints desired at the last apply
	RoutesProgrammed  int   // our routes in the kernel after the last apply
}

// Status returns the current status.
func (d *Dataplane) Status() Status {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.status
}
