package policy_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/felix"
	"github.com/calico-docker/calico-libnetwork/felix/internal/felixtest"
	"github.com/calico-docker/calico-libnetwork/felix/iptables"
	"github.com/calico-docker/calico-libnetwork/model"
)

// TestEndpointToHostAccept: with the host unprotected, workloads reach the
// host itself once their egress policy allows it (the default, protected
// case is in TestPolicyMatrix).
func TestEndpointToHostAccept(t *testing.T) { eachDataplane(t, testEndpointToHostAccept) }

func testEndpointToHostAccept(t *testing.T, cfg felix.Config) {
	cfg.Policy, cfg.EndpointToHostAccept = true, true
	b := newBed(t, cfg, decode(t, allowAll)...)
	b.addWorkload("w", 1, []string{"calico"}, nil)
	b.check(tcp("w", "host", hostPort, true), icmp("w", "host", true))
	b.setPolicies(`
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: not-the-host}
spec:
  selector: all()
  types: [Egress]
  egress: [{action: Deny, destination: {nets: [192.0.2.10/32]}}, {action: Allow}]
`)
	b.check(tcp("w", "host", hostPort, false), icmp("w", "host", false))
	if st := b.dp.Status(); st.UpdateLatency.Count == 0 || st.UpdateLatency.Last <= 0 || st.LastRenderDuration <= 0 {
		t.Errorf("policy latencies not reported: %+v", st)
	}
}

// TestNothingProgrammedBeforeFullSync: a restarted dataplane must not act
// on a partial model (it would drop every running workload's traffic and
// routes): until the first full sync event it programs nothing.
func TestNothingProgrammedBeforeFullSync(t *testing.T) {
	eachDataplane(t, testNothingProgrammedBeforeFullSync)
}

func testNothingProgrammedBeforeFullSync(t *testing.T, cfg felix.Config) {
	host := felixtest.NewNS(t, "host")
	dp := felix.New(felix.Config{NetNS: host.Path, NodeName: node, Policy: true, Dataplane: cfg.Dataplane,
		ResyncInterval: 100 * time.Millisecond, Logger: quietLogger()})
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); <-dp.Done() }()
	if err := dp.Start(ctx); err != nil {
		t.Fatal(err)
	}
	policies := decode(t, onServer("p", "  ingress: [{action: Allow}]"))
	dp.OnSyncEvent(model.SyncEvent{Updates: []model.Update{{Kind: policies[0].GetTypeMeta().Kind,
		Namespace: "default", Name: "p", Object: policies[0]}}})
	// A bounded wait for something that must not happen: several resyncs.
	time.Sleep(500 * time.Millisecond)
	save := programmed(t, host, dp, cfg)
	if dp.InSync() || strings.Contains(save, "cali") {
		t.Fatalf("programmed before the first full sync (in sync %v):\n%s", dp.InSync(), save)
	}
	dp.OnSyncEvent(model.SyncEvent{Full: true})
	wctx, wcancel := context.WithTimeout(ctx, converge)
	defer wcancel()
	if err := dp.WaitSynced(wctx); err != nil {
		t.Fatal(err)
	}
	save = programmed(t, host, dp, cfg)
	if cfg.Dataplane == felix.DataplaneNftables && !strings.Contains(save, "ip calico") {
		t.Fatalf("not programmed after the full sync: tables %s", save)
	}
	if cfg.Dataplane != felix.DataplaneNftables && (!strings.Contains(save, "-A FORWARD -m comment") || !strings.Contains(save, ":cali-FORWARD")) {
		t.Fatalf("not programmed after the full sync:\n%s", save)
	}
	if ip := host.Sysctl(t, "net/ipv4/ip_forward"); ip != "1" {
		t.Errorf("ip_forward = %s after the first apply, want 1", ip)
	}
}

// programmed returns what of ours the dataplane programmed: the filter
// table's iptables-save (iptables), the names of the nftables tables
// (nftables).
func programmed(t *testing.T, host *felixtest.NS, dp *felix.Dataplane, cfg felix.Config) string {
	if cfg.Dataplane == felix.DataplaneNftables {
		return strings.Join(nftTables(t, host), ", ")
	}
	return host.Run(t, "iptables-"+string(dp.Status().Backend)+"-save", "-t", "filter")
}

// TestPolicyLegacyBackend runs the seed example with Docker's rules in the
// legacy (x_tables) backend; everything else runs on whichever backend the
// host defaults to. The nftables dataplane keeps its accepts in the legacy
// FORWARD chain then.
func TestPolicyLegacyBackend(t *testing.T) { eachDataplane(t, testPolicyLegacyBackend) }

func testPolicyLegacyBackend(t *testing.T, cfg felix.Config) {
	cfg.Policy, cfg.IptablesBackend = true, iptables.BackendLegacy
	b := newBed(t, cfg)
	if got := b.dp.Status().Backend; got != iptables.BackendLegacy {
		t.Fatalf("backend %s, want legacy", got)
	}
	testSeedBookstore(b)
}

// TestEndpointsOnly: with NodeName but without Policy, the sync events
// drive the endpoints (routes) and traffic is not policed: a policy that
// would deny everything changes nothing.
func TestEndpointsOnly(t *testing.T) { eachDataplane(t, testEndpointsOnly) }

func testEndpointsOnly(t *testing.T, cfg felix.Config) {
	b := newBed(t, cfg, decode(t, networkProfiles)...)
	b.addWorkload("a", 1, []string{"net1"}, nil)
	b.addWorkload("b", 2, []string{"net2"}, nil) // another network: isolated, were policy on
	b.setPolicies(`
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: deny-all}
spec:
  selector: all()
  ingress: [{action: Deny}]
`)
	ab := tcp("a", "b", 80, true)
	if err := b.probeDelivery(ab); err != nil {
		t.Fatal(err)
	}
	if out := b.host.Run(t, "ip", "route", "show", "proto", "80"); !strings.Contains(out, "10.65.1.2 dev "+b.wls["b"].HostSide) {
		t.Fatalf("no route to b:\n%s", out)
	}
	b.remove(b.wep("b"))
	felixtest.Eventually(t, converge, "route to b removed", func() error {
		if out := b.host.Run(t, "ip", "route", "show", "proto", "80"); strings.Contains(out, "10.65.1.2") {
			return fmt.Errorf("route to b left:\n%s", out)
		}
		return nil
	})
}
