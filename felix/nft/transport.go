package nft

import (
	"encoding/binary"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/google/nftables"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// txn is the transport of our transactions. google/nftables builds the
// messages (build, a Conn whose dial only captures what its Flush sends),
// and commit sends that batch on our own socket in the namespace with an
// acknowledgement requested of its last message only: google/nftables
// v0.3.0 asks one of every message (and the echo of every new rule) and
// reads them one recvmsg each — most of a start of day's transaction.
//
// The kernel's nfnetlink batch reports every failing message whatever its
// flags, aborts the whole batch when any fails, and reports a failed
// commit against the batch's first message; the last message's
// acknowledgement comes after all of those. So reading up to it, or up to
// an error on the batch itself, collects every error of the transaction.
type txn struct {
	*encoder             // build queues the plan's messages
	pieces   []piece     // the transaction so far, but for what build holds (encode.go)
	pool     *encodePool // encoding the pieces' jobs (nil: none queued)
	// begin and end frame a batch, as the library frames one.
	begin, end netlink.Message
	sock       *netlink.Conn
	seq        uint32 // the last message's sequence number
	sent       int    // messages of the last transaction (0: none sent)
}

// ackTimeout bounds the wait for the kernel's answer to a batch (it
// answers within sendmsg: nfnetlink handles the batch in the sender's
// context).
const ackTimeout = 30 * time.Second

func (d *Driver) dialTxn() error {
	enc, err := newEncoder()
	if err != nil {
		return err
	}
	t := &txn{encoder: enc}
	// A batch's framing, captured once from a throwaway message.
	enc.build.AddTable(&nftables.Table{Name: "framing", Family: nftables.TableFamilyIPv4})
	batch, err := enc.flush()
	if err != nil || len(batch) != 3 {
		return fmt.Errorf("nftables: capture a batch's framing: %v (%d messages)", err, len(batch))
	}
	t.begin, t.end = batch[0], batch[2]
	// NetNS 0 is the current namespace (nsFD -1: the daemon's own).
	t.sock, err = netlink.Dial(unix.NETLINK_NETFILTER, &netlink.Config{NetNS: max(d.nsFD, 0)})
	if err != nil {
		return fmt.Errorf("nftables netlink socket: %w", err)
	}
	err = errors.Join(forceBuffers(t.sock), t.sock.SetOption(netlink.ExtendedAcknowledge, true),
		t.sock.SetOption(netlink.CapAcknowledge, true))
	if err != nil {
		_ = t.sock.Close()
		return fmt.Errorf("nftables netlink socket options: %w", err)
	}
	d.tx = t
	return nil
}

func (t *txn) close() error {
	if t == nil {
		return nil
	}
	t.stopPool()
	return t.sock.Close()
}

// commit waits for the queued chain jobs, calls encoded (unless nil) and
// sends the pieces as one transaction: nil when the kernel committed it,
// else every failing message's error with what it was (nothing of it is
// then applied).
func (t *txn) commit(encoded func()) error {
	err := t.cut()
	if err == nil {
		err = t.runJobs()
	}
	if err != nil {
		return err // the library could not encode a message, or a rule did not compile
	}
	msgs := t.assemble()
	t.sent = len(msgs) - 2
	if encoded != nil {
		encoded()
	}
	if t.sent == 0 { // begin, end: nothing queued
		return nil
	}
	for i := range msgs {
		msgs[i].Header.Flags &^= netlink.Acknowledge | netlink.Echo
	}
	msgs[len(msgs)-2].Header.Flags |= netlink.Acknowledge
	if err := t.send(t.frame(msgs)); err != nil {
		return fmt.Errorf("send %d messages: %w", len(msgs), err)
	}
	return t.collect(msgs)
}

// assemble empties the pieces into one batch.
func (t *txn) assemble() []netlink.Message {
	n := 2
	for _, p := range t.pieces {
		n += len(p.msgs)
		if p.job != nil {
			n += len(p.job.msgs)
		}
	}
	msgs := append(make([]netlink.Message, 0, n), t.begin)
	for _, p := range t.pieces {
		msgs = append(msgs, p.msgs...)
		if p.job != nil {
			msgs = append(msgs, p.job.msgs...)
		}
	}
	t.pieces = nil
	return append(msgs, t.end)
}

// frame lays msgs out as one datagram (netlink's framing: a 16-byte
// header, the payload, padding to 4 bytes), numbering them from t.seq:
// one allocation for tens of thousands of messages.
func (t *txn) frame(msgs []netlink.Message) []byte {
	size := 0
	for _, m := range msgs {
		size += nlmsgAlign(unix.NLMSG_HDRLEN + len(m.Data))
	}
	buf := make([]byte, 0, size)
	for i := range msgs {
		h := &msgs[i].Header
		t.seq++
		h.Length, h.Sequence, h.PID = uint32(unix.NLMSG_HDRLEN+len(msgs[i].Data)), t.seq, 0
		buf = binary.NativeEndian.AppendUint32(buf, h.Length)
		buf = binary.NativeEndian.AppendUint16(buf, uint16(h.Type))
		buf = binary.NativeEndian.AppendUint16(buf, uint16(h.Flags))
		buf = binary.NativeEndian.AppendUint32(buf, h.Sequence)
		buf = binary.NativeEndian.AppendUint32(buf, h.PID) // 0: the kernel fills in ours
		buf = append(buf, msgs[i].Data...)
		buf = buf[:nlmsgAlign(len(buf))] // capacity counted the padding; make zeroed it
	}
	return buf
}

func nlmsgAlign(n int) int { return (n + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1) }

// send writes one datagram to the kernel.
func (t *txn) send(b []byte) error {
	raw, err := t.sock.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = raw.Write(func(fd uintptr) bool {
		serr = unix.Sendto(int(fd), b, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
		return serr != unix.EAGAIN
	})
	return errors.Join(err, serr)
}

// collect reads the kernel's answers to sent up to the last message's
// acknowledgement (or an error on the whole batch).
func (t *txn) collect(sent []netlink.Message) error {
	bySeq := make(map[uint32]int, len(sent))
	for i, m := range sent {
		bySeq[m.Header.Sequence] = i
	}
	first, last := sent[0].Header.Sequence, sent[len(sent)-2].Header.Sequence
	if err := t.sock.SetReadDeadline(time.Now().Add(ackTimeout)); err != nil {
		return err
	}
	var errs []error
	for {
		replies, err := t.receive()
		if err != nil {
			return errors.Join(append(errs, fmt.Errorf("read the kernel's answer: %w", err))...)
		}
		for _, r := range replies {
			seq, e := ackOf(r)
			if e != nil {
				i, ok := bySeq[seq]
				switch {
				case seq == first:
					e = fmt.Errorf("batch: %w", e)
				case ok:
					e = fmt.Errorf("%s: %w", describe(sent[i]), e)
				}
				errs = append(errs, e)
			}
			if seq == last || (seq == first && e != nil) {
				return joinFirst(errs, 3)
			}
		}
	}
}

// receive reads one datagram of netlink messages, raw: the library's
// Receive turns an error into an OpError without the sequence number
// that says which message failed.
func (t *txn) receive() ([]syscall.NetlinkMessage, error) {
	raw, err := t.sock.SyscallConn()
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 64<<10)
	var n int
	var rerr error
	err = raw.Read(func(fd uintptr) bool {
		n, _, rerr = unix.Recvfrom(int(fd), buf, unix.MSG_DONTWAIT)
		return rerr != unix.EAGAIN && rerr != unix.EINTR
	})
	if err = errors.Join(err, rerr); err != nil {
		return nil, err
	}
	return syscall.ParseNetlinkMessage(buf[:n])
}

// ackOf returns the sequence number an NLMSG_ERROR answers and its error
// (nil: an acknowledgement), with the kernel's extended message if any.
// Other messages (none are asked for) answer nothing.
func ackOf(m syscall.NetlinkMessage) (uint32, error) {
	if m.Header.Type != unix.NLMSG_ERROR || len(m.Data) < 4+unix.NLMSG_HDRLEN {
		return 0, nil
	}
	errno := int32(binary.NativeEndian.Uint32(m.Data[:4]))
	seq := binary.NativeEndian.Uint32(m.Data[4+8 : 4+12]) // the request's nlmsg_seq
	if errno == 0 {
		return seq, nil
	}
	err := error(unix.Errno(-errno))
	if m.Header.Flags&unix.NLM_F_ACK_TLVS != 0 {
		// With CapAcknowledge the request's header only precedes them.
		attrs, _ := netlink.UnmarshalAttributes(m.Data[4+unix.NLMSG_HDRLEN:])
		for _, a := range attrs {
			if a.Type == unix.NLMSGERR_ATTR_MSG && len(a.Data) > 1 {
				err = fmt.Errorf("%w (kernel: %s)", err, string(a.Data[:len(a.Data)-1]))
			}
		}
	}
	return seq, err
}

func joinFirst(errs []error, n int) error {
	if len(errs) > n {
		errs = append(errs[:n], fmt.Errorf("and %d more failed messages", len(errs)-n))
	}
	return errors.Join(errs...)
}
