// Command calico-libnetwork is the Calico daemon for Docker: the calico
// network driver, the calico-ipam IPAM driver and the dataplane, in one
// process. See package daemon for its settings.
package main

import (
	"fmt"
	"os"

	"github.com/calico-docker/calico-libnetwork/daemon"
)

func main() {
	if err := daemon.Main(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "calico-libnetwork:", err)
		os.Exit(1)
	}
}
