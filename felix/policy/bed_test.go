package policy_test

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/calc"
	"github.com/calico-docker/calico-libnetwork/felix"
	"github.com/calico-docker/calico-libnetwork/felix/internal/felixtest"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// node is the name of the test host in the datastore.
const node = "host1"

// converge bounds waits for the dataplane to program a change.
const converge = 20 * time.Second

// Ports every workload serves on, for each of its addresses.
var (
	tcpPorts = []uint16{80, 8080, 9090}
	udpPort  = uint16(53)
)

// hostPort is what the host namespace serves on HostV4/HostV6.
const hostPort = 80

// bed is a host namespace with a policy-mode felix Dataplane and
// workloads behind it, fed by sync events as the datastore would feed it.
// A reference calc.Model gets the same events, so every packet's fate can
// be compared with calc.Model.Verdict.
type bed struct {
	t     testing.TB
	host  *felixtest.NS
	dp    *felix.Dataplane
	veths *felix.Veths
	ref   *calc.Model
	store map[string]resources.Resource // what the "datastore" holds, by key
	wls   map[string]*felixtest.Workload
	v6    bool
	nft   bool   // the nftables dataplane (else iptables)
	stop  func() // stops dp
}

// newBed starts a Dataplane for node in a fresh host namespace (FORWARD
// policy DROP as Docker sets it) and feeds it a full sync of objs.
func newBed(t testing.TB, cfg felix.Config, objs ...resources.Resource) *bed {
	t.Helper()
	testenv.RequireTools(t, "ipset", "ping", "iptables-legacy", "iptables-nft")
	host := felixtest.NewNS(t, "host")
	felixtest.AddUplink(t, host)
	veths, err := felix.NewVeths(host.Path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(veths.Close)
	cfg.NetNS, cfg.NodeName = host.Path, node
	if cfg.ResyncInterval == 0 {
		cfg.ResyncInterval = 500 * time.Millisecond
	}
	cfg.Logger = quietLogger()
	b := &bed{t: t, host: host, veths: veths, ref: calc.NewModel(),
		store: map[string]resources.Resource{}, wls: map[string]*felixtest.Workload{}, v6: cfg.EnableIPv6}
	b.start(cfg)
	felixtest.ForwardDrop(t, host, string(b.dp.Status().Backend))
	felixtest.Serve(t, host, netip.AddrPortFrom(felixtest.HostV4, hostPort))
	for _, o := range objs {
		b.store[key(o)] = o
	}
	b.send(model.SyncEvent{Full: true, Updates: b.updates(slices.Collect(maps.Values(b.store)), false)})
	return b
}

// start starts a Dataplane with cfg (the bed's namespace and node) as
// b.dp; the test's end stops it.
func (b *bed) start(cfg felix.Config) {
	b.t.Helper()
	dp := felix.New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	if err := dp.Start(ctx); err != nil {
		cancel()
		b.t.Fatal(err)
	}
	b.t.Cleanup(func() { cancel(); <-dp.Done() })
	b.dp, b.nft, b.stop = dp, cfg.Dataplane == felix.DataplaneNftables, func() { cancel(); <-dp.Done() }
	// This kernel (6.16 or later) hooks interfaces' egress by name prefix:
	// nftables runs ingress policy there unless told not to.
	want := map[bool]string{true: felix.HookForward, false: felix.HookEgress}[cfg.NftablesForwardHook]
	if got := dp.Status().NftablesHook; b.nft && got != want {
		b.t.Fatalf("nftables hook %q, want %q", got, want)
	}
}

// restart stops the Dataplane and starts one with cfg in its place (the
// daemon restarted with other settings), fed the datastore's full sync.
func (b *bed) restart(cfg felix.Config) {
	b.t.Helper()
	b.stop()
	cfg.NetNS, cfg.NodeName, cfg.Logger = b.host.Path, node, quietLogger()
	if cfg.ResyncInterval == 0 {
		cfg.ResyncInterval = 500 * time.Millisecond
	}
	b.start(cfg)
	b.send(model.SyncEvent{Full: true, Updates: b.updates(slices.Collect(maps.Values(b.store)), false)})
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func key(o resources.Resource) string {
	return o.GetTypeMeta().Kind + "/" + o.Meta().Namespace + "/" + o.Meta().Name
}

func (b *bed) updates(objs []resources.Resource, deleted bool) []model.Update {
	ups := make([]model.Update, len(objs))
	for i, o := range objs {
		ups[i] = model.UpdateOf(o)
		if deleted {
			ups[i].Object = nil
		}
	}
	return ups
}

// send hands an event to the dataplane and the reference model, and waits
// until the dataplane has programmed it.
func (b *bed) send(ev model.SyncEvent) {
	b.t.Helper()
	b.dp.OnSyncEvent(ev)
	b.ref.Apply(ev)
	ctx, cancel := context.WithTimeout(context.Background(), converge)
	defer cancel()
	if err := b.dp.WaitSynced(ctx); err != nil {
		b.t.Fatalf("dataplane not in sync: %v (status %+v)", err, b.dp.Status())
	}
}

// put creates or replaces objects.
func (b *bed) put(objs ...resources.Resource) {
	b.t.Helper()
	for _, o := range objs {
		o.Default()
		if err := o.Validate(); err != nil {
			b.t.Fatalf("%s: %v", key(o), err)
		}
		b.store[key(o)] = o
	}
	b.send(model.SyncEvent{Updates: b.updates(objs, false)})
}

// remove deletes objects.
func (b *bed) remove(objs ...resources.Resource) {
	b.t.Helper()
	for _, o := range objs {
		delete(b.store, key(o))
	}
	b.send(model.SyncEvent{Updates: b.updates(objs, true)})
}

// setPolicies makes the policies and tiers of yamls (Calico v3 YAML
// documents) the only ones in the datastore, in one event.
func (b *bed) setPolicies(yamls string) {
	b.t.Helper()
	var objs []resources.Resource
	if yamls != "" {
		objs = decode(b.t, yamls)
	}
	want := map[string]bool{}
	for _, o := range objs {
		want[key(o)] = true
	}
	var gone []resources.Resource
	for k, o := range b.store {
		kind := o.GetTypeMeta().Kind
		policyKind := kind == resources.KindNetworkPolicy || kind == resources.KindGlobalNetworkPolicy || kind == resources.KindTier
		if policyKind && !want[k] {
			gone = append(gone, o)
			delete(b.store, k)
		}
	}
	for _, o := range objs {
		b.store[key(o)] = o
	}
	b.send(model.SyncEvent{Updates: append(b.updates(gone, true), b.updates(objs, false)...)})
}

func decode(t testing.TB, yamls string) []resources.Resource {
	t.Helper()
	objs, err := resources.DecodeBytes([]byte(yamls))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		o.Default()
		if err := o.Validate(); err != nil {
			t.Fatalf("%s: %v", key(o), err)
		}
	}
	return objs
}

// addWorkload creates workload n (felixtest.DefaultSpec) named name, with
// servers on every port, and puts its WorkloadEndpoint.
func (b *bed) addWorkload(name string, n int, profiles []string, labels map[string]string) *felixtest.Workload {
	b.t.Helper()
	return b.addWorkloadSpec(name, felixtest.DefaultSpec(n), profiles, labels)
}

// addWorkloadSpec is addWorkload with the workload's interface and
// addresses given.
func (b *bed) addWorkloadSpec(name string, spec felixtest.WorkloadSpec, profiles []string, labels map[string]string) *felixtest.Workload {
	b.t.Helper()
	if !b.v6 {
		spec.V6 = netip.Addr{}
	}
	w := felixtest.NewWorkload(b.t, b.host, b.veths.CreateVeth, spec)
	for _, a := range []netip.Addr{w.V4, w.V6} {
		if !a.IsValid() {
			continue
		}
		for _, p := range tcpPorts {
			felixtest.Serve(b.t, w.NS, netip.AddrPortFrom(a, p))
		}
		felixtest.ServeUDP(b.t, w.NS, netip.AddrPortFrom(a, udpPort))
	}
	b.wls[name] = w
	b.put(wepOf(name, w, profiles, labels))
	return w
}

// wepOf is the WorkloadEndpoint of a workload, as the driver writes it.
func wepOf(name string, w *felixtest.Workload, profiles []string, labels map[string]string) *resources.WorkloadEndpoint {
	wep := resources.NewWorkloadEndpoint(name)
	wep.Spec.Node, wep.Spec.InterfaceName, wep.Spec.MAC = node, w.HostSide, w.MAC.String()
	wep.Spec.Workload = name
	for _, a := range w.Addrs() {
		wep.Spec.IPNetworks = append(wep.Spec.IPNetworks, a.String())
	}
	wep.Spec.Profiles = profiles
	wep.Labels = labels
	return wep
}

// wep returns a copy of a workload's current WorkloadEndpoint.
func (b *bed) wep(name string) *resources.WorkloadEndpoint {
	o := b.store[resources.KindWorkloadEndpoint+"/"+resources.DefaultNamespace+"/"+name].(*resources.WorkloadEndpoint)
	cp := *o
	cp.Labels, cp.Annotations = maps.Clone(o.Labels), maps.Clone(o.Annotations)
	cp.Spec.Profiles = slices.Clone(o.Spec.Profiles)
	return &cp
}

// probe is one packet flow to try: from and to are workload names or
// "host"; proto is "tcp", "udp" or "icmp".
type probe struct {
	from, to string
	proto    string
	port     uint16
	v6       bool
	want     bool // delivered?
}

func (p probe) String() string {
	fam := "v4"
	if p.v6 {
		fam = "v6"
	}
	s := fmt.Sprintf("%s->%s %s/%s", p.from, p.to, p.proto, fam)
	if p.proto != "icmp" {
		s += fmt.Sprintf(":%d", p.port)
	}
	return s
}

func tcp(from, to string, port uint16, want bool) probe {
	return probe{from: from, to: to, proto: "tcp", port: port, want: want}
}
func udp(from, to string, want bool) probe {
	return probe{from: from, to: to, proto: "udp", port: udpPort, want: want}
}
func icmp(from, to string, want bool) probe {
	return probe{from: from, to: to, proto: "icmp", want: want}
}
func v6(p probe) probe { p.v6 = true; return p }

// srcPorts hands out distinct client ports, so every probe is a new flow
// (conntrack) and its exact packet is known to Verdict.
var srcPorts atomic.Uint32

func init() { srcPorts.Store(20000) }

// check sends every probe (concurrently) and asserts each outcome is the
// wanted one and, for workload-to-workload traffic, the one
// calc.Model.Verdict gives for the same packet.
func (b *bed) check(probes ...probe) {
	b.t.Helper()
	errs := make([]error, len(probes))
	var wg sync.WaitGroup
	for i, p := range probes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = b.probe(p)
		}()
	}
	wg.Wait()
	for i, p := range probes {
		if errs[i] != nil {
			b.t.Errorf("%s: %v", p, errs[i])
		}
	}
}

