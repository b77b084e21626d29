package policy_test

import (
	"bytes"
	"context"
	"log"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/felix"
	"github.com/calico-docker/calico-libnetwork/felix/nat"
)

// TestSwitchDataplane switches a running host from the iptables dataplane
// to nftables and back (the daemon restarted with another `dataplane`),
// with policy, natOutgoing and a host endpoint's doNotTrack and preDNAT
// policy programmed: after each switch the policy holds and nothing of
// the other dataplane is left — no cali chains or rules in iptables (raw
// and mangle included) and no cali IP sets after the switch to nftables,
// no calico nftables table and no accept of ours in Docker's FORWARD
// after the switch back.
func TestSwitchDataplane(t *testing.T) {
	b := newBed(t, felix.Config{Policy: true, Dataplane: felix.DataplaneIptables}, decode(t, networkProfiles)...)
	b.addWorkload("client", 1, []string{"net1"}, map[string]string{"role": "client"})
	b.addWorkload("server", 2, []string{"net1"}, map[string]string{"role": "server"})
	b.addWorkload("other", 3, []string{"net1"}, map[string]string{"role": "other"})
	remote := b.addRemote()
	client := hostEndpoint("client", "eth0", map[string]string{"role": "memcached-client"}, remoteAddr.String())
	client.Spec.Node = "other-host"
	b.put(client, hostEndpoint("server", hepIface, map[string]string{"role": "memcached-server", "host-endpoint": ""},
		hostHEP.String()))
	b.setPolicies(onServer("from-clients", `
  ingress: [{action: Allow, source: {selector: "role == 'client'"}}]`) + "\n---\n" +
		docExample(t, "donottrack-policy.yaml") + "\n---\n" + docExample(t, "prednat-policy.yaml"))
	in := func(name string, src netip.Addr, port uint16, want bool) hepProbe {
		return hepProbe{name: name, from: remote, src: src, dst: hostHEP, port: port, want: want}
	}
	hostProbes := []hepProbe{in("memcached, untracked", remoteAddr, 12211, true),
		in("cluster, pre-DNAT allowed", remoteAddr, 8080, true), in("outside, denied", outsideAddr, 8080, false)}
	pools := []nat.Pool{{CIDR: netip.MustParsePrefix("10.65.0.0/16"), NATOutgoing: true}}
	probes := []probe{tcp("client", "server", 80, true), tcp("other", "server", 80, false), tcp("server", "other", 80, true)}
	withNAT := func() {
		t.Helper()
		if err := b.dp.SetNATPools(pools); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), converge)
		defer cancel()
		if err := b.dp.WaitSynced(ctx); err != nil {
			t.Fatalf("not in sync: %v (%+v)", err, b.dp.Status())
		}
	}
	withNAT()
	b.check(probes...)
	b.hepCheck(hostProbes...)
	if ipt := iptablesOurs(b); len(ipt) == 0 || len(ipsetsOurs(b)) == 0 || b.hostTablesLeft() == "" {
		t.Fatalf("iptables dataplane: chains %v, sets %v, raw and mangle:\n%s", ipt, ipsetsOurs(b), b.hostTablesLeft())
	}

	// The switch destroys the iptables dataplane's IP sets over netlink
	// without a word through the standard log package (the netlink
	// library's "unknown ipset data attribute" lines).
	var logged bytes.Buffer
	prev := log.Writer()
	log.SetOutput(&logged)
	b.restart(felix.Config{Policy: true, Dataplane: felix.DataplaneNftables})
	withNAT()
	log.SetOutput(prev)
	if logged.Len() > 0 {
		t.Errorf("the switch to nftables printed through the log package:\n%s", logged.String())
	}
	b.check(probes...)
	b.hepCheck(hostProbes...)
	if b.hostTablesLeft() == "" {
		t.Error("nftables dataplane: no raw and mangle chains for the host endpoint")
	}
	if left := iptablesOurs(b); len(left) > 0 {
		t.Errorf("after the switch to nftables, iptables still has:\n%s", strings.Join(left, "\n"))
	}
	if left := ipsetsOurs(b); len(left) > 0 {
		t.Errorf("after the switch to nftables, IP sets left: %v", left)
	}
	if tables := nftTables(t, b.host); !slices.Contains(tables, "ip calico") {
		t.Errorf("nftables tables %v, want ip calico", tables)
	}

	b.restart(felix.Config{Policy: true, Dataplane: felix.DataplaneIptables})
	withNAT()
	b.check(probes...)
	b.hepCheck(hostProbes...)
	if tables := nftTables(t, b.host); slices.Contains(tables, "ip calico") || slices.Contains(tables, "ip6 calico") {
		t.Errorf("after the switch back, nftables tables %v", tables)
	}
	if fwd := b.iptables(4, "", "-S", "FORWARD"); strings.Contains(fwd, "nft-accept") {
		t.Errorf("after the switch back, Docker's FORWARD keeps our nftables accepts:\n%s", fwd)
	}
	if len(iptablesOurs(b)) == 0 {
		t.Error("after the switch back, no iptables chains of ours")
	}
}

// iptablesOurs lists the iptables-nft lines (every table, both families)
// naming a cali chain or carrying a cali: comment.
func iptablesOurs(b *bed) []string {
	var out []string
	for _, tool := range []string{"iptables-nft-save", "ip6tables-nft-save"} {
		for _, l := range strings.Split(b.host.Run(b.t, tool), "\n") {
			if strings.Contains(l, "cali-") || (strings.Contains(l, "cali:") && !strings.Contains(l, "nft-accept")) {
				out = append(out, l)
			}
		}
	}
	return out
}

// ipsetsOurs lists the IP sets whose names start with cali.
func ipsetsOurs(b *bed) []string {
	var out []string
	for _, n := range strings.Fields(b.host.Run(b.t, "ipset", "list", "-n")) {
		if strings.HasPrefix(n, "cali") {
			out = append(out, n)
		}
	}
	return out
}
