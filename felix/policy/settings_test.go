package policy_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/felix"
)

// TestSettingsLive: the live settings change the dataplane without a
// restart: the endpoint-to-host action (real packets from a workload to
// the host: Drop, Accept, Return to a host INPUT rule that rejects),
// IPv6 on and off (our ip6tables chains made and removed) and the resync
// interval.
func TestSettingsLive(t *testing.T) {
	b := newBed(t, felix.Config{Policy: true}, decode(t, allowAll)...)
	b.addWorkload("w", 1, []string{"calico"}, nil)
	b.check(tcp("w", "host", hostPort, false))

	b.setSettings(felix.Settings{EndpointToHostAction: felix.EndpointToHostAccept, ResyncInterval: time.Second})
	b.check(tcp("w", "host", hostPort, true), icmp("w", "host", true))

	// Return hands the packet back to INPUT, whose own later rule decides.
	b.iptables(4, "", "-A", "INPUT", "-p", "tcp", "--dport", "80", "-j", "DROP")
	b.setSettings(felix.Settings{EndpointToHostAction: felix.EndpointToHostReturn, ResyncInterval: time.Second})
	b.check(tcp("w", "host", hostPort, false), icmp("w", "host", true))
	b.iptables(4, "", "-D", "INPUT", "-p", "tcp", "--dport", "80", "-j", "DROP")

	b.setSettings(felix.Settings{EndpointToHostAction: felix.EndpointToHostDrop, EnableIPv6: true, ResyncInterval: time.Second})
	b.check(tcp("w", "host", hostPort, false))
	if save := b.iptables(6, "save", "-t", "filter"); !strings.Contains(save, ":cali-FORWARD") {
		t.Fatalf("IPv6 turned on, but no cali chains in ip6tables:\n%s", save)
	}
	b.setSettings(felix.Settings{EndpointToHostAction: felix.EndpointToHostDrop, ResyncInterval: time.Second})
	if save := b.iptables(6, "save", "-t", "filter"); strings.Contains(save, "cali") {
		t.Fatalf("IPv6 turned off, but our chains stay in ip6tables:\n%s", save)
	}
	if err := b.dp.SetSettings(felix.Settings{EndpointToHostAction: "Allow"}); err == nil ||
		!strings.Contains(err.Error(), "use Drop, Accept or Return") {
		t.Fatalf("bad action: %v", err)
	}
	if got := b.dp.Settings().EndpointToHostAction; got != felix.EndpointToHostDrop {
		t.Fatalf("a refused SetSettings changed the settings to %q", got)
	}
}

// setSettings hands s to the dataplane and waits until it is programmed.
func (b *bed) setSettings(s felix.Settings) {
	b.t.Helper()
	if err := b.dp.SetSettings(s); err != nil {
		b.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), converge)
	defer cancel()
	if err := b.dp.WaitSynced(ctx); err != nil {
		b.t.Fatalf("dataplane not in sync: %v (status %+v)", err, b.dp.Status())
	}
}
