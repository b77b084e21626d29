package calicoctl

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/resources"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version is the client version, set at build time with
// -ldflags "-X github.com/calico-docker/calico-libnetwork/calicoctl.Version=v1.2.3".
var Version = "dev"

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Show the calicoctl version",
		Long: `Show the client version, the commit it was built from and the Go version, then
the cluster's version and type from ClusterInformation "default" (which the daemon
writes), or "unknown" when the datastore cannot be reached or has none.`,
		Example: "  calicoctl version",
		Args:    argsWith(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(a.out, "Client Version:    %s\n", Version)
			fmt.Fprintf(a.out, "Git commit:        %s\n", gitCommit())
			fmt.Fprintf(a.out, "Go version:        %s\n", runtime.Version())
			ver, typ, err := a.clusterVersion(cmd.Context())
			if err != nil {
				fmt.Fprintf(a.err, "Unable to retrieve Cluster Version or Type: %v\n", err)
			}
			fmt.Fprintf(a.out, "Cluster Version:   %s\n", ver)
			fmt.Fprintf(a.out, "Cluster Type:      %s\n", typ)
			return nil
		},
	}
}

// clusterVersion reads ClusterInformation "default".
func (a *app) clusterVersion(ctx context.Context) (version, clusterType string, err error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	st, err := a.store(ctx)
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
	return firstSet(ci.Spec.CalicoVersion, "unknown"), firstSet(ci.Spec.ClusterType, "unknown"), nil
}

// gitCommit is the VCS revision the binary was built from, if recorded.
func gitCommit() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	rev, dirty := "unknown", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty {
		rev += "-dirty"
	}
	return rev
}
