package routing

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/cache"
	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/felix/routes"
	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
)

func TestSeverityLevel(t *testing.T) {
	tests := []struct {
		in   string
		want slog.Level
		ok   bool
	}{
		{"Debug", slog.LevelDebug - 4, true},
		{"Info", slog.LevelInfo, true},
		{"Warning", slog.LevelWarn, true},
		{"Error", slog.LevelError, true},
		{"Fatal", slog.LevelError + 4, true},
		{"", 0, false},
		{"debug", 0, false},
		{"Warn", 0, false},
	}
	for _, tt := range tests {
		got, ok := severityLevel(tt.in)
		if ok != tt.ok || got != tt.want {
			t.Errorf("severityLevel(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func bgpConfig(name, severity string) *resources.BGPConfiguration {
	c := resources.NewBGPConfiguration(name)
	c.Spec.LogSeverityScreen = severity
	return c
}

func TestSettingsLogSeverity(t *testing.T) {
	tests := []struct {
		name    string
		configs []*resources.BGPConfiguration
		want    string
	}{
		{"none", nil, ""},
		{"default", []*resources.BGPConfiguration{bgpConfig("default", "Warning")}, "Warning"},
		{"node over default", []*resources.BGPConfiguration{bgpConfig("default", "Warning"), bgpConfig("node.a", "Debug")}, "Debug"},
		{"node unset keeps default", []*resources.BGPConfiguration{bgpConfig("default", "Error"), bgpConfig("node.a", "")}, "Error"},
		{"other node ignored", []*resources.BGPConfiguration{bgpConfig("node.b", "Debug")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCluster()
			for _, cfg := range tt.configs {
				c.configs[cfg.Name] = cfg
			}
			if got := c.settingsFor("a").logSeverity; got != tt.want {
				t.Errorf("logSeverity = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestLogSeverityLive changes logSeverityScreen through sync events and
// checks what the Router's loggers (its own, the speaker's) let through.
func TestLogSeverityLive(t *testing.T) {
	var buf bytes.Buffer
	base := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	// The test feeds onSync directly: nothing subscribes, writes or allocates.
	r, err := New(Config{NodeName: "a", Cache: cache.New(cache.Config{}), Nodes: &datastore.Store{}, IPAM: unusedIPAM{},
		Dataplane: unusedDataplane{}, Logger: base})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	set := func(severity string) {
		u := model.Update{Kind: resources.KindBGPConfiguration, Name: "default"}
		if severity != "" {
			u.Object = bgpConfig("default", severity)
		}
		r.onSync(model.SyncEvent{Updates: []model.Update{u}})
	}
	steps := []struct {
		severity        string
		debug, info, er bool
	}{
		{"", false, true, true}, // the process's handler decides
		{"Debug", true, true, true},
		{"Warning", false, false, true},
		{"Fatal", false, false, false},
		{"", false, true, true},
	}
	for _, s := range steps {
		set(s.severity)
		for lvl, want := range map[slog.Level]bool{slog.LevelDebug: s.debug, slog.LevelInfo: s.info, slog.LevelError: s.er} {
			if got := r.log.Enabled(ctx, lvl); got != want {
				t.Errorf("severity %q: routing log enabled at %v = %v, want %v", s.severity, lvl, got, want)
			}
			if got := r.cfg.Logger.With("component", "bgp").Enabled(ctx, lvl); got != want {
				t.Errorf("severity %q: derived log enabled at %v = %v, want %v", s.severity, lvl, got, want)
			}
		}
	}
	buf.Reset()
	set("Debug")
	r.log.Debug("hello-debug")
	if !strings.Contains(buf.String(), "hello-debug") {
		t.Errorf("Debug severity did not let a debug message through the info-level handler: %q", buf.String())
	}
}

// unusedIPAM satisfies Config.IPAM where a test never allocates (any call
// would panic on the nil embedded interface).
type unusedIPAM struct{ TunnelIPAM }

// unusedDataplane stands in for felix where a test never runs the Router's
// loop: nothing is handed over.
type unusedDataplane struct{}

func (unusedDataplane) SetRoutes(routes.Desired)    {}
func (unusedDataplane) RoutesStatus() routes.Status { return routes.Status{} }
func (unusedDataplane) IPIPSupport() (bool, string) { return false, "not probed in this test" }