// probe sends p and checks its outcome, and Verdict's.
func (b *bed) probe(p probe) error {
	pkt, got, err := b.try(p)
	if got != p.want {
		return fmt.Errorf("delivered=%v, want %v (%v)", got, p.want, err)
	}
	if p.from == "host" || p.to == "host" {
		// Verdict knows workloads, not this host: host-to-workload traffic
		// is always allowed and workload-to-host traffic is dropped
		// (Config.EndpointToHostAccept) by the dataplane, outside policy.
		return nil
	}
	if v := b.ref.Verdict(pkt); v.Allowed != got {
		return fmt.Errorf("delivered=%v but calc.Model.Verdict says allowed=%v: %s; steps %v",
			got, v.Allowed, v.Reason, v.Steps)
	}
	return nil
}

// probeDelivery sends p and checks only its outcome.
func (b *bed) probeDelivery(p probe) error {
	_, got, err := b.try(p)
	if got != p.want {
		return fmt.Errorf("%s: delivered=%v, want %v (%v)", p, got, p.want, err)
	}
	return nil
}

// try sends p's packet flow; it returns the packet as Verdict sees it and
// whether it was delivered (and why not).
func (b *bed) try(p probe) (calc.Packet, bool, error) {
	src, dst := b.addr(p.from, p.v6), b.addr(p.to, p.v6)
	pkt := calc.Packet{Src: src, Dst: dst, ICMPType: -1}
	timeout := time.Second // long enough for a local round trip on a busy machine
	if p.want {
		timeout = 5 * time.Second // ample: a delivered flow never waits this long
	}
	var err error
	switch p.proto {
	case "tcp", "udp":
		sport := uint16(srcPorts.Add(1))
		pkt.SrcPort, pkt.DstPort = sport, p.port
		from, to := netip.AddrPortFrom(src, sport), netip.AddrPortFrom(dst, p.port)
		if p.proto == "tcp" {
			pkt.Protocol = 6
			err = felixtest.TCP(b.ns(p.from), from, to, timeout)
		} else {
			pkt.Protocol = 17
			err = felixtest.UDP(b.ns(p.from), from, to, timeout)
		}
	case "icmp":
		pkt.Protocol, pkt.ICMPType, pkt.ICMPCode = 1, 8, 0
		if p.v6 {
			pkt.Protocol, pkt.ICMPType = 58, 128
		}
		err = felixtest.Ping(b.ns(p.from), dst, timeout)
	}
	return pkt, err == nil, err
}

