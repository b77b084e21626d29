package e2e

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/internal/testenv"
)

// pluginPool is the managed plugin's default pool in the test.
const pluginPool = "10.233.0.0/16"

// TestManagedPlugin builds the managed plugin from this repository
// (packaging/plugin.sh: static binaries, the base image, the Dockerfile,
// its image exported as the plugin's rootfs), enables it on the test
// engine under a name of its own, runs two containers on a network whose
// network and IPAM driver are the plugin, checks they reach each other
// and that a policy applied with calicoctl isolates one, then disables
// and removes it and checks nothing is left. It runs for both dataplanes:
// with DATAPLANE=nftables the image holds only our binaries and the
// plugin programs our nftables tables.
//
// The plugin runs in the host's network namespace, as the host-process
// daemon of the other tests does: they must not run at the same time
// (the test refuses to start while /run/docker/plugins/calico.sock is
// served). Its own socket is /run/docker/plugins/<plugin ID>/calico.sock.
func TestManagedPlugin(t *testing.T) {
	for _, dp := range []string{"iptables", "nftables"} { // one test body, both dataplanes
		t.Run(dp, func(t *testing.T) { testManagedPlugin(t, dp) })
	}
}

func testManagedPlugin(t *testing.T, dataplane string) {
	e := newEngine(t)
	testenv.RequireRoot(t)
	if dataplane == "nftables" && os.Getenv("CALICO_TEST_IPTABLES_BACKEND") == "legacy" {
		t.Skip("the nftables plugin image has no iptables-legacy for Docker's legacy FORWARD chain (docs/nftables.md)")
	}
	lockPluginDir(t) // wait for the daemon of a concurrent e2e run to stop
	if answers(filepath.Join(pluginDir, "calico.sock")) {
		t.Fatalf("%s/calico.sock is served: a calico-libnetwork runs on this host; stop it first "+
			"(two dataplanes in one network namespace fight over routes and chains)", pluginDir)
	}
	requireFreeRanges(t, pluginPool)
	plugin := "calico-e2e-" + e.sfx + ":latest"
	image, base := "calico-e2e-image:"+e.sfx, "calico-e2e-base:"+e.sfx
	linksBefore := testenv.WorkloadLinks(t)
	build := buildPlugin(t, e, plugin, image, base, dataplane)
	if dataplane == "nftables" {
		t.Run("image", func(t *testing.T) { checkNftablesImage(t, e, image, build) })
	} else {
		t.Run("image", func(t *testing.T) { checkImage(t, e, image) })
	}
	t.Run("config", func(t *testing.T) { checkPluginConfig(t, e, plugin, dataplane) })

	id := e.must("plugin", "inspect", "-f", "{{.Id}}", plugin)
	data := t.TempDir()
	t.Cleanup(func() {
		if t.Failed() {
			dumpPluginLog(t, data)
		}
	})
	d := &daemon{t: t, dataDir: data, clientPort: enablePlugin(t, e, plugin, data)}

	// The plugin's name is the driver name, for the network and for IPAM.
	net := e.name("plugin")
	e.must("network", "create", "--driver", plugin, "--ipam-driver", plugin, net)
	t.Cleanup(func() { _, _ = e.try("network", "rm", net) })
	c1, c2 := e.run("p1", "--net", net), e.run("p2", "--net", net, "--label", "org.projectcalico.label.role=isolated")
	ip1, ip2 := e.ip(c1, net), e.ip(c2, net)
	for _, ip := range []string{ip1, ip2} {
		if !netip.MustParsePrefix(pluginPool).Contains(netip.MustParseAddr(ip)) {
			t.Errorf("address %s is not from the plugin's pool %s", ip, pluginPool)
		}
	}
	e.pingFrom(c1, ip2)
	e.pingFrom(c2, ip1)
	isolate(t, e, d, c1, c2, ip1, ip2)
	if dataplane == "nftables" {
		t.Run("host dataplane", checkNftablesOnHost)
	}
	e.must("rm", "-f", c1, c2)
	e.must("network", "rm", net)
	e.must("plugin", "disable", plugin)
	e.must("plugin", "rm", plugin)
	// What the plugin's dataplane keeps for a restart: its blocks'
	// blackholes, the gateway range's local route, its chains and sets.
	cleanHostDataplane(t, pluginPool)
	t.Run("nothing left", func(t *testing.T) { checkPluginGone(t, e, plugin, id, linksBefore) })
}

