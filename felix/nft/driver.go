package nft

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net/netip"
	"reflect"
	"strconv"

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
	nsFD  int            // -1: the current namespace
	conn  *nftables.Conn // reads
	tx    *txn           // writes: the transaction being queued
	log   *slog.Logger
	known map[int]*state // what the kernel holds, by IP version; missing: read it back
	// last is the desired table each known state was programmed from: when
	// Apply gets the same Table again, only its Dirty part is planned.
	last map[int]*nftrules.Table
	// rewrites counts the chains the last Apply (re)wrote or removed.
	rewrites int
}

// Rewrites returns how many chains the last Apply wrote, rewrote or
// removed (0: the kernel already held the desired rules).
func (d *Driver) Rewrites() int { return d.rewrites }

// state is our table of one family as the kernel holds it.
type state struct {
	exists bool
	chains map[string]*chainState
	sets   map[string]*setState
}

type chainState struct {
	base   bool
	src    []iptables.Rule // the rules it was written from; nil when read back
	hashes []string        // each kernel rule's tag, in order
}

type setState struct {
	vmap bool
	src  []netip.Prefix               // address set: the prefixes it was filled from; nil when read back
	ivs  map[string]nftrules.Interval // address set: its elements, by key (nil: compute from src)
	dst  map[string]string            // verdict map: iface -> chain; nil when read back
}

// New opens a netlink connection in the namespace nsFD refers to (-1: the
// current one).
func New(nsFD int, log *slog.Logger) (*Driver, error) {
	d := &Driver{nsFD: nsFD, log: log, known: map[int]*state{}, last: map[int]*nftrules.Table{}}
	return d, d.dial()
}

func (d *Driver) dial() error {
	opts := []nftables.ConnOption{nftables.AsLasting(), nftables.WithSockOptions(forceBuffers)}
	if d.nsFD >= 0 {
		opts = append(opts, nftables.WithNetNSFd(d.nsFD))
	}
	c, err := nftables.New(opts...)
	if err != nil {
		return fmt.Errorf("nftables netlink connection: %w", err)
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

func ourTable(v int) *nftables.Table {
	return &nftables.Table{Family: family(v), Name: nftrules.TableName}
}

// Apply converges our tables on desired (by IP version; a version missing
// from desired has its table removed) and, when docker is set, Docker's
// FORWARD accepts, in one transaction. full reads the kernel back first.
// A table given again after a successful Apply, changed in place with its
// changes in Dirty, costs only those changes. On failure nothing is
// changed and the next Apply reads back. Afterwards each desired table's
// Dirty is reset.
func (d *Driver) Apply(desired map[int]*nftrules.Table, full, docker bool) error {
	next := map[int]*state{}
	d.rewrites = 0
	for _, v := range []int{4, 6} {
		st, err := d.planFamily(v, desired[v], full)
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
	if err := d.tx.commit(); err != nil {
		d.abort()
		return fmt.Errorf("nftables transaction: %w", err)
	}
	d.known = next
	clear(d.last)
	for v, t := range desired {
		if t != nil {
			t.Reset()
			d.last[v] = t
		}
	}
	return nil
}

// planFamily queues what converges our table of IP version v on t (nil:
// none) and returns the state the kernel will then hold.
func (d *Driver) planFamily(v int, t *nftrules.Table, full bool) (*state, error) {
	if full || d.known[v] == nil {
		st, err := d.readBack(v)
		if err != nil {
			return nil, err
		}
		d.known[v], d.last[v] = st, nil
	}
	if t == nil {
		if d.known[v].exists {
			d.tx.build.DelTable(ourTable(v))
		}
		return &state{chains: map[string]*chainState{}, sets: map[string]*setState{}}, nil
	}
	if t == d.last[v] && t.Dirty != nil && d.known[v].exists {
		return d.planDirty(t, d.known[v])
	}
	return d.plan(t, d.known[v])
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
