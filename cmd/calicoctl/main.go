// Command calicoctl manages the Calico resources of calico-libnetwork.
package main

import (
	"os"

	"github.com/calico-docker/calico-libnetwork/calicoctl"
)

func main() {
	os.Exit(calicoctl.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
