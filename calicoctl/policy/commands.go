// Package policy holds calicoctl policy explain and policy show,
// computed by package calc (felix's calculation) over the policy view
// read from the datastore (model.go).
package policy

import (
	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/spf13/cobra"
)

// Commands are policy explain and policy show.
func Commands(c *cli.App) []*cobra.Command {
	a := &app{c}
	return []*cobra.Command{
		a.policyCommand(),
	}
}

// app is one invocation's shared state; this group's commands are its
// methods.
type app struct{ *cli.App }
