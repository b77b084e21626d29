package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/felix"
	"github.com/calico-docker/calico-libnetwork/felixconfig"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// TestFelixConfigurationLive: FelixConfiguration written to a real etcd
// reaches a running felix through the cache and the resolver, with no
// restart: the endpoint-to-host action changes the INPUT rules in the
// namespace felix programs, the log level changes, node.<name> wins over
// default, and deleting it gives default back.
func TestFelixConfigurationLive(t *testing.T) {
	testenv.RequireRoot(t)
	_, cli := testenv.StartEtcd(t)
	store := datastore.New(cli)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, name := testenv.NewNetNS(t)
	path := filepath.Join(testenv.NetNSDir, name)

	levels := new(slog.LevelVar)
	cfg := &Config{NodeName: "host1", LogLevel: slog.LevelInfo, ResyncInterval: time.Hour, LogLevels: levels,
		Enforcement: Enforcement{EndpointToHostAction: "Drop"}}
	c := syncedCache(ctx, t, store, "host1")
	live := newLiveConfig(cfg, c, quiet)
	dp := felix.New(felix.Config{NetNS: path, ResyncInterval: time.Hour, Logger: quiet, NodeName: "host1", Policy: true})
	live.attach(dp, nil)
	w := newWatcher("host1", c, dp, quiet)
	w.prime()
	if err := dp.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); <-dp.Done() }()
	go w.run(ctx)
	go live.run(ctx)

	hostAction := func(want string) func() error {
		return func() error {
			out, err := exec.Command("ip", "netns", "exec", name, "iptables-"+string(dp.Status().Backend)+"-save", "-t", "filter").CombinedOutput()
			if err != nil {
				return fmt.Errorf("iptables-save: %v: %s", err, out)
			}
			if rule := "-A cali-INPUT -i cali+ -m comment"; !strings.Contains(string(out), rule) ||
				!strings.Contains(string(out), "-j "+want+"\n") || !hasHostRule(string(out), want) {
				return fmt.Errorf("no endpoint-to-host %s rule in cali-INPUT:\n%s", want, out)
			}
			return nil
		}
	}
	testenv.Eventually(t, 20*time.Second, 100*time.Millisecond, hostAction("DROP"))

	put(ctx, t, store, "default", resources.FelixConfigurationSpec{DefaultEndpointToHostAction: "Accept", LogSeverityScreen: "Debug"})
	testenv.Eventually(t, 20*time.Second, 100*time.Millisecond, hostAction("ACCEPT"))
	if levels.Level() != slog.LevelDebug {
		t.Errorf("log level %v, want debug", levels.Level())
	}
	put(ctx, t, store, "node.host1", resources.FelixConfigurationSpec{DefaultEndpointToHostAction: "Return"})
	testenv.Eventually(t, 20*time.Second, 100*time.Millisecond, hostAction("RETURN"))
	put(ctx, t, store, "node.other", resources.FelixConfigurationSpec{DefaultEndpointToHostAction: "Drop"})
	if _, err := store.Delete(ctx, resources.KindFelixConfiguration, "", "node.host1", ""); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 20*time.Second, 100*time.Millisecond, hostAction("ACCEPT"))
	if res, _ := live.Result(); res.Sources["defaultEndpointToHostAction"] != felixconfig.SourceDefault {
		t.Errorf("sources %v", res.Sources)
	}
	// The status document shows it (calicoctl node status, diags).
	st := (&StatusSources{Felix: live.Result}).Snapshot(ctx).FelixConfiguration
	if st == nil || st.EndpointToHostAction != "Accept" || st.LogLevel != "DEBUG" || st.Sources["logSeverityScreen"] != felixconfig.SourceDefault {
		t.Errorf("status %+v", st)
	}
}

// hasHostRule reports whether cali-INPUT's rule for workload traffic to
// the host ends in action.
func hasHostRule(save, action string) bool {
	for _, l := range strings.Split(save, "\n") {
		if strings.HasPrefix(l, "-A cali-INPUT -i cali+ -m comment") && strings.HasSuffix(l, "-j "+action) {
			return true
		}
	}
	return false
}

func put(ctx context.Context, t *testing.T, store *datastore.Store, name string, spec resources.FelixConfigurationSpec) {
	t.Helper()
	fc := resources.NewFelixConfiguration(name)
	fc.Spec = spec
	if _, err := store.Apply(ctx, fc); err != nil {
		t.Fatal(err)
	}
}

