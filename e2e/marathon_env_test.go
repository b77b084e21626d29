package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// TestMarathonSeedEnv runs docs/marathon/testapp.json, the cluster
// distribution's app (seed-testapp.json) as it is written today, and the
// docs' calicoctl commands: CALICO_PROFILE=dev puts the endpoint in the
// profile dev (created) after its network's, MARATHON_APP_ID and
// SERVICE_PORT reach the endpoint for Consul, and a CALICO_IP that Docker
// was not asked for is reported in calicoctl endpoint show, not ignored.
func TestMarathonSeedEnv(t *testing.T) {
	e := newEngine(t)
	requireFreeRanges(t, defaultPool)
	d := startDaemon(t, e.host)
	network := e.network("calico")
	store := datastore.New(d.etcd())
	t.Cleanup(func() { _, _ = store.Delete(context.Background(), resources.KindProfile, "", "dev", "") })

	app := loadApp(t, "testapp")
	app.Container.Docker.Image = testenv.TestImage()
	app.Networks[0].Name = network
	name := mesosLaunch(t, e, app)
	ip := e.ip(name, network)
	waitEndpoint(t, store, ip, func(w *resources.WorkloadEndpoint) error {
		if !slices.Equal(w.Spec.Profiles, []string{network, "dev"}) {
			return fmt.Errorf("profiles %v, want [%s dev]", w.Spec.Profiles, network)
		}
		if w.Annotations["libnetwork.projectcalico.org/app"] != "testapp" || w.Annotations["libnetwork.projectcalico.org/service-port"] != "3000" {
			return fmt.Errorf("annotations %v", w.Annotations)
		}
		return nil
	})
	calicoctl := func(args ...string) string { return ctl(t, d, args...) }
	if out := calicoctl("endpoint", "show", "--detailed"); !strings.Contains(out, network+",dev") {
		t.Errorf("endpoint show --detailed lacks PROFILES %s,dev:\n%s", network, out)
	}
	if out := calicoctl("get", "profiles"); !strings.Contains(out, "dev") {
		t.Errorf("get profiles lacks dev:\n%s", out)
	}

	// A fixed CALICO_IP without the docker parameter ip cannot be honoured.
	app.Env = map[string]string{"CALICO_IP": "192.168.250.250", "MARATHON_APP_ID": "/shop/web"}
	name2 := mesosLaunch(t, e, app)
	waitEndpoint(t, store, e.ip(name2, network), func(w *resources.WorkloadEndpoint) error {
		if !strings.Contains(w.Annotations["libnetwork.projectcalico.org/env-not-applied"], "CALICO_IP=192.168.250.250 not applied") {
			return fmt.Errorf("annotations %v", w.Annotations)
		}
		return nil
	})
	if out := calicoctl("endpoint", "show"); !strings.Contains(out, "CALICO_IP=192.168.250.250 not applied") {
		t.Errorf("endpoint show does not report the unapplied CALICO_IP:\n%s", out)
	}
}

// waitEndpoint waits until the endpoint holding ip passes check.
func waitEndpoint(t *testing.T, store *datastore.Store, ip string, check func(*resources.WorkloadEndpoint) error) *resources.WorkloadEndpoint {
	t.Helper()
	addr := netip.MustParseAddr(ip)
	var found *resources.WorkloadEndpoint
	testenv.Eventually(t, 30*time.Second, 200*time.Millisecond, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		weps, _, err := datastore.ListAs[*resources.WorkloadEndpoint](ctx, store, "")
		if err != nil {
			return err
		}
		for _, w := range weps {
			if slices.ContainsFunc(w.Addrs(), func(p netip.Prefix) bool { return p.Addr() == addr }) {
				found = w
				return check(w)
			}
		}
		return fmt.Errorf("no endpoint holds %s", ip)
	})
	return found
}
