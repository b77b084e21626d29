package e2e

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/calico-docker/calico-libnetwork/internal/consulagent"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
)

// TestMarathonSeedEnvConsul: with consul_addr set, docs/marathon's
// testapp is registered as testapp-direct at its Calico address and
// SERVICE_PORT, through a container start, its stop, a daemon restart
// that finds a dead registration of this node, and an agent outage during
// which another container starts. The agent is a stand-in (internal/consulagent): no
// Consul can be installed on these machines.
func TestMarathonSeedEnvConsul(t *testing.T) {
	e := newEngine(t)
	requireFreeRanges(t, defaultPool)
	agent := consulagent.New(t)
	d := startDaemon(t, e.host, "CALICO_CONSUL_ADDR="+agent.Addr())
	network := e.network("calico")
	app := loadApp(t, "testapp")
	app.Container.Docker.Image = testenv.TestImage()
	app.Networks[0].Name = network
	registered := func(want ...string) {
		t.Helper()
		sort.Strings(want)
		testenv.Eventually(t, 60*time.Second, 100*time.Millisecond, func() error {
			var got []string
			for _, s := range agent.Services() {
				if s.Meta["calico-node"] == "calico-e2e" {
					got = append(got, fmt.Sprintf("%s %s:%d", s.Service, s.Address, s.Port))
				}
			}
			sort.Strings(got)
			if strings.Join(got, "|") != strings.Join(want, "|") {
				return fmt.Errorf("agent holds %v, want %v", got, want)
			}
			return nil
		})
	}
	c1 := mesosLaunch(t, e, app)
	registered("testapp-direct " + e.ip(c1, network) + ":3000")
	e.must("rm", "-f", c1) // the task ends
	registered()

	c2 := mesosLaunch(t, e, app)
	ip2 := e.ip(c2, network)
	registered("testapp-direct " + ip2 + ":3000")
	d.stop() // while the daemon is down, the agent keeps a dead registration of this node
	agent.Put(&api.AgentService{ID: "calico-gone", Service: "gone-direct", Address: "192.168.255.1",
		Meta: map[string]string{"calico-node": "calico-e2e"}})
	d.start()
	registered("testapp-direct " + ip2 + ":3000")
	e.must("rm", "-f", c2)
	registered()

	agent.SetDown(true) // the agent is down while a task starts
	c3 := mesosLaunch(t, e, app)
	ip3 := e.ip(c3, network)
	time.Sleep(2 * time.Second) // registrations fail meanwhile
	agent.SetDown(false)
	registered("testapp-direct " + ip3 + ":3000")
}
