package felixconfig

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/resources"
)

func felixConfig(t *testing.T, doc string) *resources.FelixConfiguration {
	t.Helper()
	objs, err := resources.DecodeBytes([]byte("apiVersion: projectcalico.org/v3\nkind: FelixConfiguration\n" + doc))
	if err != nil {
		t.Fatal(err)
	}
	fc := objs[0].(*resources.FelixConfiguration)
	if err := fc.Validate(); err != nil {
		t.Fatal(err)
	}
	return fc
}

var base = Settings{LogLevel: slog.LevelInfo, EndpointToHostAction: "Drop", RouteRefreshInterval: time.Minute,
	IptablesRefreshInterval: time.Minute}

// TestPrecedence: the daemon's explicit settings, then node.<name>, then
// default, then the daemon's defaults; field by field.
func TestPrecedence(t *testing.T) {
	def := felixConfig(t, "metadata: {name: default}\nspec: {logSeverityScreen: Debug, defaultEndpointToHostAction: Accept, vxlanMTU: 1400, ipipEnabled: false, iptablesRefreshInterval: 10s}\n")
	node := felixConfig(t, "metadata: {name: node.h1}\nspec: {logSeverityScreen: Warning, ipv6Support: true}\n")
	for _, tc := range []struct {
		name     string
		explicit map[string]bool
		def      *resources.FelixConfiguration
		node     *resources.FelixConfiguration
		check    func(Result) string
	}{
		{"none", nil, nil, nil, func(r Result) string {
			if r.Settings.LogLevel != slog.LevelInfo || r.Sources["logSeverityScreen"] != SourceBuiltin || r.Settings.ResyncInterval() != time.Minute {
				return "defaults not kept"
			}
			return ""
		}},
		{"default", nil, def, nil, func(r Result) string {
			s := r.Settings
			if s.LogLevel != slog.LevelDebug || s.EndpointToHostAction != "Accept" || s.VXLANMTU != 1400 ||
				s.IPIPEnabled == nil || *s.IPIPEnabled || s.ResyncInterval() != 10*time.Second || r.Sources["vxlanMTU"] != SourceDefault {
				return "default not applied"
			}
			return ""
		}},
		{"node over default", nil, def, node, func(r Result) string {
			s := r.Settings
			if s.LogLevel != slog.LevelWarn || !s.IPv6 || s.EndpointToHostAction != "Accept" || r.Sources["logSeverityScreen"] != SourceNode {
				return "node.<name> must win field by field"
			}
			return ""
		}},
		{"daemon over both", map[string]bool{"logSeverityScreen": true, "defaultEndpointToHostAction": true}, def, node, func(r Result) string {
			s := r.Settings
			if s.LogLevel != slog.LevelInfo || s.EndpointToHostAction != "Drop" || !s.IPv6 || r.Sources["logSeverityScreen"] != SourceDaemon {
				return "an explicit daemon setting must win"
			}
			return ""
		}},
	} {
		r := Resolve(base, tc.explicit, tc.def, tc.node)
		if msg := tc.check(r); msg != "" {
			t.Errorf("%s: %s: %+v %v", tc.name, msg, r.Settings, r.Sources)
		}
	}
}

// TestNotApplied: Calico fields without a counterpart, and our start-up
// fields, are reported with the reason; applied ones are not.
func TestNotApplied(t *testing.T) {
	def := felixConfig(t, "metadata: {name: default}\nspec: {bpfLogLevel: Debug, logSeverityFile: Debug, logSeverityScreen: Info, healthPort: 9099}\n")
	r := Resolve(base, nil, def, nil)
	got := strings.Join(r.NotApplied, "\n")
	for _, want := range []string{"default: spec.bpfLogLevel: not applicable on Docker", "default: spec.logSeverityFile: this daemon has one log level",
		"default: spec.healthPort: health is served on the daemon's metrics_addr"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if strings.Contains(got, "spec.logSeverityScreen") {
		t.Errorf("an applied field reported:\n%s", got)
	}
}

func TestResyncInterval(t *testing.T) {
	for _, tc := range []struct{ route, ipt, want time.Duration }{
		{90 * time.Second, 10 * time.Second, 10 * time.Second}, {0, 10 * time.Second, 10 * time.Second},
		{90 * time.Second, 0, 90 * time.Second}, {0, 0, 0},
	} {
		if got := (Settings{RouteRefreshInterval: tc.route, IptablesRefreshInterval: tc.ipt}).ResyncInterval(); got != tc.want {
			t.Errorf("%v/%v: %v, want %v", tc.route, tc.ipt, got, tc.want)
		}
	}
}

// TestNFTablesMode: nftablesMode chooses the dataplane with the same
// precedence as the other fields (the daemon's explicit dataplane
// setting, node.<name>, default, the daemon's default); Auto is nftables
// only where the iptables dataplane cannot run.
func TestNFTablesMode(t *testing.T) {
	def := felixConfig(t, "metadata: {name: default}\nspec: {nftablesMode: Enabled}\n")
	node := felixConfig(t, "metadata: {name: node.h1}\nspec: {nftablesMode: Auto}\n")
	daemonIptables := base
	daemonIptables.NFTablesMode = "Disabled"
	for _, tc := range []struct {
		name       string
		explicit   map[string]bool
		def, node  *resources.FelixConfiguration
		noIptables bool
		want, src  string
	}{
		{"daemon default", nil, nil, nil, false, DataplaneIptables, SourceBuiltin},
		{"default Enabled", nil, def, nil, false, DataplaneNftables, SourceDefault},
		{"node Auto over default, iptables here", nil, def, node, false, DataplaneIptables, SourceNode},
		{"node Auto, no iptables binaries", nil, def, node, true, DataplaneNftables, SourceNode},
		{"explicit daemon setting wins", map[string]bool{"nftablesMode": true}, def, node, true, DataplaneIptables, SourceDaemon},
	} {
		b := daemonIptables
		b.NoIptables = tc.noIptables
		r := Resolve(b, tc.explicit, tc.def, tc.node)
		if got := r.Settings.Dataplane(); got != tc.want || r.Sources["nftablesMode"] != tc.src {
			t.Errorf("%s: dataplane %s from %q, want %s from %q", tc.name, got, r.Sources["nftablesMode"], tc.want, tc.src)
		}
		if strings.Contains(strings.Join(r.NotApplied, "\n"), "nftablesMode") {
			t.Errorf("%s: nftablesMode reported as not applied: %v", tc.name, r.NotApplied)
		}
	}
	bad := &resources.FelixConfiguration{TypeMeta: resources.NewFelixConfiguration("default").TypeMeta,
		ObjectMeta: resources.ObjectMeta{Name: "default"}, Spec: resources.FelixConfigurationSpec{NFTablesMode: "enabled"}}
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "spec.nftablesMode") || !strings.Contains(err.Error(), "Enabled") {
		t.Errorf("nftablesMode: enabled: err %v, want one naming spec.nftablesMode and its values", err)
	}
}
