// Package node holds calicoctl status (overall_status.go: datastore,
// nodes, this host) and calicoctl node status (status.go: the daemon's
// status socket, <data_dir>/status.sock, GET /status, decoded here
// without importing the daemon), node diags (one tar.gz, each failing
// collector listed in errors.txt) and node checksystem.
package node

import (
	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/spf13/cobra"
)

// Commands are calicoctl status and the node verbs (status, diags, checksystem).
func Commands(c *cli.App) []*cobra.Command {
	a := &app{c}
	return []*cobra.Command{
		a.statusCommand(), a.nodeCommand(),
	}
}

// app is one invocation's shared state; this group's commands are its
// methods.
type app struct{ *cli.App }
