package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/internal/testenv"
)

// bookstorePolicy is the seed's NetworkPolicy (004), byte for byte.
const bookstorePolicy = "../internal/seeds/allow-bookstore.yaml" // seed 004, unchanged

// TestBookstorePolicy is the seed 004 example on a real engine: three
// containers on one network labelled as in the seed, the seed's policy
// applied with calicoctl, then deleted.
func TestBookstorePolicy(t *testing.T) {
	e := newEngine(t)
	requireFreeRanges(t, defaultPool, subnetPool)
	d := startDaemon(t, e.host)
	_, book, fruit, url := e.bookstore("store")
	logLabelWindows(t, d)

	// Before the policy the network's profile lets both in.
	e.fetch(book, url, true)
	e.fetch(fruit, url, true)

	probe := startProbe(t, e, fruit, url)
	applied := uptime(t)
	ctl(t, d, "apply", "-f", bookstorePolicy)
	returned := uptime(t)
	e.fetch(fruit, url, false)
	e.fetch(book, url, true)
	if blocked, ok := probe.firstFailure(); ok {
		t.Logf("fruitstore-frontend blocked %.0f ms after `calicoctl apply` started (apply took %.0f ms); last success at +%.0f ms",
			(blocked-applied)*1000, (returned-applied)*1000, (probe.lastSuccessBefore(blocked)-applied)*1000)
	}
	probe.stop()

	ctl(t, d, "delete", "networkpolicy", "allow-bookstore-cliient-to-server")
	e.fetch(fruit, url, true)
	e.fetch(book, url, true)
}

// bookstore starts the seed's three containers, labelled as in the seed,
// on a new network: the server (httpd on port 80 serving /id) and the
// bookstore and fruitstore frontends. It returns their names and the URL
// of the server's /id.
func (e *engine) bookstore(network string) (server, book, fruit, url string) {
	net := e.network(network)
	server = e.name("bookstore-server")
	e.t.Cleanup(func() { _, _ = e.try("rm", "-f", server) })
	e.must("run", "-d", "--name", server, "--net", net,
		"--label", "org.projectcalico.label.biz_type=bookstore", "--label", "org.projectcalico.label.role=server",
		testenv.TestImage(), "sh", "-c", "mkdir -p /www && echo hubfeu2yculh > /www/id && exec httpd -f -p 80 -h /www")
	book = e.run("bookstore-frontend", "--net", net, "--label", "org.projectcalico.label.biz_type=bookstore")
	fruit = e.run("fruitstore-frontend", "--net", net, "--label", "org.projectcalico.label.biz_type=fruitstore")
	return server, book, fruit, "http://" + e.ip(server, net) + ":80/id"
}

// fetch polls wget from a container until it succeeds (want) or times
// out (!want); the dataplane converges asynchronously.
func (e *engine) fetch(container, url string, want bool) {
	e.t.Helper()
	testenv.Eventually(e.t, 30*time.Second, 100*time.Millisecond, func() error {
		// This busybox's wget crashes with -T: the timeout applet bounds it
		// instead (exit status 143 when it had to stop it).
		out, err := e.exec(container, "timeout", "1", "wget", "-q", "-O", "-", url)
		switch {
		case want && err != nil:
			return fmt.Errorf("%s cannot fetch %s: %v", container, url, err)
		case want && strings.TrimSpace(out) != "hubfeu2yculh":
			return fmt.Errorf("%s fetched %q from %s", container, out, url)
		case !want && err == nil:
			return fmt.Errorf("%s still fetches %s", container, url)
		case !want && !strings.Contains(err.Error(), "exit status 143"):
			return fmt.Errorf("%s: fetching %s failed other than by a timeout: %s", container, url, out)
		}
		return nil
	})
}

