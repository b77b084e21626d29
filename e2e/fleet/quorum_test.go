package fleet

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/internal/testenv"
)

// TestEtcdQuorumLostFailsFast runs the daemon against a 3-member etcd
// cluster and kills two members: with quorum lost, IPAM calls through the
// plugin socket answer with an error that says etcd did not answer, well
// before the client (Docker) would give up, instead of hanging. When the
// two members come back the cluster heals and the same calls succeed.
func TestEtcdQuorumLostFailsFast(t *testing.T) {
	ms, c, pool := startClusterDaemon(t, "quorum-test")
	request := func() (time.Duration, error) {
		start := time.Now()
		err := c.call("RequestAddress", map[string]any{"PoolID": pool.PoolID, "Options": map[string]string{}}, nil)
		return time.Since(start), err
	}
	if _, err := request(); err != nil {
		t.Fatalf("with the whole cluster up: %v", err)
	}

	ms[1].kill()
	ms[2].kill()
	t.Logf("killed etcd members %s and %s: %s alone has no quorum", ms[1].name, ms[2].name, ms[0].name)
	for i := range 3 {
		took, err := request()
		t.Logf("RequestAddress %d without quorum: %v after %v", i, err, took.Round(time.Millisecond))
		switch {
		case err == nil:
			t.Fatalf("RequestAddress succeeded without an etcd quorum")
		case strings.Contains(err.Error(), "Client.Timeout") || strings.Contains(err.Error(), "deadline exceeded (Client"):
			t.Fatalf("RequestAddress hung until the client gave up: %v", err)
		case !strings.Contains(err.Error(), "etcd did not answer"):
			t.Errorf("RequestAddress error does not say etcd did not answer: %v", err)
		}
	}

	ms[1].start()
	ms[2].start()
	ms[1].waitHealthy(30 * time.Second)
	ms[2].waitHealthy(30 * time.Second)
	testenv.Eventually(t, 60*time.Second, 500*time.Millisecond, func() error {
		if _, err := request(); err != nil {
			return fmt.Errorf("after the members returned: %w", err)
		}
		return nil
	})
}
