// Package cluster holds calicoctl cluster: join tokens (token, tokens,
// revoke), member removal and cluster status.
package cluster

import (
	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/spf13/cobra"
)

// Commands are the cluster verbs (token, tokens, revoke, remove, status).
func Commands(c *cli.App) []*cobra.Command {
	a := &app{c}
	return []*cobra.Command{
		a.clusterCommand(),
	}
}

// app is one invocation's shared state; this group's commands are its
// methods.
type app struct{ *cli.App }