// ctl runs the calicoctl binary against the daemon's etcd.
func ctl(t *testing.T, d *daemon, args ...string) string {
	t.Helper()
	cmd := exec.Command(calicoctlBin, args...)
	cmd.Env = append(os.Environ(), fmt.Sprintf("ETCD_ENDPOINTS=https://127.0.0.1:%d", d.clientPort), "CALICO_DATA_DIR="+d.dataDir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("calicoctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// uptime is the host's /proc/uptime: containers read the same clock, so
// probes inside them can be compared with the host's events.
func uptime(t *testing.T) float64 {
	t.Helper()
	b, err := os.ReadFile("/proc/uptime")
	if err != nil {
		t.Fatal(err)
	}
	v, err := strconv.ParseFloat(strings.Fields(string(b))[0], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// probe fetches a URL from inside a container in a tight loop, recording
// each attempt's start (host uptime, 10 ms resolution) and outcome; it
// measures when policy took effect without docker exec's latency.
type probe struct {
	e         *engine
	container string
	file      string
	results   []probeResult
}

type probeResult struct {
	at float64
	ok bool
}

func startProbe(t *testing.T, e *engine, container, url string) *probe {
	p := &probe{e: e, container: container, file: "/tmp/probe-" + e.sfx}
	script := fmt.Sprintf(`while [ ! -e %[1]s.stop ]; do s=$(cut -d' ' -f1 /proc/uptime); `+
		`if timeout 1 wget -q -O /dev/null %[2]s; then echo "$s ok"; else echo "$s fail"; fi >> %[1]s; done`, p.file, url)
	e.must("exec", "-d", container, "sh", "-c", script)
	testenv.Eventually(t, 10*time.Second, 20*time.Millisecond, func() error { // running
		_, err := e.exec(container, "test", "-s", p.file)
		return err
	})
	return p
}

var probeLine = regexp.MustCompile(`^([0-9.]+) (ok|fail)$`)

// read loads the probe's results so far.
func (p *probe) read() {
	out, err := p.e.exec(p.container, "cat", p.file)
	if err != nil {
		p.e.t.Fatal(err)
	}
	p.results = p.results[:0]
	for _, line := range strings.Split(out, "\n") {
		if m := probeLine.FindStringSubmatch(line); m != nil {
			at, _ := strconv.ParseFloat(m[1], 64)
			p.results = append(p.results, probeResult{at: at, ok: m[2] == "ok"})
		}
	}
}

// firstFailure is the start of the first failed fetch.
func (p *probe) firstFailure() (float64, bool) {
	p.read()
	for _, r := range p.results {
		if !r.ok {
			return r.at, true
		}
	}
	return 0, false
}

// lastSuccessBefore is the start of the last successful fetch before t.
func (p *probe) lastSuccessBefore(t float64) float64 {
	last := 0.0
	for _, r := range p.results {
		if r.ok && r.at <= t {
			last = r.at
		}
	}
	return last
}

func (p *probe) stop() { _, _ = p.e.exec(p.container, "touch", p.file+".stop") }

var sinceJoin = regexp.MustCompile(`msg="Applied container labels[^"]*".* container=(\S+) .*sinceJoin=(\S+)`)

// labelWindows returns, per container, the time from Join to its labels
// being stored, from the daemon's log.
func labelWindows(d *daemon) map[string]time.Duration {
	b, _ := os.ReadFile(d.logPath)
	out := map[string]time.Duration{}
	for _, line := range strings.Split(string(b), "\n") {
		if m := sinceJoin.FindStringSubmatch(line); m != nil {
			if w, err := time.ParseDuration(m[2]); err == nil {
				out[m[1]] = w
			}
		}
	}
	return out
}

func logLabelWindows(t *testing.T, d *daemon) {
	t.Helper()
	var parts []string
	for c, w := range labelWindows(d) {
		parts = append(parts, fmt.Sprintf("%s %v", c, w.Round(10*time.Microsecond)))
	}
	t.Logf("Join to container labels stored: %s", strings.Join(parts, ", "))
}

// TestLabelsFailClosed: while the daemon cannot ask Docker for containers'
// labels, their endpoints drop all traffic (even between members of one
// network, which the profile allows); a restarted daemon that can ask
// finishes them (Resync) and traffic flows.
func TestLabelsFailClosed(t *testing.T) {
	e := newEngine(t)
	requireFreeRanges(t, defaultPool, subnetPool)
	d := startDaemon(t, "unix:///run/calico-test/no-such-docker.sock")
	net := e.network("fc", "--opt", "org.projectcalico.profile=fcprof")
	a := e.run("a", "--net", net, "--label", "org.projectcalico.label.role=db")
	b := e.run("b", "--net", net)
	ipA, ipB := e.ip(a, net), e.ip(b, net)
	e.cannotReach(a, ipB)
	e.cannotReach(b, ipA)

	for i, kv := range d.env {
		if strings.HasPrefix(kv, "DOCKER_HOST=") {
			d.env[i] = "DOCKER_HOST=" + e.host
		}
	}
	d.restart()
	e.pingFrom(a, ipB)
	e.pingFrom(b, ipA)
	out := ctl(t, d, "get", "workloadendpoints", "-o", "yaml")
	for _, want := range []string{"role: db", "workload: " + a, "workload: " + b} {
		if !strings.Contains(out, want) {
			t.Errorf("workload endpoints lack %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "labels-pending") {
		t.Errorf("an endpoint is still pending after the restart:\n%s", out)
	}
}
