package nft

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"sync"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/calico-docker/calico-libnetwork/felix/iptables"
	"github.com/calico-docker/calico-libnetwork/felix/nftrules"
)

// bufSize is the netlink socket buffer (forced; we are root): a
// start-of-day transaction of tens of thousands of messages must fit.
const bufSize = 256 << 20

// Driver programs our nftables tables in one network namespace. Not safe
// for concurrent use: felix's dataplane goroutine owns it.
type Driver struct {
	nsFD int            // -1: the current namespace
	conn *nftables.Conn // reads
	tx   *txn           // writes: the transaction being queued
	log  *slog.Logger
	// known is what the kernel holds in each of our tables, by IP version
	// and table name (a family missing: read it back).
	known map[int]map[string]*state
	// last is the desired part each known state was programmed from: when
	// Apply gets the same Part again, only its Dirty changes are planned.
	last map[tableKey]*nftrules.Part
	// rewrites counts the chains the last Apply (re)wrote or removed.
	rewrites int
	// beside is ApplyNotify's callback during an apply (never nil then).
	beside func()
	// netdev is this apply's read-back of our netdev tables, shared by
	// both IP versions (nil: not read yet); netdevDumps counts its
	// chain dumps.
	netdev      *netdevRead
	netdevDumps int
}

// Rewrites returns how many chains the last Apply wrote, rewrote or
// removed (0: the kernel already held the desired rules).
func (d *Driver) Rewrites() int { return d.rewrites }

// tableKey names one of our tables: IP version and table name.
type tableKey struct {
	v    int
	name string
}

// state is one of our tables as the kernel holds it.
type state struct {
	exists bool
	// sel: the table holds its nftrules.SelectorSet.
	sel    bool
	chains map[string]*chainState
	// sets are the table's verdict maps and address sets by name (an
	// address set's members are elements of the SelectorSet); read back,
	// an address set is named by its number ("#" and SetID in hex) until
	// a plan gives it its name.
	sets map[string]*setState
	// legacy are address sets of their own the table holds (read back:
	// written before the SelectorSet), deleted by the next plan.
	legacy []string
}

type chainState struct {
	base bool
	src  []iptables.Rule // the rules it was written from; nil when read back
	// devices a netdev base chain hooks (netdev.go), as written or read
	// back.
	devices []string
	hashes  []string // each kernel rule's tag, in order
}

type setState struct {
	vmap bool
	// shared: an address set, its members in the SelectorSet beside id,
	// its number there.
	shared bool
	id     [8]byte
	src    []netip.Prefix               // address set: the prefixes it was filled from; nil when read back
	ivs    map[string]nftrules.Interval // address set: its elements, by key (nil: compute from src)
	dst    map[string]string            // verdict map: iface -> chain (ReturnTarget: return)
}

// New opens a netlink connection in the namespace nsFD refers to (-1: the
// current one).
func New(nsFD int, log *slog.Logger) (*Driver, error) {
	d := &Driver{nsFD: nsFD, log: log, known: map[int]map[string]*state{}, last: map[tableKey]*nftrules.Part{}}
	return d, d.dial()
}

func (d *Driver) dial() error {
	c, err := d.newConn()
	if err != nil {
		return err
	}
	d.conn = c
	if err := d.dialTxn(); err != nil {
		_ = c.CloseLasting()
		return err
	}
	return nil
}

func forceBuffers(c *netlink.Conn) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = raw.Control(func(fd uintptr) {
		serr = errors.Join(unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, bufSize),
			unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, bufSize))
	})
	return errors.Join(err, serr)
}

// Close closes the connection.
func (d *Driver) Close() error { return errors.Join(d.conn.CloseLasting(), d.tx.close()) }

// Forget drops what the driver knows of the kernel: the next Apply reads
// everything back.
func (d *Driver) Forget() {
	clear(d.known)
	clear(d.last)
}

func family(v int) nftables.TableFamily {
	if v == 6 {
		return nftables.TableFamilyIPv6
	}
	return nftables.TableFamilyIPv4
}

func ourTable(v int, name string) *nftables.Table {
	if _, ok := nftrules.IsEgressShardName(name); ok {
		return &nftables.Table{Family: nftables.TableFamilyNetdev, Name: name}
	}
	return &nftables.Table{Family: family(v), Name: name}
}

// isOurs reports whether a table of an IP family is one of ours: the main
// table or a shard.
func isOurs(t *nftables.Table) bool {
	if _, ok := nftrules.IsEgressShardName(t.Name); ok && isNetdev(t) {
		return true
	}
	return (t.Family == family(4) || t.Family == family(6)) && (t.Name == nftrules.TableName || nftrules.IsShardName(t.Name))
}

// Apply converges our tables on desired (by IP version: the main table
// and its shards, nftrules.Table.Parts; a version missing from desired has
// its tables removed) and, when docker is set, Docker's FORWARD accepts,
// in one transaction. full reads the kernel back first. A part given
// again after a successful Apply, changed in place with its changes in
// Dirty, costs only those changes. On failure nothing is changed and the
// next Apply reads back. Afterwards each desired part's Dirty is reset.
func (d *Driver) Apply(desired map[int]*nftrules.Table, full, docker bool) error {
	return d.ApplyNotify(desired, full, docker, nil)
}

