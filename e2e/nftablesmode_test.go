package e2e

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/internal/testenv"
)

// TestNFTablesModeAtRestart: FelixConfiguration nftablesMode, applied
// with calicoctl to a daemon started without a dataplane setting, is
// logged as taking effect at the next restart and changes nothing before;
// after a restart the daemon runs the nftables dataplane (our table in
// the host namespace and, on this 6.16+ kernel, the containers' ingress
// policy in netdev tables on their interfaces' egress hook; no cali chain
// left in iptables) and the containers still reach each other; Disabled
// and another restart bring iptables back with no nftables table left.
func TestNFTablesModeAtRestart(t *testing.T) {
	if os.Getenv("CALICO_TEST_IPTABLES_BACKEND") == "legacy" {
		t.Skip("checks iptables-nft; the legacy run covers the dataplanes elsewhere")
	}
	e := newEngine(t)
	requireFreeRanges(t, defaultPool, subnetPool)
	d := startDaemon(t, e.host)
	net := e.network("nftmode")
	c1, c2 := e.run("a", "--net", net), e.run("b", "--net", net)
	ip1, ip2 := e.ip(c1, net), e.ip(c2, net)
	e.pingFrom(c1, ip2)

	setMode := func(mode string) {
		t.Helper()
		doc := "apiVersion: projectcalico.org/v3\nkind: FelixConfiguration\nmetadata: {name: default}\nspec: {nftablesMode: " + mode + "}\n"
		ctl(t, d, "apply", "-f", writeFile(t, "felix.yaml", doc))
	}
	setMode("Enabled")
	testenv.Eventually(t, 20*time.Second, 100*time.Millisecond, func() error {
		if b, _ := os.ReadFile(d.logPath); !strings.Contains(string(b), "takes effect when the daemon restarts") {
			return errors.New("no log line saying nftablesMode takes effect at restart")
		}
		return nil
	})
	if calicoTableOnHost(t) {
		t.Fatal("the dataplane switched without a restart")
	}

	d.restart()
	testenv.Eventually(t, 30*time.Second, 200*time.Millisecond, func() error {
		if left := iptablesOursOnHost(t); !calicoTableOnHost(t) || len(left) > 0 || len(egressShardsOnHost(t)) == 0 {
			return fmt.Errorf("after the restart: ip calico table %v, egress-mode shards %v, iptables of ours %v",
				calicoTableOnHost(t), egressShardsOnHost(t), left)
		}
		return nil
	})
	e.pingFrom(c1, ip2)
	e.pingFrom(c2, ip1)

	setMode("Disabled")
	d.restart()
	testenv.Eventually(t, 30*time.Second, 200*time.Millisecond, func() error {
		if calicoTableOnHost(t) || len(egressShardsOnHost(t)) > 0 || len(iptablesOursOnHost(t)) == 0 {
			return errors.New("nftablesMode Disabled: the nftables dataplane is still there after the restart")
		}
		return nil
	})
	e.pingFrom(c1, ip2)
}
