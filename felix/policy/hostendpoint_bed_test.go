package policy_test

import (
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/calico-docker/calico-libnetwork/felix/internal/felixtest"
	"github.com/calico-docker/calico-libnetwork/felix/nftrules"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// The host endpoint tests' network: the host namespace's interface hep0
// (hostHEP/24) is cabled to a "remote" host namespace (remoteAddr/24 on
// its eth0, plus outsideAddr: a source outside the clusters' networks).
// The remote routes the workloads' 10.65.0.0/16 through the host.
const hepIface = "hep0"

var (
	hostHEP     = netip.MustParseAddr("192.168.100.1")
	remoteAddr  = netip.MustParseAddr("192.168.100.2")
	outsideAddr = netip.MustParseAddr("203.0.113.2")
	// IPv6 (beds with EnableIPv6): hostHEP6/64 and remoteAddr6/64.
	hostHEP6    = netip.MustParseAddr("fd00:100::1")
	remoteAddr6 = netip.MustParseAddr("fd00:100::2")
	// Ports the host serves on hostHEP and the remote on remoteAddr.
	hepPorts = []uint16{22, 80, 179, 8080, 10250, 12211}
)

// addRemote cables a remote host to the bed's host by a veth (hep0 on
// the host side) and starts servers on both ends. Deleting the remote's
// namespace (its cleanup) deletes the veth.
func (b *bed) addRemote() *felixtest.NS {
	t := b.t
	t.Helper()
	remote := felixtest.NewNS(t, "remote")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(b.host.NL.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: hepIface}, PeerName: "tmphep0"}))
	must(b.host.NL.LinkSetNsFd(b.host.Link(t, "tmphep0"), int(*remote.NS.Handle())))
	must(remote.NL.LinkSetName(remote.Link(t, "tmphep0"), "eth0"))
	eth0, hep0 := remote.Link(t, "eth0"), b.host.Link(t, hepIface)
	must(remote.NL.AddrAdd(eth0, &netlink.Addr{IPNet: felixtest.PrefixToIPNet(netip.PrefixFrom(remoteAddr, 24))}))
	must(remote.NL.AddrAdd(eth0, &netlink.Addr{IPNet: felixtest.PrefixToIPNet(netip.PrefixFrom(outsideAddr, 32))}))
	must(b.host.NL.AddrAdd(hep0, &netlink.Addr{IPNet: felixtest.PrefixToIPNet(netip.PrefixFrom(hostHEP, 24))}))
	must(remote.NL.LinkSetUp(eth0))
	must(b.host.NL.LinkSetUp(hep0))
	must(remote.NL.RouteAdd(&netlink.Route{LinkIndex: eth0.Attrs().Index, Gw: net.IP(hostHEP.AsSlice()),
		Dst: felixtest.PrefixToIPNet(netip.MustParsePrefix("10.65.0.0/16"))}))
	must(b.host.NL.RouteAdd(&netlink.Route{LinkIndex: hep0.Attrs().Index, Gw: net.IP(remoteAddr.AsSlice()),
		Dst: felixtest.PrefixToIPNet(netip.PrefixFrom(outsideAddr, 32))}))
	if b.v6 {
		// No duplicate address detection: the addresses are usable at once,
		// and neighbour discovery is what the test needs to work.
		nodad := func(a netip.Addr) *netlink.Addr {
			return &netlink.Addr{IPNet: felixtest.PrefixToIPNet(netip.PrefixFrom(a, 64)), Flags: unix.IFA_F_NODAD}
		}
		must(remote.NL.AddrAdd(eth0, nodad(remoteAddr6)))
		must(b.host.NL.AddrAdd(hep0, nodad(hostHEP6)))
	}
	for _, p := range hepPorts {
		felixtest.Serve(t, b.host, netip.AddrPortFrom(hostHEP, p))
		felixtest.Serve(t, remote, netip.AddrPortFrom(remoteAddr, p))
		if b.v6 {
			felixtest.Serve(t, b.host, netip.AddrPortFrom(hostHEP6, p))
			felixtest.Serve(t, remote, netip.AddrPortFrom(remoteAddr6, p))
		}
	}
	return remote
}

// hepProbe is one TCP flow of the host endpoint tests: from a namespace
// and source address to a destination address and port.
type hepProbe struct {
	name     string
	from     *felixtest.NS
	src, dst netip.Addr
	port     uint16
	want     bool // delivered?
}

func (p hepProbe) String() string {
	return fmt.Sprintf("%s (%s -> %s:%d)", p.name, p.src, p.dst, p.port)
}