// ApplyNotify is Apply that calls beside (unless nil) once, when what else
// the caller has to do can run beside the rest of the apply: when the
// transaction is encoded, before the kernel gets it (the encoding takes
// every core; the commit runs on one), or as soon as a read-back of our
// workload shards holding endpoints begins (a restart or a full resync: a
// 10,000 endpoint restart took 2.7–3.3 s so, 3.7 s with the endpoints
// after, docs/benchmarks.md). It is not called when Apply fails before.
func (d *Driver) ApplyNotify(desired map[int]*nftrules.Table, full, docker bool, beside func()) error {
	var once sync.Once
	d.beside = func() {
		if beside != nil {
			once.Do(beside)
		}
	}
	defer func() { d.beside, d.netdev = nil, nil }()
	next := map[int]map[string]*state{}
	parts := map[int][]*nftrules.Part{}
	d.rewrites = 0
	for _, v := range []int{4, 6} {
		if t := desired[v]; t != nil {
			parts[v] = t.Parts()
		}
		st, err := d.planFamily(v, parts[v], full)
		if err != nil {
			d.abort()
			return err
		}
		next[v] = st
	}
	if docker {
		for _, v := range []int{4, 6} {
			if err := d.queueDockerAccepts(v, desired[v] != nil); err != nil {
				d.abort()
				return err
			}
		}
	}
	if err := d.tx.commit(d.beside); err != nil {
		d.abort()
		return fmt.Errorf("nftables transaction: %w", err)
	}
	d.known = next
	clear(d.last)
	for v, ps := range parts {
		for _, p := range ps {
			p.Reset()
			d.last[tableKey{v, p.Name}] = p
		}
	}
	return nil
}

// planFamily queues what converges our tables of IP version v on parts
// (none: no table) and returns the states the kernel will then hold.
func (d *Driver) planFamily(v int, parts []*nftrules.Part, full bool) (map[string]*state, error) {
	if full || d.known[v] == nil {
		known, err := d.readFamily(v)
		if err != nil {
			return nil, err
		}
		d.known[v] = known
		for name := range known {
			delete(d.last, tableKey{v, name})
		}
	}
	known := d.known[v]
	next := make(map[string]*state, len(parts))
	for _, p := range parts {
		k := known[p.Name]
		if k == nil {
			k = &state{chains: map[string]*chainState{}, sets: map[string]*setState{}}
		}
		var st *state
		var err error
		if p == d.last[tableKey{v, p.Name}] && p.Dirty != nil && k.exists {
			st, err = d.planDirty(v, p, k)
		} else {
			st, err = d.plan(v, p, k)
		}
		if err != nil {
			return nil, err
		}
		next[p.Name] = st
	}
	for _, name := range slices.Sorted(maps.Keys(known)) {
		if next[name] == nil && known[name].exists {
			d.tx.build.DelTable(ourTable(v, name))
		}
	}
	return next, nil
}

// newConn opens a lasting google/nftables connection in our namespace.
func (d *Driver) newConn() (*nftables.Conn, error) {
	opts := []nftables.ConnOption{nftables.AsLasting(), nftables.WithSockOptions(forceBuffers)}
	if d.nsFD >= 0 {
		opts = append(opts, nftables.WithNetNSFd(d.nsFD))
	}
	c, err := nftables.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("nftables netlink connection: %w", err)
	}
	return c, nil
}

// abort drops queued messages and what we knew (the connections are
// reopened: a failed batch may leave unread answers on them).
func (d *Driver) abort() {
	d.Forget()
	_ = errors.Join(d.conn.CloseLasting(), d.tx.close())
	if err := d.dial(); err != nil {
		d.log.Warn("nftables: reopening the netlink connection failed", "err", err)
	}
}

// ruleTag is the comment of a kernel rule written from r.
func ruleTag(r iptables.Rule) string {
	h := fnv.New64a()
	h.Write([]byte(r.Match))
	h.Write([]byte{0})
	h.Write([]byte(r.Action))
	return "cali:" + strconv.FormatUint(h.Sum64(), 36)
}

// fingerprint sums up a rule's expressions (types, comparisons, set
// lookups, verdict): a rule edited in place under our tag reads back with
// another fingerprint. Counters' values are left out. Only compared in
// memory (both sides computed here), so its encoding is free to change.
func fingerprint(exprs []expr.Any) string {
	h := fnv.New64a()
	var b []byte
	for _, e := range exprs {
		switch e := e.(type) {
		case *expr.Counter:
			b = append(b, "counter;"...)
		case *expr.Verdict:
			b = binary.LittleEndian.AppendUint32(append(b, "verdict "...), uint32(e.Kind))
			b = append(append(b, e.Chain...), ';')
		case *expr.Cmp:
			b = append(append(append(b, "cmp "...), byte(e.Op), byte(len(e.Data))), e.Data...)
		case *expr.Immediate: // a set's number in a SelectorSet lookup
			// (not its register: the kernel dumps a 32-bit register that
			// starts a 128-bit one by the 128-bit one's number)
			b = append(append(append(b, "imm "...), byte(len(e.Data))), e.Data...)
		case *expr.Lookup:
			b = append(append(b, "lookup "...), e.SetName...)
			if e.Invert {
				b = append(b, '!')
			}
			b = append(b, ';')
		default:
			b = append(b, reflect.TypeOf(e).String()...)
			b = append(b, ';')
		}
	}
	h.Write(b)
	return strconv.FormatUint(h.Sum64(), 36)
}

func tagData(tag string) []byte { return userdata.AppendString(nil, userdata.TypeComment, tag) }

func tagOf(udata []byte) string {
	s, _ := userdata.GetString(udata, userdata.TypeComment)
	return s
}
