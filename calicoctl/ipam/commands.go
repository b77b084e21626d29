// Package ipam holds calicoctl ipam: show (pool, block and address
// usage), check (audit.go: leaks, orphan blocks) and release.
//
// IPAM check: an allocation is live when a WorkloadEndpoint lists its
// address, owns its handle (driver.Handle) or is named in its
// "workloadEndpoint" attribute; a handle none of whose allocations is
// live is leaked once its newest allocation (attribute timestamp, else
// requested-at) is older than --grace (10m). This covers the window
// between RequestAddress (provisional handle) and CreateEndpoint
// (SetHandle refreshes the timestamp) and the WorkloadEndpoint write
// just after. release frees a leaked handle with ReleaseByHandle, so an
// address re-allocated meanwhile (to another handle) is never taken.
// A block affine to a node without a Node resource is freed by release
// (ipam.ReleaseAffinity: block record and affinity deleted in one
// compare-and-swap, only while the block is empty) when every address in
// it is a leak freed first; a block still holding live addresses is
// listed and kept.
package ipam

import (
	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/spf13/cobra"
)

// Commands are the ipam verbs (show, check, release).
func Commands(c *cli.App) []*cobra.Command {
	a := &app{c}
	return []*cobra.Command{
		a.ipamCommand(),
	}
}

// app is one invocation's shared state; this group's commands are its
// methods.
type app struct{ *cli.App }
