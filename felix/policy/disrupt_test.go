package policy_test

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/calico-docker/calico-libnetwork/calc"
	"github.com/calico-docker/calico-libnetwork/felix/internal/felixtest"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
)

// testDisruption breaks the programmed policy the way other software or an
// operator might, and checks that the next periodic resync (the bed's
// ResyncInterval is short) repairs both the kernel state and the traffic.
func testDisruption(b *bed) {
	b.setPolicies(onServer("from-clients", `
  ingress: [{action: Allow, source: {selector: "role == 'client'"}}]`))
	b.check(tcp("client", "server", 80, true), tcp("other", "server", 80, false))

	server := b.wls["server"].HostSide
	toServer := rules.EndpointChain(server, false)
	clientSel, _ := calc.InNamespace("role == 'client'", "default") // a NetworkPolicy's rules see its namespace
	clients := rules.IPSetName(clientSel.UniqueID(), 4)
	if b.nft {
		for _, tc := range nftDisruptions(b, server, clients) { // disrupt_nft_test.go
			healed(b, tc)
		}
		return
	}
	for _, tc := range []disruption{
		{"delete an endpoint chain", func() {
			n := ruleNumber(b, rules.ChainToDispatch, "-o "+server+" ")
			b.iptables(4, "", "-D", rules.ChainToDispatch, strconv.Itoa(n))
			b.iptables(4, "", "-F", toServer)
			b.iptables(4, "", "-X", toServer)
		}, func() error {
			if _, err := b.host.TryRun(b.iptablesName(4), "-S", toServer); err != nil {
				return err
			}
			return nil
		}},
		{"flush an IP set", func() {
			b.host.Run(b.t, "ipset", "flush", clients)
		}, func() error {
			if out := b.host.Run(b.t, "ipset", "list", clients); !strings.Contains(out, b.addr("client", false).String()) {
				return fmt.Errorf("set %s lacks the client:\n%s", clients, out)
			}
			return nil
		}},
		{"insert a rule ahead of ours", func() {
			b.iptables(4, "", "-I", "FORWARD", "1", "-j", "DROP")
		}, func() error {
			fwd := b.iptables(4, "", "-S", "FORWARD")
			if lines := strings.Split(fwd, "\n"); len(lines) < 2 || !strings.Contains(lines[1], "-j "+rules.ChainForward) {
				return fmt.Errorf("our jump is not first in FORWARD:\n%s", fwd)
			}
			return nil
		}},
		{"edit one of our rules", func() {
			n := ruleNumber(b, rules.ChainForward, "-j "+rules.ChainToDispatch)
			b.iptables(4, "", "-R", rules.ChainForward, strconv.Itoa(n), "-j", "ACCEPT") // fail open
		}, func() error {
			if n := ruleNumber(b, rules.ChainForward, "-j "+rules.ChainToDispatch); n == 0 {
				return fmt.Errorf("the jump to %s is missing", rules.ChainToDispatch)
			}
			return nil
		}},
	} {
		healed(b, tc)
	}
	b.iptables(4, "", "-D", "FORWARD", "-j", "DROP") // the foreign rule stays ours to clean up
}

// disruption is one way of breaking the programmed policy.
type disruption struct {
	name   string
	breakf func()
	intact func() error // the kernel state the break destroyed is back
}

// healed breaks, then waits for the kernel state and the traffic to be
// repaired.
func healed(b *bed, tc disruption) {
	tc.breakf()
	felixtest.Eventually(b.t, converge, tc.name+": healed", func() error {
		if err := tc.intact(); err != nil {
			return err
		}
		if err := felixtest.TCP(b.wls["client"].NS, netip.AddrPort{}, netip.AddrPortFrom(b.addr("server", false), 80), 2*time.Second); err != nil {
			return fmt.Errorf("client cannot reach the server: %w", err)
		}
		return nil
	})
	b.check(tcp("client", "server", 80, true), tcp("other", "server", 80, false))
}

// ruleNumber returns the 1-based position of the first rule of chain whose
// `iptables -S` line contains substr, or 0.
func ruleNumber(b *bed, chain, substr string) int {
	lines := strings.Split(strings.TrimSpace(b.iptables(4, "", "-S", chain)), "\n")
	for i, l := range lines[1:] { // lines[0] is "-N chain"
		if strings.Contains(l, substr) {
			return i + 1
		}
	}
	return 0
}
