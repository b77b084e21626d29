package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/flows"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
)

// TestBookstoreFlows is the seed 004 example on a real engine with flow
// logs at their defaults (on, 15 s intervals): within 20 s of the traffic
// the fruitstore → server connections appear as denied by
// allow-bookstore-cliient-to-server's Deny rule (1) and the bookstore ones
// as allowed by its Allow rule (0), in the flows API on metrics_addr and
// in `calicoctl flows`: through the daemon's status socket, and through
// the flows API URL the daemon records on its Node (--node NAME, --node all).
func TestBookstoreFlows(t *testing.T) {
	e := newEngine(t)
	requireFreeRanges(t, defaultPool, subnetPool)
	metrics := fmt.Sprintf("127.0.0.1:%d", freePorts(t, 1)[0])
	d := startDaemon(t, e.host, "CALICO_METRICS_ADDR="+metrics)
	server, book, fruit, url := e.bookstore("flows")
	e.fetch(book, url, true)
	ctl(t, d, "apply", "-f", bookstorePolicy)
	e.fetch(fruit, url, false)
	e.fetch(book, url, true)
	sent := time.Now()

	api := "http://" + metrics + "/api/v1/flows?policy=" + "default/" + policyName
	testenv.Eventually(t, 20*time.Second, 500*time.Millisecond, func() error {
		rows, err := getFlows(api)
		if err != nil {
			return err
		}
		if !hasFlow(rows, fruit, server, "deny", 1) || !hasFlow(rows, book, server, "allow", 0) {
			return fmt.Errorf("no denied %s → %s and allowed %s → %s rows yet: %+v", fruit, server, book, server, rows)
		}
		return nil
	})
	t.Logf("flows in the API %.1f s after the traffic", time.Since(sent).Seconds())

	out := ctl(t, d, "flows", "--policy", policyName)
	var denied, allowed bool
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 9 || f[2] != server || f[3] != "tcp/80" {
			continue
		}
		denied = denied || (f[0] == fruit && f[4] == "deny" && f[6] == "ingress" && f[7] == "1")
		allowed = allowed || (f[0] == book && f[4] == "allow" && f[6] == "ingress" && f[7] == "0")
	}
	if !denied || !allowed {
		t.Errorf("calicoctl flows lacks the denied (%v) or allowed (%v) row:\n%s", denied, allowed, out)
	}
	js := ctl(t, d, "flows", "-o", "json", "--action", "deny", "--endpoint", "fruitstore")
	var doc struct{ Flows []flows.Flow }
	if err := json.Unmarshal([]byte(js), &doc); err != nil || !hasFlow(doc.Flows, fruit, server, "deny", 1) {
		t.Errorf("calicoctl flows -o json (%v):\n%s", err, js)
	}
	// Through the URL the daemon records on its Node (as for another host).
	if y := ctl(t, d, "get", "node", "calico-e2e", "-o", "yaml"); !strings.Contains(y, flows.AnnotationAPI+": http://"+metrics) {
		t.Errorf("the Node does not record the flows API http://%s:\n%s", metrics, y)
	}
	for _, node := range []string{"calico-e2e", "all"} {
		js = ctl(t, d, "flows", "--node", node, "-o", "json", "--action", "deny")
		if err := json.Unmarshal([]byte(js), &doc); err != nil || !hasFlow(doc.Flows, fruit, server, "deny", 1) {
			t.Errorf("calicoctl flows --node %s (%v):\n%s", node, err, js)
		}
	}
	code, body := httpGet("http://" + metrics + "/api/v1/flows?action=reject")
	if code != http.StatusBadRequest || !strings.Contains(body, "action:") {
		t.Errorf("bad filter: %d %s", code, body)
	}
	if _, body = httpGet("http://" + metrics + "/metrics"); !strings.Contains(body, `calico_flow_policy_packets_total{action="deny"`) {
		t.Errorf("no per-policy flow counters in /metrics")
	}
}

const policyName = "allow-bookstore-cliient-to-server"

func getFlows(url string) ([]flows.Flow, error) {
	code, body := httpGet(url)
	if code != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %d %s", url, code, body)
	}
	var doc struct{ Flows []flows.Flow }
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		return nil, err
	}
	return doc.Flows, nil
}

func httpGet(url string) (int, string) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func hasFlow(rows []flows.Flow, src, dst, action string, rule int) bool {
	for _, r := range rows {
		if r.Src.Name == src && r.Dst.Name == dst && r.Action == action && r.Policy.Name == policyName &&
			r.Policy.Rule == rule && r.Policy.Direction == "ingress" && r.Reporter == "dst" && r.DstPort == 80 &&
			r.Src.Kind == "wep" && r.Dst.Labels["role"] == "server" && r.Packets > 0 {
			return true
		}
	}
	return false
}
