package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/calico-docker/calico-libnetwork/cluster"
	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/datastore/embedded/pki"
)

// JoinSettings say how this host joins a cluster and how its member
// admits others (join_* and etcd_voters, etcd_join_port keys).
type JoinSettings struct {
	JoinToken    string // join_token: from `calicoctl cluster token`
	JoinAddress  string // join_address: host:port of a member's join endpoint
	EtcdVoters   int    // etcd_voters: voting members to grow to
	EtcdJoinPort int    // etcd_join_port: this member's join endpoint
}

func (p *parser) joinSettings() JoinSettings {
	j := JoinSettings{JoinToken: p.str("join_token"), JoinAddress: p.str("join_address"),
		EtcdVoters: p.intIn("etcd_voters", 1, cluster.MaxVoters), EtcdJoinPort: p.intIn("etcd_join_port", 1, 65535)}
	if j.JoinToken != "" {
		if _, err := cluster.ParseToken(j.JoinToken); err != nil {
			p.fail(configError("join_token", "…", err.Error()))
		}
		if j.JoinAddress == "" {
			p.fail(configError("join_address", "", "set it to a member's address (host or host:port of its join endpoint) with join_token"))
		}
	}
	if j.JoinAddress != "" {
		if _, _, err := net.SplitHostPort(j.JoinAddress); err != nil {
			j.JoinAddress = net.JoinHostPort(j.JoinAddress, strconv.Itoa(cluster.DefaultJoinPort))
		}
	}
	return j
}

// clusterState is what this host keeps of its place in the cluster, in
// <data_dir>/cluster.json: a client's member endpoints, a member's
// address once other hosts reach it.
type clusterState struct {
	Role      cluster.Role `json:"role"`
	Address   string       `json:"address,omitempty"`
	Endpoints []string     `json:"endpoints,omitempty"`
}

func clusterStatePath(dataDir string) string { return filepath.Join(dataDir, "cluster.json") }

func loadClusterState(dataDir string) (clusterState, error) {
	var st clusterState
	b, err := os.ReadFile(clusterStatePath(dataDir))
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("cluster state: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("cluster state %s is corrupt (%w): remove it and join again", clusterStatePath(dataDir), err)
	}
	return st, nil
}

func saveClusterState(dataDir string, st clusterState) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	p := clusterStatePath(dataDir)
	if err := os.WriteFile(p+".tmp", b, 0o600); err != nil {
		return fmt.Errorf("save cluster state: %w", err)
	}
	return os.Rename(p+".tmp", p)
}

// joinCluster asks a member to admit this host and stores what it gives:
// the CA (and its key, for a member), this host's certificate, the state.
func joinCluster(ctx context.Context, cfg *Config, log *slog.Logger) (*cluster.JoinResponse, clusterState, error) {
	tok, _ := cluster.ParseToken(cfg.JoinToken) // checked by LoadConfig
	ip, err := cluster.LocalAddressFor(cfg.JoinAddress)
	if err != nil {
		return nil, clusterState{}, fmt.Errorf("join %s: %w", cfg.JoinAddress, err)
	}
	if h := net.ParseIP(cfg.EtcdClientHost); h != nil && !h.IsLoopback() && !h.IsUnspecified() {
		ip = h
	}
	log.Info("Joining the cluster", "member", cfg.JoinAddress, "address", ip)
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	resp, err := cluster.Join(ctx, cfg.JoinAddress, tok, cluster.JoinRequest{
		Name: cfg.NodeName, Address: ip.String(), PeerPort: cfg.EtcdPeerPort, ClientPort: cfg.EtcdClientPort,
	})
	if err != nil {
		return nil, clusterState{}, err
	}
	dir := pki.Dir(cfg.DataDir)
	if err := pki.WriteCA(dir, resp.CACert, resp.CAKey); err != nil {
		return nil, clusterState{}, err
	}
	if err := pki.WriteNodeCert(dir, resp.Cert, resp.Key); err != nil {
		return nil, clusterState{}, err
	}
	st := clusterState{Role: resp.Role, Address: ip.String(), Endpoints: resp.Endpoints}
	if err := saveClusterState(cfg.DataDir, st); err != nil {
		return nil, clusterState{}, err
	}
	log.Info("Joined the cluster", "role", resp.Role, "members", resp.Endpoints)
	return resp, st, nil
}

