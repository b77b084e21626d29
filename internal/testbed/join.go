package testbed

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"

	"google.golang.org/grpc"

	"github.com/calico-docker/calico-libnetwork/cluster"
	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/datastore/embedded/pki"
)

// startJoined starts a bed whose hosts run the embedded etcd (Config.Join):
// the first host alone, reachable from the LAN (etcd_client_host 0.0.0.0);
// then, one after another, every other host with a join token made on
// the first. Hosts with HostConfig.Manual are left for the test to start.
func (b *Bed) startJoined() error {
	first := b.Hosts[0]
	first.SetEnv("CALICO_ETCD_CLIENT_HOST=0.0.0.0")
	if err := first.Start(); err != nil {
		return err
	}
	if err := b.ConnectCluster(first); err != nil {
		return err
	}
	tok, err := b.JoinToken(10 * time.Minute)
	if err != nil {
		return err
	}
	for i, h := range b.Hosts[1:] {
		if b.cfg.Hosts[i+1].Manual {
			continue
		}
		h.SetEnv("CALICO_JOIN_TOKEN="+tok, "CALICO_JOIN_ADDRESS="+first.IP.Addr().String())
		if err := h.Start(); err != nil {
			return err
		}
	}
	return nil
}

// ConnectCluster points b.Client and b.Store at the embedded cluster,
// through h's etcd with h's certificate, dialing 127.0.0.1 inside h's
// namespace (as h's own calicoctl does).
func (b *Bed) ConnectCluster(h *Host) error {
	f := pki.NodeFiles(pki.Dir(h.DataDir))
	dial := grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
		return h.NS.Dial(ctx, "tcp", addr)
	})
	b.clusterCfg = datastore.EtcdConfig{Endpoints: []string{fmt.Sprintf("https://127.0.0.1:%d", etcdPort)},
		CACertFile: f.CA, CertFile: f.Cert, KeyFile: f.Key, DialTimeout: 5 * time.Second, DialOptions: []grpc.DialOption{dial}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cli, err := datastore.Connect(ctx, b.clusterCfg)
	if err != nil {
		return fmt.Errorf("connect to the embedded cluster via %s: %w", h.Name, err)
	}
	if b.Client != nil {
		b.Client.Close()
	}
	b.Client, b.Store = cli, datastore.New(cli)
	return nil
}

// ClusterConfig is how the test reaches the embedded cluster (Config.Join)
// with the first host's certificate.
func (b *Bed) ClusterConfig() datastore.EtcdConfig { return b.clusterCfg }

// JoinToken makes a join token on the cluster, as `calicoctl cluster
// token` does on a member.
func (b *Bed) JoinToken(ttl time.Duration) (string, error) {
	ca, err := pki.LoadCA(pki.Dir(b.Hosts[0].DataDir))
	if err != nil {
		return "", err
	}
	tok, err := cluster.NewToken(ca.Fingerprint())
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	now := time.Now()
	err = b.Store.PutJoinToken(ctx, datastore.JoinToken{ID: tok.ID, SecretHash: tok.SecretHash(), Created: now, Expires: now.Add(ttl)})
	return tok.String(), err
}

// CreateNetworkOn creates a Docker network on the given hosts only (the
// others may be down).
func (b *Bed) CreateNetworkOn(hosts []*Host, name string, subnet netip.Prefix, profile string) (*Network, error) {
	n := &Network{Name: name, Profile: profile, Subnet: subnet}
	n.ids, n.pools, n.pools6 = map[*Host]string{}, map[*Host]string{}, map[*Host]string{}
	for _, h := range hosts {
		if err := h.createNetwork(n); err != nil {
			return nil, err
		}
	}
	return n, nil
}
