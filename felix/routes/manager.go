package routes

import (
	"log/slog"

	"github.com/vishvananda/netlink"
)

// Config configures a Manager. The zero value is usable.
type Config struct {
	RouteProtocol int    // default DefaultRouteProtocol
	VXLANDevice   string // default DefaultVXLANDevice
	Logger        *slog.Logger
	// Dumps is the handle our routes are dumped through (OurRoutes):
	// one in the same namespace with strict checking on gets them
	// filtered by the kernel, not every route of the host (10,000 workload
	// routes on a host of 10,000 endpoints). Default: NewManager's handle.
	Dumps *netlink.Handle
}

// Manager converges one namespace on a Desired state. It has no goroutine
// and no lock: its owner (felix's dataplane loop) is its only caller.
type Manager struct {
	k *kernel
}

// NewManager returns a Manager programming through nl, which stays the
// caller's to close.
func NewManager(cfg Config, nl *netlink.Handle) *Manager {
	if cfg.RouteProtocol == 0 {
		cfg.RouteProtocol = DefaultRouteProtocol
	}
	if cfg.VXLANDevice == "" {
		cfg.VXLANDevice = DefaultVXLANDevice
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Dumps == nil {
		cfg.Dumps = nl
	}
	return &Manager{k: &kernel{cfg: cfg, log: cfg.Logger, nl: nl}}
}

// Apply reads the kernel back and writes the difference from des: devices,
// then FDB and neighbour entries, then routes. Every step runs; errors are
// joined, and also recorded in the Status.
func (m *Manager) Apply(des Desired) (Status, error) {
	res := m.k.apply(des)
	st := Status{InSync: res.err == nil, Routes: res.routes, Conflicts: res.conflicts,
		IPIPAvailable: m.k.ipipOK, IPIPReason: m.k.ipipReason}
	if res.err != nil {
		st.LastError = res.err.Error()
	}
	return st, res.err
}

// RemoveOurRoutes deletes every route of our protocol (when routing
// stops: routes learned from peers must not outlive the process that keeps
// them correct). It returns how many went.
func (m *Manager) RemoveOurRoutes() (int, error) { return m.k.removeOurRoutes() }
