package calicoctl

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version is the client version, set at build time with
// -ldflags "-X github.com/calico-docker/calico-libnetwork/calicoctl.Version=v1.2.3".
var Version = "dev"

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Show the calicoctl version",
		Long:    "Show the client version, the commit it was built from and the Go version.",
		Example: "  calicoctl version",
		Args:    argsWith(cobra.NoArgs),
		RunE: func(*cobra.Command, []string) error {
			fmt.Fprintf(a.out, "Client Version:    %s\n", Version)
			fmt.Fprintf(a.out, "Git commit:        %s\n", gitCommit())
			fmt.Fprintf(a.out, "Go version:        %s\n", runtime.Version())
			return nil
		},
	}
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