// hepCheck sends every probe (concurrently) and reports each whose
// outcome is not the wanted one.
func (b *bed) hepCheck(probes ...hepProbe) {
	b.t.Helper()
	errs := make([]error, len(probes))
	var wg sync.WaitGroup
	for i, p := range probes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			timeout := time.Second
			if p.want {
				timeout = 5 * time.Second
			}
			src := netip.AddrPortFrom(p.src, uint16(srcPorts.Add(1)))
			err := felixtest.TCP(p.from, src, netip.AddrPortFrom(p.dst, p.port), timeout)
			if got := err == nil; got != p.want {
				errs[i] = fmt.Errorf("delivered=%v, want %v (%v)", got, p.want, err)
			}
		}()
	}
	wg.Wait()
	for i, p := range probes {
		if errs[i] != nil {
			b.t.Errorf("%s: %v", p, errs[i])
		}
	}
}

// hostEndpoint returns a HostEndpoint of this node.
func hostEndpoint(name, iface string, labels map[string]string, ips ...string) *resources.HostEndpoint {
	h := resources.NewHostEndpoint(name)
	h.Labels = labels
	h.Spec.Node, h.Spec.InterfaceName, h.Spec.ExpectedIPs = node, iface, ips
	return h
}

var rawCounterRE = regexp.MustCompile(`^\[(\d+):\d+\] -A ` + "cali-PREROUTING" + ` .*-j NOTRACK`)

// notracked returns the packet count of the raw table's NOTRACK rule on
// the way in: packets an untracked policy allowed.
func (b *bed) notracked() int {
	b.t.Helper()
	if b.nft {
		return b.nftCounter(nftrules.ChainName(nftrules.TableRaw, rules.ChainPrerouting), func(r *nftables.Rule) bool {
			return slices.ContainsFunc(r.Exprs, func(e expr.Any) bool { _, ok := e.(*expr.Notrack); return ok })
		})
	}
	n := 0
	for _, l := range strings.Split(b.iptables(4, "save", "-c", "-t", "raw"), "\n") {
		if m := rawCounterRE.FindStringSubmatch(l); m != nil {
			c, _ := strconv.Atoi(m[1])
			n += c
		}
	}
	return n
}

// rawManglePrerouting are the nftables dataplane's base chains in the
// place of the raw and mangle tables' PREROUTING.
var rawManglePrerouting = []string{"raw-prerouting", "mangle-prerouting"}

// hostTablesLeft returns what is left of ours in the raw and mangle
// tables (nftables: the chains of ours standing for them), "" if nothing.
func (b *bed) hostTablesLeft() string {
	if b.nft {
		var left []string
		for _, v := range []int{4, 6} {
			for _, l := range nftChains(b.t, b.host, v) {
				if strings.HasPrefix(l, nftrules.TableRaw+"-") || strings.HasPrefix(l, nftrules.TableMangle+"-") {
					left = append(left, l)
				}
			}
		}
		return strings.Join(left, "\n")
	}
	if save := b.iptables(4, "save", "-t", "raw") + b.iptables(4, "save", "-t", "mangle"); containsCali(save) {
		return save
	}
	return ""
}

// flushPrerouting flushes the raw and mangle tables' PREROUTING chains
// (nftables: our base chains in their place), as someone might.
func (b *bed) flushPrerouting() {
	if !b.nft {
		b.iptables(4, "", "-t", "raw", "-F", "PREROUTING")
		b.iptables(4, "", "-t", "mangle", "-F", "PREROUTING")
		return
	}
	c := nftConn(b.t, b.host)
	table := &nftables.Table{Name: nftrules.TableName, Family: nftables.TableFamilyIPv4}
	for _, name := range rawManglePrerouting {
		c.FlushChain(&nftables.Chain{Name: name, Table: table})
	}
	if err := c.Flush(); err != nil {
		b.t.Fatal(err)
	}
}

// preroutingJumps reports the raw or mangle PREROUTING chain without our
// jump.
func (b *bed) preroutingJumps() error {
	for i, table := range []string{"raw", "mangle"} {
		if b.nft {
			if b.nftCounter(rawManglePrerouting[i], func(*nftables.Rule) bool { return true }) < 0 {
				return fmt.Errorf("base chain %s is empty", rawManglePrerouting[i])
			}
			continue
		}
		if !strings.Contains(b.iptables(4, "save", "-t", table), "-A PREROUTING -m comment") {
			return fmt.Errorf("no jump to cali-PREROUTING in %s", table)
		}
	}
	return nil
}

// dispatchesTo reports whether the from-host-endpoint dispatch of the
// IPv4 filter rules goes to chain for hep0.
func (b *bed) dispatchesTo(chain string) bool {
	for _, l := range b.ourRules() {
		if b.nft && strings.HasPrefix(l, rules.ChainFromHostEndpoint+":") && strings.Contains(l, chain) ||
			!b.nft && strings.Contains(l, "-i "+hepIface+" ") && strings.Contains(l, chain) {
			return true
		}
	}
	return false
}

// containsCali reports whether iptables-save output has a rule or chain
// of ours.
func containsCali(save string) bool {
	return strings.Contains(save, "cali-") || strings.Contains(save, "cali:")
}
