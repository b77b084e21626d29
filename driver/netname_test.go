package driver

import (
	"fmt"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/internal/testenv"
)

// TestExplicitProfileLearnsNameQuietly: a network created with
// --opt org.projectcalico.profile=dev is not known to Docker until
// CreateNetwork has returned. The background lookup must keep asking (it
// used to take the first "not found" as final, log "Network name unknown"
// and give up, leaving endpoints without the network label).
func TestExplicitProfileLearnsNameQuietly(t *testing.T) {
	h := newHarness(t, nil)
	h.mustCall("/NetworkDriver.CreateNetwork", createNetReq(testNetID, "0.0.0.0/0", "dev"), nil)
	time.Sleep(100 * time.Millisecond) // the first lookups find nothing, as with Docker
	h.docker.AddNetwork(testNetID, "net1")
	testenv.Eventually(t, 5*time.Second, 20*time.Millisecond, func() error {
		rec, err := h.drv.records.get(h.ctx(), testNetID)
		if err != nil {
			return err
		}
		if rec.Name != "net1" || rec.Profile != "dev" {
			return fmt.Errorf("record %+v: want name net1, profile dev", rec)
		}
		return nil
	})
}
