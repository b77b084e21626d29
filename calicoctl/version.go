package calicoctl

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/spf13/cobra"
)

func (a *app) versionCommand() *cobra.Command {
	var poll time.Duration
	cmd := &cobra.Command{
		Use:   "version [--poll DURATION]",
		Short: "Show the calicoctl version",
		Long: `Show the client version, the commit it was built from and the Go version, then
the cluster's version and type from ClusterInformation "default" (which the daemon
writes), or "unknown" when the datastore cannot be reached or has none.

--poll DURATION (e.g. 1m) keeps reading the cluster's version at that interval and
prints the Cluster Version and Cluster Type lines again whenever they change, until
interrupted; a failed read is reported on stderr and polling goes on.`,
		Example: `  calicoctl version
  calicoctl version --poll 1m`,
		Args: cli.ArgsWith(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if poll < 0 {
				return cli.Usagef("--poll %s is negative: give an interval such as 1m, or 0 to print once", poll)
			}
			fmt.Fprintf(a.Out, "Client Version:    %s\n", cli.Version)
			fmt.Fprintf(a.Out, "Git commit:        %s\n", cli.GitCommit())
			fmt.Fprintf(a.Out, "Go version:        %s\n", runtime.Version())
			if poll > 0 {
				return a.pollClusterVersion(cmd.Context(), poll)
			}
			ver, typ, err := a.clusterVersion(cmd.Context())
			if err != nil {
				fmt.Fprintf(a.Err, "Unable to retrieve Cluster Version or Type: %v\n", err)
			}
			fmt.Fprintf(a.Out, "Cluster Version:   %s\n", ver)
			fmt.Fprintf(a.Out, "Cluster Type:      %s\n", typ)
			return nil
		},
	}
	cmd.Flags().DurationVar(&poll, "poll", 0, "read the cluster version again at this interval, printing changes (0: once)")
	return cmd
}

// pollClusterVersion prints the cluster's version and type, then each one
// again when it changes, every interval until ctx ends (an interrupt:
// exit 0). After a failed read both lines print again once read.
func (a *app) pollClusterVersion(ctx context.Context, interval time.Duration) error {
	var lastVer, lastType string
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		ver, typ, err := a.clusterVersion(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			fmt.Fprintf(a.Err, "Unable to retrieve Cluster Version or Type: %v\n", err)
			lastVer, lastType = "", ""
		default:
			if ver != lastVer {
				fmt.Fprintf(a.Out, "Cluster Version:   %s\n", ver)
				lastVer = ver
			}
			if typ != lastType {
				fmt.Fprintf(a.Out, "Cluster Type:      %s\n", typ)
				lastType = typ
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
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
