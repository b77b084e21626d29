package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/flows"
	"github.com/calico-docker/calico-libnetwork/internal/testbed"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
)

// crossHostPolicy, applied on host A, denies host B's "denied" container
// and lets every other source in.
const crossHostPolicy = `apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: xhost-deny
spec:
  selector: role == 'xhost-server'
  types:
  - Ingress
  ingress:
  - action: Deny
    source:
      selector: role == 'xhost-denied'
  - action: Allow
`

// TestCrossHostDocker is the path a user takes to a second host, with two
// real Docker engines. Hosts A and B are network namespaces on the
// multi-host bed's LAN, each with its calico-libnetwork daemon (A starts
// the embedded etcd cluster, B joins it by token) and its own dockerd
// (testbed.Dockerd: own data and exec roots, plugin directory and
// containerd). `docker network create` runs on both; a container on B
// reaches one on A by its Calico IP; a policy applied with calicoctl on A
// is enforced for traffic from B: B's "denied" container is cut off, its
// "allowed" one is not. Traffic goes only to the test's own container.
func TestCrossHostDocker(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireTools(t, "ip", "nsenter", "unshare", "dockerd", "etcd")
	from := testenv.Docker(t) // the test image comes from the test engine
	// Each daemon publishes its flows API on its LAN address (recorded on
	// its Node for calicoctl flows --node); short intervals keep the
	// flow check quick.
	b, err := testbed.Start(testbed.Config{Daemon: daemonBin, Join: true,
		Env:   []string{"CALICO_METRICS_ADDR=0.0.0.0:9091", "CALICO_FLOW_LOGS_INTERVAL=2s"},
		Hosts: []testbed.HostConfig{{Name: "hosta", Docker: true}, {Name: "hostb", Docker: true}}})
	if err != nil {
		t.Fatalf("bed: %v", err) // Start closed what it made
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, h := range b.Hosts {
				t.Logf("%s daemon log:\n%s\n%s dockerd log:\n%s", h.Name, h.LogTail(40), h.Name, h.Engine.Log(20))
			}
		}
		if err := b.Close(); err != nil {
			t.Errorf("close the bed: %v", err)
		}
	})
	hostA, hostB := b.Host("hosta"), b.Host("hostb")
	ea, eb := bedEngine(t, hostA, from), bedEngine(t, hostB, from)
	eb.sfx = ea.sfx // the same network name on both hosts

	net := ea.network("xnet")
	if got := eb.network("xnet"); got != net {
		t.Fatalf("network names differ: %s, %s", net, got)
	}
	server := ea.name("server")
	t.Cleanup(func() { _, _ = ea.try("rm", "-f", server) })
	ea.must("run", "-d", "--name", server, "--net", net, "--label", "org.projectcalico.label.role=xhost-server",
		testenv.TestImage(), "sh", "-c", "mkdir -p /www && echo hubfeu2yculh > /www/id && exec httpd -f -p 80 -h /www")
	allowed := eb.run("allowed", "--net", net, "--label", "org.projectcalico.label.role=xhost-allowed")
	denied := eb.run("denied", "--net", net, "--label", "org.projectcalico.label.role=xhost-denied")
	url := "http://" + ea.ip(server, net) + "/id"

	// BGP between the hosts converges first: allow it 90s, then the
	// usual 30s of fetch.
	testenv.Eventually(t, 90*time.Second, 500*time.Millisecond, func() error {
		out, err := eb.exec(allowed, "timeout", "1", "wget", "-q", "-O", "-", url)
		if err != nil || strings.TrimSpace(out) != "hubfeu2yculh" {
			return fmt.Errorf("%s on host B cannot fetch %s on host A: %v %s", allowed, url, err, out)
		}
		return nil
	})
	eb.fetch(denied, url, true)

	calicoctlOn(t, hostA, "apply", "-f", writeFile(t, "policy.yaml", crossHostPolicy))
	eb.fetch(denied, url, false)
	eb.fetch(allowed, url, true)
	checkCrossHostFlows(t, hostA, hostB, denied, ea.ip(server, net))
}