// promoteSelf makes this new learner a voter once it has caught up; until
// then etcd refuses the promotion, so it retries for up to a minute.
func promoteSelf(ctx context.Context, cfg *Config, files pki.Files, endpoints []string, id uint64, log *slog.Logger) error {
	cli, err := datastore.Connect(ctx, datastore.EtcdConfig{Endpoints: endpoints, CACertFile: files.CA, CertFile: files.Cert, KeyFile: files.Key})
	if err != nil {
		return fmt.Errorf("promote this member: %w", err)
	}
	defer cli.Close()
	store := datastore.New(cli)
	deadline := time.Now().Add(time.Minute)
	for {
		err := store.PromoteMember(ctx, id)
		if err == nil {
			log.Info("This host is now a voting etcd member", "id", fmt.Sprintf("%x", id))
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%w (it stays a learner: check `calicoctl cluster status`)", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// serveJoins runs this member's join endpoint until ctx ends.
func serveJoins(ctx context.Context, cfg *Config, store *datastore.Store, host string, log *slog.Logger) error {
	if !pki.HasCAKey(pki.Dir(cfg.DataDir)) {
		return nil
	}
	addr := net.JoinHostPort(host, strconv.Itoa(cfg.EtcdJoinPort))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return configError("etcd_join_port", strconv.Itoa(cfg.EtcdJoinPort), fmt.Sprintf("cannot listen on %s (%v): choose a free port", addr, err))
	}
	srv := &cluster.Server{
		Store: store, PKIDir: pki.Dir(cfg.DataDir), Name: cfg.NodeName, Voters: cfg.EtcdVoters,
		PeerPort: cfg.EtcdPeerPort, ClientPort: cfg.EtcdClientPort, Logger: log,
		SetAddress: func(ip net.IP) error { return takeAddress(cfg, ip) },
	}
	go func() {
		if err := srv.Serve(ctx, l); err != nil {
			log.Error("Join endpoint stopped", "err", err)
		}
	}()
	log.Info("Serving joins", "addr", addr, "voters", cfg.EtcdVoters)
	return nil
}

// takeAddress makes this first host reachable at ip: a certificate that
// names it, and the address kept for restarts.
func takeAddress(cfg *Config, ip net.IP) error {
	dir := pki.Dir(cfg.DataDir)
	ca, err := pki.LoadCA(dir)
	if err != nil {
		return err
	}
	if err := pki.EnsureNodeCert(dir, ca, cfg.NodeName, certIPs(cfg, ip.String()), time.Now()); err != nil {
		return err
	}
	st, err := loadClusterState(cfg.DataDir)
	if err != nil {
		return err
	}
	st.Role, st.Address = cluster.RoleMember, ip.String()
	return saveClusterState(cfg.DataDir, st)
}

// certIPs are the addresses this host's certificate must name: where
// etcd listens (every interface address when etcd_client_host is
// 0.0.0.0) and the cluster address.
func certIPs(cfg *Config, address string) []net.IP {
	var ips []net.IP
	for _, h := range []string{cfg.EtcdClientHost, address} {
		if ip := net.ParseIP(h); ip != nil && !ip.IsUnspecified() {
			ips = append(ips, ip)
		}
	}
	if ip := net.ParseIP(cfg.EtcdClientHost); ip != nil && ip.IsUnspecified() {
		addrs, _ := net.InterfaceAddrs()
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && n.IP.IsGlobalUnicast() {
				ips = append(ips, n.IP.To4())
			}
		}
	}
	return ips
}