// TestFelixConfigurationRefused: an invalid FelixConfiguration is refused
// at apply, naming the field and the fix, and nothing is stored.
func TestFelixConfigurationRefused(t *testing.T) {
	_, cli := testenv.StartEtcd(t)
	store := datastore.New(cli)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for spec, want := range map[string]resources.FelixConfigurationSpec{
		"spec.defaultEndpointToHostAction": {DefaultEndpointToHostAction: "Allow"},
		"spec.logSeverityScreen":           {LogSeverityScreen: "Loud"},
		"spec.routeRefreshInterval":        {RouteRefreshInterval: &resources.Duration{Duration: -time.Second}},
		"spec.nftablesMode":                {NFTablesMode: "On"},
	} {
		fc := resources.NewFelixConfiguration("default")
		fc.Spec = want
		_, err := store.Create(ctx, fc)
		if err == nil || !strings.Contains(err.Error(), spec) {
			t.Errorf("%s: error %v", spec, err)
		}
		if _, err := datastore.GetAs[*resources.FelixConfiguration](ctx, store, "", "default"); !errors.Is(err, datastore.ErrNotFound) {
			t.Fatalf("%s: a refused FelixConfiguration was stored (%v)", spec, err)
		}
	}
}

// TestExplicitSettingWins: a daemon setting given explicitly wins over
// FelixConfiguration; one left at its default yields to it.
func TestExplicitSettingWins(t *testing.T) {
	def := resources.NewFelixConfiguration("default")
	def.Spec = resources.FelixConfigurationSpec{LogSeverityScreen: "Error", VXLANMTU: ptr(1400)}
	for _, tc := range []struct {
		explicit map[string]bool
		level    slog.Level
	}{{nil, slog.LevelError}, {map[string]bool{"log_level": true}, slog.LevelInfo}} {
		base, explicit := felixBase(&Config{LogLevel: slog.LevelInfo, Explicit: tc.explicit, Routing: Routing{VXLANMTU: 1450}})
		res := felixconfig.Resolve(base, explicit, def, nil)
		if res.Settings.LogLevel != tc.level || res.Settings.VXLANMTU != 1400 {
			t.Errorf("explicit %v: %+v", tc.explicit, res.Settings)
		}
	}
}

// TestNFTablesModeAtStart: FelixConfiguration's nftablesMode, read from
// a real etcd through the cache, chooses the dataplane felix starts with
// unless the daemon's dataplane setting was given explicitly; a change
// while the daemon runs is shown as pending in the status document until
// a restart.
func TestNFTablesModeAtStart(t *testing.T) {
	_, cli := testenv.StartEtcd(t)
	store := datastore.New(cli)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	put(ctx, t, store, "default", resources.FelixConfigurationSpec{NFTablesMode: "Enabled"})
	c := syncedCache(ctx, t, store, "host1")
	cfg := &Config{NodeName: "host1", LogLevel: slog.LevelInfo, ResyncInterval: time.Hour, Dataplane: felix.DataplaneIptables}
	started := func() string { l := newLiveConfig(cfg, c, quiet); return l.startedDataplane(l.resolve()) }
	if got := started(); got != felix.DataplaneNftables {
		t.Errorf("nftablesMode Enabled: felix starts with %s", got)
	}
	cfg.Explicit = map[string]bool{"dataplane": true}
	if got := started(); got != felix.DataplaneIptables {
		t.Errorf("explicit dataplane: iptables: felix starts with %s", got)
	}
	cfg.Explicit = nil
	live := newLiveConfig(cfg, c, quiet)
	running := live.startedDataplane(live.resolve())
	live.attach(nil, nil)
	go live.run(ctx)
	put(ctx, t, store, "node.host1", resources.FelixConfigurationSpec{NFTablesMode: "Disabled"})
	src := &StatusSources{Felix: live.Result, Dataplane: func() felix.Status { return felix.Status{Dataplane: running} }}
	testenv.Eventually(t, 20*time.Second, 100*time.Millisecond, func() error {
		st := src.Snapshot(ctx).FelixConfiguration
		if st == nil || st.Dataplane != felix.DataplaneIptables || !strings.Contains(st.Pending, "restart") ||
			st.Sources["nftablesMode"] != felixconfig.SourceNode {
			return fmt.Errorf("status %+v", st)
		}
		return nil
	})
}

func ptr[T any](v T) *T { return &v }

// TestEmptyFelixSettingsAreUnset: the managed plugin sets every variable,
// leaving the FelixConfiguration-backed ones empty; empty must load as the
// default and count as not given, so FelixConfiguration decides.
func TestEmptyFelixSettingsAreUnset(t *testing.T) {
	env := map[string]string{}
	for _, s := range Settings() {
		if FelixConfigurable(s.Key) {
			env[s.Env] = ""
		}
	}
	if len(env) == 0 {
		t.Fatal("no FelixConfiguration-backed settings")
	}
	got := loadFromEnv(t, env, "")
	want := loadFromEnv(t, nil, "")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("empty variables load as %+v, want the defaults %+v", got, want)
	}
	for key := range got.Explicit {
		if FelixConfigurable(key) {
			t.Errorf("%s counts as given when its variable is empty", key)
		}
	}
}