// checkCrossHostFlows asks, from host A, every node's flows API (calicoctl
// flows --node all): both nodes answer, each row names the node that
// recorded it, host A recorded the denial of B's "denied" container by the
// test's policy, and --node B gives B's rows only.
func checkCrossHostFlows(t *testing.T, hostA, hostB *testbed.Host, denied, serverIP string) {
	t.Helper()
	type doc struct {
		Flows []flows.Flow `json:"flows"`
	}
	get := func(node string) (doc, error) { // stdout only: --node all warns on stderr
		var d, stderr = doc{}, &strings.Builder{}
		cmd := exec.Command("timeout", "20", "ip", "netns", "exec", hostA.NS.Name, calicoctlBin, "flows", "--node", node, "-o", "json")
		cmd.Env, cmd.Stderr = append(os.Environ(), "ETCD_ENDPOINTS=https://127.0.0.1:2379", "CALICO_DATA_DIR="+hostA.DataDir), stderr
		out, err := cmd.Output()
		if err != nil {
			return d, fmt.Errorf("calicoctl flows --node %s: %v: %s", node, err, stderr)
		}
		if err := json.Unmarshal(out, &d); err != nil {
			return d, fmt.Errorf("calicoctl flows --node %s: %v: %s", node, err, out)
		}
		return d, nil
	}
	var all int
	testenv.Eventually(t, 40*time.Second, time.Second, func() error {
		d, err := get("all")
		all = len(d.Flows)
		if err != nil {
			return err
		}
		seen, deniedRow := map[string]bool{}, false
		for _, f := range d.Flows {
			if f.Node != hostA.Name && f.Node != hostB.Name {
				return fmt.Errorf("row with node %q, want %s or %s: %+v", f.Node, hostA.Name, hostB.Name, f)
			}
			seen[f.Node] = true
			deniedRow = deniedRow || (f.Node == hostA.Name && f.Reporter == "dst" && f.Action == "deny" &&
				f.Src.Name == denied && f.Dst.IP == serverIP && strings.Contains(f.Policy.Name, "xhost-deny"))
		}
		if !seen[hostA.Name] || !seen[hostB.Name] || !deniedRow {
			return fmt.Errorf("flows --node all: nodes %v, denial by xhost-deny on %s seen %v (%d rows)",
				seen, hostA.Name, deniedRow, len(d.Flows))
		}
		return nil
	})
	d, err := get(hostB.Name)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Flows) == 0 {
		t.Fatalf("flows --node %s: no rows", hostB.Name)
	}
	for _, f := range d.Flows {
		if f.Node != hostB.Name {
			t.Fatalf("flows --node %s gave a row of node %q: %+v", hostB.Name, f.Node, f)
		}
	}
	t.Logf("flows: %d rows from both nodes, %d from %s alone", all, len(d.Flows), hostB.Name)
}

// bedEngine is an engine on a bed host's dockerd, with the test image
// copied in from the test engine.
func bedEngine(t *testing.T, h *testbed.Host, from string) *engine {
	t.Helper()
	if err := h.Engine.CopyImage(from, testenv.TestImage()); err != nil {
		t.Fatalf("host %s: %v", h.Name, err)
	}
	e := newEngine(t)
	e.host, e.at = h.Engine.Host, h.Engine
	return e
}

// calicoctlOn runs calicoctl on a bed host as its root user would: inside
// its namespace, against its embedded etcd member, with its certificate.
func calicoctlOn(t *testing.T, h *testbed.Host, args ...string) string {
	t.Helper()
	cmd := exec.Command("timeout", append([]string{"60", "ip", "netns", "exec", h.NS.Name, calicoctlBin}, args...)...)
	cmd.Env = append(os.Environ(), "ETCD_ENDPOINTS=https://127.0.0.1:2379", "CALICO_DATA_DIR="+h.DataDir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("calicoctl %s on %s: %v\n%s", strings.Join(args, " "), h.Name, err, out)
	}
	return string(out)
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
