package flowlogs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	nflog "github.com/florianl/go-nflog/v2"
	"github.com/mdlayher/netlink"
	"github.com/ti-mo/conntrack"

	"github.com/calico-docker/calico-libnetwork/felix/ns"
)

// copyRange is how much of each logged packet the kernel copies to us:
// the IPv6 header and the ports fit.
const copyRange = 64

// Reader reads one NFLOG group and conntrack in one namespace.
type Reader struct {
	ns    *ns.NS
	group uint16
	log   *slog.Logger
	nf    *nflog.Nflog
	ct    *conntrack.Conn
}

// Open binds NFLOG group and opens conntrack inside the namespace at
// netnsPath ("" for the process's own).
func Open(netnsPath string, group uint16, log *slog.Logger) (_ *Reader, err error) {
	n, err := ns.Open(netnsPath)
	if err != nil {
		return nil, err
	}
	r := &Reader{ns: n, group: group, log: log.With("component", "flowlogs")}
	defer func() {
		if err != nil {
			r.Close()
		}
	}()
	fd := 0
	if h := n.Handle(); h != nil {
		fd = int(*h)
	}
	r.nf, err = nflog.Open(&nflog.Config{Group: group, Copymode: nflog.CopyPacket, Bufsize: copyRange, NetNS: fd,
		QThresh: 64, Timeout: 10}) // batched: at most 64 packets or 100 ms
	if err != nil {
		return nil, fmt.Errorf("flow logs: open NFLOG group %d: %w (is the nfnetlink_log module available?)", group, err)
	}
	if err := r.nf.SetOption(netlink.NoENOBUFS, true); err != nil {
		r.log.Debug("NFLOG: cannot ignore ENOBUFS", "err", err)
	}
	r.ct, err = conntrack.Dial(&netlink.Config{NetNS: fd})
	if err != nil {
		return nil, fmt.Errorf("flow logs: open conntrack: %w", err)
	}
	return r, nil
}

// Run delivers every logged packet to fn (from the reader's goroutine)
// until ctx ends.
func (r *Reader) Run(ctx context.Context, fn func(Packet)) error {
	hook := func(a nflog.Attribute) int {
		if a.Payload == nil {
			return 0
		}
		prefix := ""
		if a.Prefix != nil {
			prefix = *a.Prefix
		}
		at := time.Now()
		if a.Timestamp != nil {
			at = *a.Timestamp
		}
		if p, ok := ParsePacket(*a.Payload, prefix, at); ok {
			fn(p)
		}
		return 0
	}
	onErr := func(err error) int {
		if ctx.Err() != nil {
			return 1
		}
		var nerr *netlink.OpError
		if errors.As(err, &nerr) && nerr.Timeout() {
			return 0
		}
		r.log.Warn("NFLOG read error; continuing", "err", err)
		return 0
	}
	if err := r.nf.RegisterWithErrorFunc(ctx, hook, onErr); err != nil {
		return fmt.Errorf("flow logs: read NFLOG group %d: %w", r.group, err)
	}
	<-ctx.Done()
	return nil
}

// Counters dumps conntrack once and returns each connection's counts
// (both directions) by its original tuple and by its reversed reply tuple
// (what a packet after DNAT shows).
func (r *Reader) Counters() (map[Tuple]Counts, error) {
	flows, err := r.ct.Dump(nil)
	if err != nil {
		return nil, fmt.Errorf("flow logs: dump conntrack: %w", err)
	}
	out := make(map[Tuple]Counts, len(flows))
	for _, f := range flows {
		c := Counts{Packets: f.CountersOrig.Packets + f.CountersReply.Packets, Bytes: f.CountersOrig.Bytes + f.CountersReply.Bytes,
			Done: f.ProtoInfo.TCP != nil && f.ProtoInfo.TCP.State >= tcpTimeWait}
		o, rp := f.TupleOrig, f.TupleReply
		out[Tuple{Src: o.IP.SourceAddress, Dst: o.IP.DestinationAddress, Proto: o.Proto.Protocol,
			SrcPort: ports(o.Proto.Protocol, o.Proto.SourcePort), DstPort: ports(o.Proto.Protocol, o.Proto.DestinationPort)}] = c
		rev := Tuple{Src: rp.IP.DestinationAddress, Dst: rp.IP.SourceAddress, Proto: rp.Proto.Protocol,
			SrcPort: ports(rp.Proto.Protocol, rp.Proto.DestinationPort), DstPort: ports(rp.Proto.Protocol, rp.Proto.SourcePort)}
		if _, ok := out[rev]; !ok {
			out[rev] = c
		}
	}
	return out, nil
}

// tcpTimeWait is conntrack's TCP state TIME_WAIT; CLOSE (8) follows it.
const tcpTimeWait = 7

func ports(proto uint8, p uint16) uint16 {
	if hasPorts(proto) {
		return p
	}
	return 0
}

// Close releases the sockets and the namespace handle.
func (r *Reader) Close() {
	if r.nf != nil {
		_ = r.nf.Close()
	}
	if r.ct != nil {
		_ = r.ct.Close()
	}
	_ = r.ns.Close()
}
