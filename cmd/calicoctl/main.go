// Command calicoctl manages the Calico resources of calico-libnetwork.
package main

import (
	"log/slog"
	"os"

	"github.com/calico-docker/calico-libnetwork/calicoctl"
)

func main() {
	// The libraries calicoctl shares with the daemon (ipam, datastore) log
	// what they do at info level for the daemon's log; calicoctl says what
	// it did itself, so only their warnings reach its stderr.
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	os.Exit(calicoctl.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
