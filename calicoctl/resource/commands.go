// Package resource holds calicoctl's v3 resource verbs: apply, create,
// replace (apply.go), delete, get, patch, label and validate (modify.go),
// with the checks that span objects (pool_rules.go, tier_rules.go).
package resource

import (
	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/spf13/cobra"
)

// Commands are the v3 resource verbs: apply, create, replace, delete, get, patch, label and validate.
func Commands(c *cli.App) []*cobra.Command {
	a := &app{c}
	return []*cobra.Command{
		a.applyCommand(), a.createCommand(), a.replaceCommand(),
		a.deleteCommand(), a.getCommand(),
		a.patchCommand(), a.labelCommand(), a.validateCommand(),
	}
}

// app is one invocation's shared state; this group's commands are its
// methods.
type app struct{ *cli.App }
