// Package classic holds calicoctl's classic (v0-era) verbs — pool,
// profile, endpoint and bgppeer — mapped onto v3 resources. v0rules.go
// converts the v0 profile rule JSON; ruleedit.go is profile rule
// add/remove (the classic rule text) and profile tag add/remove; args.go
// rewrites the classic argument order "profile NAME member|rule|tag ..."
// into the tree's "profile member|rule|tag VERB NAME ...".
//
// Mapping decisions (classic → v3):
//   - pool add CIDR creates IPPool "pool-" + CIDR with '.', ':', '/' as
//     '-' (pool-10-1-0-0-16); on an existing CIDR it sets the options
//     given (v0 semantics). pool remove refuses while addresses of the
//     pool are allocated, unless --force (the containers keep them).
//   - A v0 tag T is the label T: "" in a profile's labelsToApply; src_tag
//     / dst_tag T is the selector has(T). A profile created by the
//     classic commands is driver.NewNetworkProfile's: tag = its name,
//     ingress from that tag, all egress. rule update gives a profile
//     named T the label T when a rule references T; other v0 fields map
//     one to one (see calicoctl profile rule update --help). rule show
//     prints v0's numbered text form, -o json (= rule json) the v0 JSON;
//     v3-only rules (Log, Pass, negations, selectors) have no v0 JSON.
//   - bgppeer add IP as AS: a global BGPPeer "bgppeer-<ip>"; bgppeer rr
//     add IP: "rr-<ip>" with the cluster AS (iBGP), labelled
//     calicoctl.projectcalico.org/route-reflector=true; the mesh setting
//     is left alone.
//   - endpoint show: the seed's columns; WORKLOAD ID is the short
//     container ID, STATE is active or pending (labels not known yet).
package classic

import (
	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/spf13/cobra"
)

// Commands are the classic (v0-era) verbs mapped onto v3 resources: pool, profile, endpoint and bgppeer.
func Commands(c *cli.App) []*cobra.Command {
	a := &app{c}
	return []*cobra.Command{
		a.poolCommand(), a.profileCommand(), a.endpointCommand(), a.bgpPeerCommand(),
	}
}

// app is one invocation's shared state; this group's commands are its
// methods.
type app struct{ *cli.App }
