package calicoctl

import (
	"github.com/calico-docker/calico-libnetwork/calicoctl/classic"
	"github.com/calico-docker/calico-libnetwork/calicoctl/cluster"
	"github.com/calico-docker/calico-libnetwork/calicoctl/datastore"
	"github.com/calico-docker/calico-libnetwork/calicoctl/flows"
	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/calico-docker/calico-libnetwork/calicoctl/ipam"
	"github.com/calico-docker/calico-libnetwork/calicoctl/node"
	"github.com/calico-docker/calico-libnetwork/calicoctl/policy"
	"github.com/calico-docker/calico-libnetwork/calicoctl/resource"
	"github.com/spf13/cobra"
)

// groups are calicoctl's command groups, one package each under
// calicoctl/. A new group (e.g. calicoctl flows) is a package with
// Commands(*cli.App) []*cobra.Command, added here.
var groups = []func(*cli.App) []*cobra.Command{
	resource.Commands,  // apply, create, replace, delete, get, patch, label, validate
	classic.Commands,   // pool, profile, endpoint, bgppeer
	node.Commands,      // status, node
	policy.Commands,    // policy
	ipam.Commands,      // ipam
	cluster.Commands,   // cluster
	datastore.Commands, // datastore
	flows.Commands,     // flows
}

// groupCommands are the top-level commands of every group.
func groupCommands(a *cli.App) []*cobra.Command {
	var out []*cobra.Command
	for _, group := range groups {
		out = append(out, group(a)...)
	}
	return out
}
