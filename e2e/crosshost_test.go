package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	b, err := testbed.Start(testbed.Config{Daemon: daemonBin, Join: true,
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