// isolatePolicy denies all ingress to workloads labelled role: isolated.
const isolatePolicy = `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: e2e-plugin-isolate}
spec:
  selector: role == 'isolated'
  types: [Ingress]
  ingress: [{action: Deny}]
`

// isolate applies isolatePolicy with calicoctl against the plugin's
// datastore: c2 (role: isolated) no longer answers c1; c2's own pings to
// c1 still get their replies.
func isolate(t *testing.T, e *engine, d *daemon, c1, c2, ip1, ip2 string) {
	t.Helper()
	ctl(t, d, "apply", "-f", writeFile(t, "isolate.yaml", isolatePolicy))
	testenv.Eventually(t, 30*time.Second, 200*time.Millisecond, func() error {
		if _, err := e.exec(c1, "ping", "-c", "1", "-W", "1", ip2); err == nil {
			return fmt.Errorf("%s still reaches %s", c1, ip2)
		}
		return nil
	})
	e.cannotReach(c1, ip2)
	e.pingFrom(c2, ip1)
}

// buildPlugin runs packaging/plugin.sh for the dataplane and returns its
// build directory; cleanup removes the plugin (if the test did not), its
// image and the base image.
func buildPlugin(t *testing.T, e *engine, plugin, image, base, dataplane string) string {
	t.Helper()
	t.Cleanup(func() {
		_, _ = e.try("plugin", "disable", "-f", plugin)
		_, _ = e.try("plugin", "rm", "-f", plugin)
		_, _ = e.try("rmi", image, base)
	})
	build := t.TempDir()
	cmd := exec.Command("bash", filepath.Join("..", "packaging", "plugin.sh"))
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+e.host, "PLUGIN="+plugin, "IMAGE="+image, "BASE_IMAGE="+base,
		"BUILD="+build, "DATAPLANE="+dataplane)
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("packaging/plugin.sh: %v\n%s", err, out)
	}
	t.Logf("plugin built in %v", time.Since(start).Round(time.Second))
	return build
}

// checkImage: the image (the plugin's rootfs) runs the daemon and the
// tools it calls, with their libraries.
func checkImage(t *testing.T, e *engine, image string) {
	for _, c := range []struct {
		entrypoint string
		args       []string
		want       string
	}{
		{"/usr/bin/calico-libnetwork", []string{"--version"}, "calico-libnetwork "},
		{"/usr/bin/calicoctl", []string{"--help"}, "calicoctl"},
		{"/usr/sbin/iptables-nft-save", []string{"--version"}, "(nf_tables)"},
		{"/usr/sbin/iptables-legacy-restore", []string{"--version"}, "(legacy)"},
		{"/usr/sbin/ip6tables-nft-restore", []string{"--version"}, "(nf_tables)"},
		{"/usr/sbin/ipset", []string{"version"}, "ipset v"},
		{"/usr/sbin/iptables", []string{"--version"}, "(nf_tables)"},
	} {
		args := append([]string{"run", "--rm", "--network", "none", "--entrypoint", c.entrypoint, image}, c.args...)
		out, _ := e.try(args...) // ipset version exits 1 without CAP_NET_ADMIN but prints its version
		if !strings.Contains(out, c.want) {
			t.Errorf("%s %v in the image: %q, want %q", c.entrypoint, c.args, out, c.want)
		}
	}
	// Our two binaries are most of it; the tools and their libraries ~6 MB.
	if size, _ := strconv.Atoi(e.must("image", "inspect", "-f", "{{.Size}}", image)); size > 150<<20 {
		t.Errorf("image is %d MB; it should hold only the binaries and the iptables/ipset tools", size>>20)
	}
}

// pluginConfig is what the test reads of `docker plugin inspect`.
type pluginConfig struct {
	Config struct {
		Interface struct {
			Types  []string
			Socket string
		}
		Network struct{ Type string }
		Linux   struct{ Capabilities []string }
		Mounts  []struct{ Name, Source, Destination string }
		Env     []struct{ Name, Value string }
	}
}

