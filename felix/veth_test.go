package felix

import (
	"bytes"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/calico-docker/calico-libnetwork/felix/internal/felixtest"
)

var testMAC = net.HardwareAddr{0x02, 0x42, 0xac, 0x11, 0x00, 0x02}

func newTestVeths(t *testing.T, n *testNS) *Veths {
	t.Helper()
	v, err := NewVeths(n.Path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return v
}

// checkVeth asserts the pair's names, MACs, MTUs and host-side state.
func checkVeth(t *testing.T, n *testNS, host, peer string, mac net.HardwareAddr, mtu int) {
	t.Helper()
	h, p := n.Link(t, host), n.Link(t, peer)
	if h.Type() != "veth" || p.Type() != "veth" {
		t.Fatalf("types %s/%s, want veth", h.Type(), p.Type())
	}
	if h.Attrs().ParentIndex != p.Attrs().Index {
		t.Errorf("%s is not the peer of %s", peer, host)
	}
	if !bytes.Equal(h.Attrs().HardwareAddr, HostSideMAC) {
		t.Errorf("host MAC %s, want %s", h.Attrs().HardwareAddr, HostSideMAC)
	}
	if !bytes.Equal(p.Attrs().HardwareAddr, mac) {
		t.Errorf("container MAC %s, want %s", p.Attrs().HardwareAddr, mac)
	}
	if h.Attrs().MTU != mtu || p.Attrs().MTU != mtu {
		t.Errorf("MTUs %d/%d, want %d", h.Attrs().MTU, p.Attrs().MTU, mtu)
	}
	if h.Attrs().Flags&net.FlagUp == 0 {
		t.Errorf("host side %s is down", host)
	}
}

func TestCreateVethIdempotentAndDelete(t *testing.T) {
	n := felixtest.NewNS(t, "veth")
	v := newTestVeths(t, n)
	if err := v.CreateVeth("calitest00001", "tmptest00001", testMAC, 1400); err != nil {
		t.Fatal(err)
	}
	checkVeth(t, n, "calitest00001", "tmptest00001", testMAC, 1400)
	index := n.Link(t, "calitest00001").Attrs().Index

	// Break it by hand; a second call reuses the pair and fixes it.
	if err := n.NL.LinkSetDown(n.Link(t, "calitest00001")); err != nil {
		t.Fatal(err)
	}
	if err := n.NL.LinkSetMTU(n.Link(t, "tmptest00001"), 1500); err != nil {
		t.Fatal(err)
	}
	if err := v.CreateVeth("calitest00001", "tmptest00001", testMAC, 1400); err != nil {
		t.Fatalf("second create: %v", err)
	}
	checkVeth(t, n, "calitest00001", "tmptest00001", testMAC, 1400)
	if got := n.Link(t, "calitest00001").Attrs().Index; got != index {
		t.Errorf("pair was recreated (ifindex %d -> %d), want reuse", index, got)
	}

	if err := v.DeleteVeth("calitest00001"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"calitest00001", "tmptest00001"} {
		if _, err := n.NL.LinkByName(name); !isLinkNotFound(err) {
			t.Errorf("%s still exists after delete (err %v)", name, err)
		}
	}
	if err := v.DeleteVeth("calitest00001"); err != nil {
		t.Errorf("delete of absent veth: %v", err)
	}
}

func TestCreateVethRefusesOtherLinkType(t *testing.T) {
	n := felixtest.NewNS(t, "veth")
	v := newTestVeths(t, n)
	bridge := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "calitest00002"}}
	if err := n.NL.LinkAdd(bridge); err != nil {
		t.Fatal(err)
	}
	err := v.CreateVeth("calitest00002", "tmptest00002", testMAC, 1500)
	if err == nil || !strings.Contains(err.Error(), "bridge") {
		t.Fatalf("create over a bridge: err %v, want an error naming the bridge", err)
	}
	if got := n.Link(t, "calitest00002").Type(); got != "bridge" {
		t.Errorf("existing link became a %s; it must be left alone", got)
	}
	if _, err := n.NL.LinkByName("tmptest00002"); !isLinkNotFound(err) {
		t.Errorf("peer left behind after failure (err %v)", err)
	}
	if err := v.DeleteVeth("calitest00002"); err == nil {
		t.Error("DeleteVeth deleted a bridge; want refusal")
	}
}

// failingLinks injects a failure into bringing the host side up.
type failingLinks struct {
	linkOps
}

func (failingLinks) LinkSetUp(netlink.Link) error { return errors.New("injected failure") }

func TestCreateVethRollsBackOnFailure(t *testing.T) {
	n := felixtest.NewNS(t, "veth")
	v := &Veths{nl: failingLinks{linkOps: n.NL}}
	err := v.CreateVeth("calitest00003", "tmptest00003", testMAC, 1500)
	if err == nil || !strings.Contains(err.Error(), "injected") {
		t.Fatalf("err %v, want the injected failure", err)
	}
	for _, name := range []string{"calitest00003", "tmptest00003"} {
		if _, err := n.NL.LinkByName(name); !isLinkNotFound(err) {
			t.Errorf("%s left behind after rollback (err %v)", name, err)
		}
	}
}

func TestCreateVethReplacesPairWhosePeerLeft(t *testing.T) {
	host, other := felixtest.NewNS(t, "veth"), felixtest.NewNS(t, "vethpeer")
	v := newTestVeths(t, host)
	if err := v.CreateVeth("calitest00004", "tmptest00004", testMAC, 1500); err != nil {
		t.Fatal(err)
	}
	if err := host.NL.LinkSetNsFd(host.Link(t, "tmptest00004"), int(*other.NS.Handle())); err != nil {
		t.Fatal(err)
	}
	if err := v.CreateVeth("calitest00004", "tmptest00004", testMAC, 1500); err != nil {
		t.Fatalf("create over a pair whose peer moved away: %v", err)
	}
	checkVeth(t, host, "calitest00004", "tmptest00004", testMAC, 1500)
}

func TestValidateVethArgs(t *testing.T) {
	for _, tc := range []struct {
		name, host, peer string
		mac              net.HardwareAddr
		mtu              int
		ok               bool
	}{
		{"valid", "cali1", "tmp1", testMAC, 1500, true},
		{"default MTU", "cali1", "tmp1", testMAC, 0, true},
		{"long name", "cali0123456789ab", "tmp1", testMAC, 1500, false},
		{"empty peer", "cali1", "", testMAC, 1500, false},
		{"same names", "cali1", "cali1", testMAC, 1500, false},
		{"bad MAC", "cali1", "tmp1", net.HardwareAddr{1, 2}, 1500, false},
		{"tiny MTU", "cali1", "tmp1", testMAC, 20, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := validateVethArgs(tc.host, tc.peer, tc.mac, tc.mtu)
			if (err == nil) != tc.ok {
				t.Errorf("err %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