func (b *bed) ns(name string) *felixtest.NS {
	if name == "host" {
		return b.host
	}
	return b.wls[name].NS
}

func (b *bed) addr(name string, v6 bool) netip.Addr {
	if name == "host" {
		if v6 {
			return felixtest.HostV6
		}
		return felixtest.HostV4
	}
	w := b.wls[name]
	if v6 {
		return w.V6
	}
	return w.V4
}

// iptables runs the dataplane's iptables flavour in the host namespace
// (tool "" for iptables itself, or "save").
func (b *bed) iptables(v int, tool string, args ...string) string {
	b.t.Helper()
	name := b.iptablesName(v)
	if tool != "" {
		name += "-" + tool
	}
	return b.host.Run(b.t, name, args...)
}

func (b *bed) iptablesName(v int) string {
	name := "iptables"
	if v == 6 {
		name = "ip6tables"
	}
	return name + "-" + string(b.dp.Status().Backend)
}

// ourRules returns our rules of the IPv4 filter table (nftables: of our
// IPv4 table, one line per rule, see nftRules).
func (b *bed) ourRules() []string {
	if b.nft {
		return nftRules(b.t, b.host, 4)
	}
	var out []string
	for _, l := range strings.Split(b.iptables(4, "save", "-t", "filter"), "\n") {
		if strings.Contains(l, "cali:") {
			out = append(out, l)
		}
	}
	return out
}
