package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/felix"
	"github.com/calico-docker/calico-libnetwork/felixconfig"
	"github.com/calico-docker/calico-libnetwork/routing/status"
)

// The status endpoint: HTTP on the unix socket <data_dir>/status.sock
// (status.SocketName), GET /status (status.Path), read by `calicoctl node
// status`, `calicoctl status` and `calicoctl node diags`. Only local users
// who may open the socket (root, with the default data_dir) can read it,
// so it needs no port and no authentication.
//
// The document is routing's status.Status (node, time, networking backend,
// BGP speaker and sessions, routes, tunnels) with, at the same level, what
// the rest of the daemon knows:
//
//	{
//	  "node": "host1", "time": "...", "backend": "bird", "bgp": {...}, "routes": {...}, "encapsulation": {...},
//	  "version": "v1.2.3",
//	  "datastore": {"reachable": true, "endpoints": ["http://127.0.0.1:2379"]},
//	  "dataplane": {"inSync": true, "iptablesBackend": "nft", "applies": 12, "failures": 0,
//	                "lastApply": "...", "lastApplyDuration": "3ms", "endpoints": 2, "routes": 2},
//	  "felixConfiguration": {"logLevel": "INFO", "endpointToHostAction": "Drop", "ipv6Support": false,
//	                         "resyncInterval": "1m0s", "dataplane": "iptables", "sources": {...}, "notApplied": [...]}
//	                         (and "pending" when nftablesMode asks for another dataplane than the running one)
//	}
//
// A reader that knows only status.Status (status.Fetch) reads the same
// document and ignores the rest.

// statusProbeTimeout bounds the datastore probe of one status request.
const statusProbeTimeout = 2 * time.Second

// HostStatus is the status document.
type HostStatus struct {
	status.Status
	Version   string           `json:"version"`
	Datastore DatastoreStatus  `json:"datastore"`
	Dataplane *DataplaneStatus `json:"dataplane,omitempty"` // absent until felix runs
	// FelixConfiguration is what the daemon applies of it (felixconfig.go).
	FelixConfiguration *FelixConfigStatus `json:"felixConfiguration,omitempty"`
}

// DatastoreStatus says whether the daemon reaches etcd right now.
type DatastoreStatus struct {
	Reachable bool     `json:"reachable"`
	Endpoints []string `json:"endpoints"`
	Error     string   `json:"error,omitempty"`
}

// DataplaneStatus is felix's state (felix.Status).
type DataplaneStatus struct {
	InSync            bool       `json:"inSync"`
	Dataplane         string     `json:"dataplane,omitempty"`       // iptables or nftables
	IptablesBackend   string     `json:"iptablesBackend,omitempty"` // legacy or nft (nftables: where Docker's rules are)
	NftablesHook      string     `json:"nftablesHook,omitempty"`    // nftables: egress or forward, where workloads' ingress policy runs
	Applies           uint64     `json:"applies"`
	Failures          uint64     `json:"failures"`
	LastApply         *time.Time `json:"lastApply,omitempty"`
	LastApplyDuration string     `json:"lastApplyDuration,omitempty"`
	LastError         string     `json:"lastError,omitempty"`
	Endpoints         int        `json:"endpoints"` // local endpoints programmed
	Routes            int        `json:"routes"`    // workload routes in the kernel
}

// StatusSources are what the status document is made of. A nil func
// leaves its part out. Set the fields before serving; they are read by
// every request.
type StatusSources struct {
	Node      string
	Version   string
	Endpoints []string                        // etcd endpoints
	Datastore func(ctx context.Context) error // nil when etcd answers
	Dataplane func() felix.Status
	// Routing is routing.Router.Status: BGP sessions, routes, tunnels.
	Routing func() status.Status
	// Felix is the live FelixConfiguration's last result (liveConfig.Result).
	Felix func() (felixconfig.Result, bool)
	Now   func() time.Time // default time.Now
	// Flows serves the flows API (/api/v1/...) on the socket too; nil
	// when flow logs are off.
	Flows http.Handler
}

// newStatusSources are the daemon's sources: its etcd client and felix.
// The routing code fills Routing when the router exists.
func newStatusSources(cfg *Config, cli *clientv3.Client, dp *felix.Dataplane) *StatusSources {
	return &StatusSources{
		Node: cfg.NodeName, Version: Version(), Endpoints: cli.Endpoints(), Dataplane: dp.Status,
		Datastore: func(ctx context.Context) error { return datastore.Health(ctx, cli) },
	}
}

// Snapshot builds the document now.
func (s *StatusSources) Snapshot(ctx context.Context) HostStatus {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	var h HostStatus
	if s.Routing != nil {
		h.Status = s.Routing()
	}
	if h.Node == "" {
		h.Node = s.Node
	}
	if h.Time.IsZero() {
		h.Time = now().UTC()
	}
	h.Version = s.Version
	h.Datastore = DatastoreStatus{Endpoints: append([]string{}, s.Endpoints...)}
	if s.Datastore != nil {
		ctx, cancel := context.WithTimeout(ctx, statusProbeTimeout)
		err := s.Datastore(ctx)
		cancel()
		h.Datastore.Reachable = err == nil || errors.Is(err, datastore.ErrNoSpace)
		switch {
		case errors.Is(err, datastore.ErrNoSpace):
			h.Datastore.Error = err.Error() // reachable, but refusing writes
		case err != nil:
			h.Datastore.Error = fmt.Sprintf("etcd does not answer: %v", err)
		}
	}
	if s.Dataplane != nil {
		h.Dataplane = dataplaneStatusOf(s.Dataplane())
	}
	if s.Felix != nil {
		if res, ok := s.Felix(); ok {
			h.FelixConfiguration = felixConfigStatusOf(res)
			if h.Dataplane != nil {
				h.FelixConfiguration.Pending = pendingDataplane(h.FelixConfiguration.Dataplane, h.Dataplane.Dataplane)
			}
		}
	}
	return h
}

func dataplaneStatusOf(st felix.Status) *DataplaneStatus {
	d := &DataplaneStatus{
		InSync: st.InSync, Dataplane: st.Dataplane, IptablesBackend: string(st.Backend), NftablesHook: st.NftablesHook,
		Applies: st.Applies, Failures: st.Failures,
		Endpoints: st.Endpoints, Routes: st.RoutesProgrammed,
	}
	if !st.LastApply.IsZero() {
		t := st.LastApply.UTC()
		d.LastApply = &t
		d.LastApplyDuration = st.LastApplyDuration.String()
	}
	if st.LastError != nil {
		d.LastError = st.LastError.Error()
	}
	return d
}

// StatusHandler serves the document at GET status.Path.
func StatusHandler(s *StatusSources) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+status.Path, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(s.Snapshot(r.Context()))
	})
	if s.Flows != nil {
		mux.Handle("/api/v1/", s.Flows)
	}
	return mux
}
