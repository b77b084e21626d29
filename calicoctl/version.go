package calicoctl

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"

	"runtime"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/resources"

	"github.com/spf13/cobra"
)

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Show the calicoctl version",
		Long: `Show the client version, the commit it was built from and the Go version, then
the cluster's version and type from ClusterInformation "default" (which the daemon
writes), or "unknown" when the datastore cannot be reached or has none.`,
		Example: "  calicoctl version",
		Args:    cli.ArgsWith(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(a.Out, "Client Version:    %s\n", cli.Version)
			fmt.Fprintf(a.Out, "Git commit:        %s\n", cli.GitCommit())
			fmt.Fprintf(a.Out, "Go version:        %s\n", runtime.Version())
			ver, typ, err := a.clusterVersion(cmd.Context())
			if err != nil {
				fmt.Fprintf(a.Err, "Unable to retrieve Cluster Version or Type: %v\n", err)
			}
			fmt.Fprintf(a.Out, "Cluster Version:   %s\n", ver)
			fmt.Fprintf(a.Out, "Cluster Type:      %s\n", typ)
			return nil
		},
	}
}

// clusterVersion reads ClusterInformation "default".
func (a *app) clusterVersion(ctx context.Context) (version, clusterType string, err error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	st, err := a.Store(ctx)
	if err != nil {
		return "unknown", "unknown", err
	}
	ci, err := datastore.GetAs[*resources.ClusterInformation](ctx, st, "", resources.ClusterInformationName)
	if err != nil {
		if errors.Is(err, datastore.ErrNotFound) {
			err = errors.New("no ClusterInformation \"default\" is stored yet: start the daemon once")
		}
		return "unknown", "unknown", err
	}
	return cli.FirstSet(ci.Spec.CalicoVersion, "unknown"), cli.FirstSet(ci.Spec.ClusterType, "unknown"), nil
}
