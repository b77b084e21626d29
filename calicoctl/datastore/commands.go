// Package datastore holds calicoctl datastore backup: an etcd snapshot
// streamed to a file.
package datastore

import (
	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/spf13/cobra"
)

// Commands are datastore backup.
func Commands(c *cli.App) []*cobra.Command {
	a := &app{c}
	return []*cobra.Command{
		a.datastoreCommand(),
	}
}

// app is one invocation's shared state; this group's commands are its
// methods.
type app struct{ *cli.App }