// checkPluginConfig: both driver interfaces on one socket, host network,
// two capabilities, two mounts, the dataplane it was built for.
func checkPluginConfig(t *testing.T, e *engine, plugin, dataplane string) {
	var pc pluginConfig
	if err := json.Unmarshal([]byte(e.must("plugin", "inspect", "-f", "{{json .}}", plugin)), &pc); err != nil {
		t.Fatal(err)
	}
	c := pc.Config
	types := fmt.Sprint(c.Interface.Types)
	if !strings.Contains(types, "networkdriver/1.0") || !strings.Contains(types, "ipamdriver/1.0") || c.Interface.Socket != "calico.sock" {
		t.Errorf("interface = %v on %s, want the network and IPAM drivers on calico.sock", types, c.Interface.Socket)
	}
	if c.Network.Type != "host" {
		t.Errorf("network type %q, want host", c.Network.Type)
	}
	if caps := strings.Join(c.Linux.Capabilities, ","); caps != "CAP_NET_ADMIN,CAP_SYS_ADMIN" {
		t.Errorf("capabilities %s, want CAP_NET_ADMIN,CAP_SYS_ADMIN", caps)
	}
	var mounts []string
	for _, m := range c.Mounts {
		mounts = append(mounts, m.Name+":"+m.Destination)
	}
	if got := strings.Join(mounts, ","); got != "docker-socket:/var/run/docker.sock,data:/var/lib/calico" {
		t.Errorf("mounts %s, want the Docker socket and the data dir only", got)
	}
	want := map[string]string{"iptables": "", "nftables": "nftables"}[dataplane] // empty: nftablesMode, else iptables
	for _, env := range c.Env {
		if env.Name == "CALICO_DATAPLANE" && env.Value != want {
			t.Errorf("CALICO_DATAPLANE defaults to %q, want %q", env.Value, want)
		}
	}
}

// enablePlugin points the plugin at the test engine and a data dir of the
// test, with its own pool and etcd ports, and enables it; it returns the
// etcd client port.
func enablePlugin(t *testing.T, e *engine, plugin, data string) int {
	t.Helper()
	ports := freePorts(t, 2)
	args := []string{"plugin", "set", plugin,
		"docker-socket.source=" + strings.TrimPrefix(e.host, "unix://"), "data.source=" + data,
		"NODENAME=calico-plugin-e2e", "CALICO_NETWORK=" + pluginPool, "CALICO_LOG_LEVEL=debug",
		"CALICO_NETWORKING_BACKEND=none", // one host: no BGP listener on the host's port 179
		"CALICO_LOG_FILE=/var/lib/calico/log/calico-libnetwork.log",
		fmt.Sprintf("CALICO_ETCD_CLIENT_PORT=%d", ports[0]), fmt.Sprintf("CALICO_ETCD_PEER_PORT=%d", ports[1])}
	if b := os.Getenv("CALICO_TEST_IPTABLES_BACKEND"); b == "legacy" || b == "nft" {
		args = append(args, "CALICO_IPTABLES_BACKEND="+b)
	}
	e.must(args...)
	if _, err := e.try("plugin", "enable", "--timeout", "60", plugin); err != nil {
		dumpPluginLog(t, data)
		t.Fatal(err)
	}
	return ports[0]
}

func dumpPluginLog(t *testing.T, data string) {
	b, err := os.ReadFile(filepath.Join(data, "log", "calico-libnetwork.log"))
	if err != nil {
		t.Logf("plugin log: %v", err)
		return
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	t.Logf("plugin log (last %d lines):\n%s", min(80, len(lines)), strings.Join(lines[max(0, len(lines)-80):], "\n"))
}

// checkPluginGone: no plugin, no socket, no mount of it, no new cali link.
func checkPluginGone(t *testing.T, e *engine, plugin, id string, linksBefore []string) {
	if _, err := e.try("plugin", "inspect", plugin); err == nil {
		t.Errorf("plugin %s still exists", plugin)
	}
	if _, err := os.Stat(filepath.Join(pluginDir, id)); !os.IsNotExist(err) {
		t.Errorf("%s/%s still exists (%v)", pluginDir, id, err)
	}
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(mounts), "\n") {
		if strings.Contains(l, id) {
			t.Errorf("mount of the plugin left: %s", l)
		}
	}
	testenv.Eventually(t, 10*time.Second, 200*time.Millisecond, func() error {
		if now := testenv.WorkloadLinks(t); !slices.Equal(now, linksBefore) {
			return fmt.Errorf("workload links %v, before the test %v", now, linksBefore)
		}
		return nil
	})
	if out, _ := hostCmd(t, "ip", "-4", "route", "show", "proto", "80"); strings.Contains(out, strings.TrimSuffix(pluginPool, ".0.0/16")) {
		t.Errorf("routes into the plugin's pool left:\n%s", out)
	}
}
