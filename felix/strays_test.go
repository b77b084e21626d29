package felix

import (
	"fmt"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/felix/internal/felixtest"
)

// fullResync asks d for a full resync and waits until one more apply ran.
func fullResync(t *testing.T, d *Dataplane) {
	t.Helper()
	before := d.Status().Applies
	d.Kick()
	felixtest.Eventually(t, converge, "a full resync", func() error {
		if d.Status().Applies <= before {
			return fmt.Errorf("%d applies, waiting for more than %d", d.Status().Applies, before)
		}
		return nil
	})
}

// TestStrayVethsReaped: a workload veth pair with both ends on the host
// that no endpoint owns is deleted once it has been seen for the grace,
// never before; a pair an endpoint owns (felix's own, or named by
// OwnedInterfaces) and a pair whose container end is in a sandbox stay.
func TestStrayVethsReaped(t *testing.T) {
	n := felixtest.NewNS(t, "strays")
	v := newTestVeths(t, n)
	for _, name := range []string{"stray000001", "owned000001", "felix000001"} {
		if err := v.CreateVeth("cali"+name, "tmp"+name, testMAC, 1500); err != nil {
			t.Fatal(err)
		}
	}
	joined := felixtest.NewWorkload(t, n, v.CreateVeth, felixtest.DefaultSpec(1))
	const grace = 500 * time.Millisecond
	d := startDataplane(t, n, Config{ResyncInterval: time.Hour, StrayVethGrace: grace,
		OwnedInterfaces: func() []string { return []string{"caliowned000001"} }})
	d.OnEndpointUpdate(Endpoint{ID: "ep1", IfaceName: "califelix000001"})
	waitSynced(t, d)

	fullResync(t, d) // the first sight of the stray starts its clock
	if _, err := n.NL.LinkByName("calistray000001"); err != nil {
		t.Fatalf("the stray was deleted before its grace: %v", err)
	}
	time.Sleep(grace)
	fullResync(t, d)
	for _, gone := range []string{"calistray000001", "tmpstray000001"} {
		if _, err := n.NL.LinkByName(gone); !isLinkNotFound(err) {
			t.Errorf("%s still exists after the grace (err %v)", gone, err)
		}
	}
	for _, kept := range []string{"caliowned000001", "tmpowned000001", "califelix000001", "tmpfelix000001", joined.HostSide} {
		if _, err := n.NL.LinkByName(kept); err != nil {
			t.Errorf("%s was deleted: %v", kept, err)
		}
	}
	if st := d.Status(); st.LastError != nil {
		t.Errorf("last apply: %v", st.LastError)
	}
}

// TestStrayVethRemadeStartsAfresh: a pair deleted and made again under
// the same name (as Join does with a pair prepared long ago) gets a new
// grace: felix counts the age by ifindex.
func TestStrayVethRemadeStartsAfresh(t *testing.T) {
	n := felixtest.NewNS(t, "strays-remade")
	v := newTestVeths(t, n)
	mk := func() {
		t.Helper()
		if err := v.CreateVeth("caliremade0001", "tmpremade0001", testMAC, 1500); err != nil {
			t.Fatal(err)
		}
	}
	mk()
	const grace = 500 * time.Millisecond
	d := startDataplane(t, n, Config{ResyncInterval: time.Hour, StrayVethGrace: grace})
	waitSynced(t, d)
	fullResync(t, d)
	time.Sleep(grace)
	if err := v.DeleteVeth("caliremade0001"); err != nil {
		t.Fatal(err)
	}
	mk()
	fullResync(t, d)
	if _, err := n.NL.LinkByName("caliremade0001"); err != nil {
		t.Fatalf("the remade pair was reaped at once: %v", err)
	}
}
