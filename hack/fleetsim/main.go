// Command fleetsim loads a simulated fleet (internal/fleetsim) into a
// test cluster's etcd and optionally churns it:
//
//	go run ./hack/fleetsim -etcd-endpoints http://127.0.0.1:2379 -hosts 1000 -churn-rate 100 -churn-for 1m
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/calico-docker/calico-libnetwork/internal/fleetsim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := fleetsim.Main(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
