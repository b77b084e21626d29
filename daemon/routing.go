package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/calico-docker/calico-libnetwork/cache"
	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/felix"
	"github.com/calico-docker/calico-libnetwork/felix/nat"
	"github.com/calico-docker/calico-libnetwork/ipam"
	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/calico-docker/calico-libnetwork/routing"
	"github.com/calico-docker/calico-libnetwork/routing/autodetect"
	"github.com/calico-docker/calico-libnetwork/routing/status"
)

// Routing holds the settings of routing across hosts (package routing)
// and of the node's BGP identity, named as calico/node users know them.
type Routing struct {
	NetworkingBackend string               // networking_backend: bird (BGP), vxlan or none
	BGPNode           routing.NodeSettings // ip, ip6, ip(6)_autodetection_method, as
	VXLANVNI          int
	VXLANPort         int
	VXLANMTU          int
	IPIPMTU           int
	BGPSecretsDir     string // bgp_secrets_dir; "" = <data_dir>/bgp-secrets
}

func (p *parser) routing() Routing {
	r := Routing{
		NetworkingBackend: p.str("networking_backend"),
		BGPNode: routing.NodeSettings{IP: p.str("ip"), IP6: p.str("ip6"), IPMethod: p.str("ip_autodetection_method"),
			IP6Method: p.str("ip6_autodetection_method"), AS: p.str("as")},
		VXLANVNI:      p.intIn("vxlan_vni", 1, 1<<24-1),
		VXLANPort:     p.intIn("vxlan_port", 1, 65535),
		VXLANMTU:      p.intIn("vxlan_mtu", 68, 65535),
		IPIPMTU:       p.intIn("ipip_mtu", 68, 65535),
		BGPSecretsDir: p.str("bgp_secrets_dir"),
	}
	if r.BGPSecretsDir != "" && !strings.HasPrefix(r.BGPSecretsDir, "/") {
		p.fail(configError("bgp_secrets_dir", r.BGPSecretsDir, "use an absolute directory path, or leave it empty for <data_dir>/bgp-secrets"))
	}
	switch r.NetworkingBackend {
	case routing.BackendBGP, routing.BackendVXLAN, routing.BackendNone:
	default:
		p.fail(configError("networking_backend", r.NetworkingBackend, "use bird (BGP), vxlan or none"))
	}
	for key, fam := range map[string]int{"ip": 4, "ip6": 6} {
		if err := routing.ParseAddrSetting(p.str(key), fam); err != nil {
			p.fail(configError(key, p.str(key), err.Error()))
		}
	}
	for _, key := range []string{"ip_autodetection_method", "ip6_autodetection_method"} {
		if _, err := autodetect.Parse(p.str(key)); err != nil {
			p.fail(configError(key, p.str(key), err.Error()))
		}
	}
	if _, err := routing.ParseAS(r.BGPNode.AS); err != nil {
		p.fail(configError("as", r.BGPNode.AS, "use an AS number from 1 to 4294967295"))
	}
	return r
}

// startRouting sets this node's BGP identity, then runs the router and the
// status endpoint (<data_dir>/status.sock) until ctx ends. The router and
// natOutgoing hand their desired state to dp, the one owner of the kernel.
// The returned function waits for them to stop.
func startRouting(ctx context.Context, cfg *Config, store *datastore.Store, c *cache.Cache, alloc *ipam.Allocator, dp *felix.Dataplane,
	live *liveConfig, src *StatusSources, log *slog.Logger) (func(), error) {
	if cfg.NetworkingBackend != routing.BackendNone {
		if _, err := routing.ConfigureNode(ctx, store, cfg.NodeName, cfg.BGPNode, log); err != nil {
			return nil, err
		}
	}
	onPools := func(ps []*resources.IPPool) {
		if err := dp.SetNATPools(natPools(ps)); err != nil {
			log.Error("natOutgoing pools refused", "err", err)
		}
	}
	t := tunnelSettingsOf(live.resolve().Settings)
	r, err := routing.New(routing.Config{
		NodeName: cfg.NodeName, Cache: c, Nodes: store, IPAM: tunnelIPAM{alloc}, Backend: cfg.NetworkingBackend, Dataplane: dp,
		VXLANVNI: t.VXLANVNI, VXLANPort: t.VXLANPort, VXLANMTU: t.VXLANMTU, IPIPMTU: t.IPIPMTU,
		OnPools: onPools, Logger: log, SecretsDir: secretsDir(cfg),
	})
	if err != nil {
		return nil, err
	}
	live.attach(dp, r)     // FelixConfiguration's tunnel settings, live (felixconfig.go)
	src.Routing = r.Status // status.go adds version, datastore and dataplane
	srv, err := serveStatus(filepath.Join(cfg.DataDir, status.SocketName), StatusHandler(src), log)
	if err != nil {
		return nil, err
	}
	go r.Run(ctx)
	return func() {
		<-r.Done()
		srv.Close()
	}, nil
}

// secretsDir is where BGP passwords are read from.
func secretsDir(cfg *Config) string {
	if cfg.BGPSecretsDir != "" {
		return cfg.BGPSecretsDir
	}
	return filepath.Join(cfg.DataDir, "bgp-secrets")
}

// tunnelIPAM gives routing the IPAM calls its tunnel addresses need.
type tunnelIPAM struct{ *ipam.Allocator }

func (t tunnelIPAM) AssignIPv4(ctx context.Context, handle string, pools []netip.Prefix, attrs map[string]string) (netip.Addr, error) {
	v4, _, err := t.AutoAssign(ctx, ipam.AutoAssignArgs{Handle: handle, Num4: 1, Pools: pools, Attrs: attrs})
	if err != nil {
		return netip.Addr{}, err
	}
	if len(v4) == 0 {
		return netip.Addr{}, fmt.Errorf("allocate an address for %s: IPAM returned none", handle)
	}
	return v4[0], nil
}

func (t tunnelIPAM) ReleaseHandle(ctx context.Context, handle string) error {
	if err := t.ReleaseByHandle(ctx, handle); err != nil && !errors.Is(err, ipam.ErrHandleNotFound) {
		return err
	}
	return nil
}

// natPools turns IP pools into what natOutgoing needs.
func natPools(ps []*resources.IPPool) []nat.Pool {
	out := make([]nat.Pool, 0, len(ps))
	for _, p := range ps {
		if cidr, err := resources.ParseCIDR(p.Spec.CIDR); err == nil && cidr == cidr.Masked() {
			out = append(out, nat.Pool{CIDR: cidr, NATOutgoing: p.Spec.NATOutgoing})
		}
	}
	return out
}

// statusServer serves the status document on a unix socket.
type statusServer struct {
	path string
	srv  *http.Server
}

// serveStatus listens on path (replacing a stale socket) and serves
// package status's document there.
func serveStatus(path string, h http.Handler, log *slog.Logger) (*statusServer, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("status socket dir: %w", err)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("another process serves %s: stop it first, or set data_dir", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("remove stale status socket %s: %w", path, err)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("status socket: %w", err)
	}
	s := &statusServer{path: path, srv: &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}}
	go func() { _ = s.srv.Serve(l) }()
	log.Info("Serving routing status", "socket", path)
	return s, nil
}

func (s *statusServer) Close() {
	_ = s.srv.Close()
	_ = os.Remove(s.path)
}
