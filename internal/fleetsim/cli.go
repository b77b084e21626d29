package fleetsim

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/calico-docker/calico-libnetwork/datastore"
)

// Main is the fleetsim command: it loads a simulated fleet into the etcd
// at -etcd-endpoints and optionally churns it, then exits. The simulated
// hosts stay in etcd (remove them with a fresh etcd; they are meant for a
// test cluster, never a production one).
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("fleetsim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg Config
	endpoints := fs.String("etcd-endpoints", "", "etcd client URLs, comma-separated (required), e.g. http://127.0.0.1:2379")
	fs.IntVar(&cfg.Hosts, "hosts", 1000, "simulated hosts")
	fs.IntVar(&cfg.EndpointsPerHost, "endpoints-per-host", 50, "WorkloadEndpoints per simulated host")
	fs.IntVar(&cfg.Policies, "policies", 20, "NetworkPolicies selecting simulated endpoints")
	fs.StringVar(&cfg.PoolCIDR, "pool", "198.18.0.0/15", "IP pool of the simulated endpoints (stored disabled)")
	fs.BoolVar(&cfg.DisableMesh, "no-mesh", true, "store BGPConfiguration default with nodeToNodeMeshEnabled false")
	rate := fs.Float64("churn-rate", 0, "endpoint changes per second after loading (0: no churn)")
	churnFor := fs.Duration("churn-for", time.Minute, "how long to churn")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *endpoints == "" {
		return errors.New("fleetsim: -etcd-endpoints is required: give the etcd of a test cluster, e.g. http://127.0.0.1:2379")
	}
	cli, err := datastore.Connect(ctx, datastore.EtcdConfig{Endpoints: datastore.ParseEndpoints(*endpoints), DialTimeout: 5 * time.Second})
	if err != nil {
		return err
	}
	defer cli.Close()
	f, err := New(datastore.New(cli), cfg)
	if err != nil {
		return err
	}
	start := time.Now()
	if err := f.LoadTo(ctx, f.Config().Hosts); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "loaded %d hosts × %d endpoints in %v\n", f.Config().Hosts, f.Config().EndpointsPerHost, time.Since(start).Round(time.Millisecond))
	if *rate <= 0 {
		return nil
	}
	st, err := f.Churn(ctx, *rate, *churnFor, uint64(time.Now().UnixNano()))
	fmt.Fprintf(stdout, "churned %d changes (%d deletes) in %v: %.1f/s, %d late\n", st.Changes, st.Deletes, st.Duration.Round(time.Millisecond), st.Rate(), st.Late)
	return err
}
