package felix

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// Why batches: a start of day on a host of 10,000 endpoints writes a
// route and an ARP entry for each (and an IPv6 endpoint's interface its
// gateway address), and netlink.Handle sends each request
// alone and waits for its answer: two system calls and a wake-up per
// request, ~10 µs, most of the 0.1–0.15 s each kind of write took.
// rtnetlink handles every request of a datagram in the sender's system
// call, so the writes go many to a datagram (writeBatched), an answer
// asked of the last only: the kernel answers a request that fails
// whatever its flags, so what did not fail needs no answer.
// BenchmarkEndpointWrites measures both ways.

// batchSize is the most requests in one datagram. Were every one to fail,
// the kernel's answers (each the error and the request; ~1 KiB of socket
// buffer) would still fit a route socket's default receive buffer (208
// KiB): none is dropped.
const batchSize = 64

// writeBatched sends reqs on sock, batchSize to a datagram, and returns
// each one's error (nil: done), in order: the kernel's answer to it, or the
// failure to send its datagram or read the answers.
func writeBatched(sock *nl.NetlinkSocket, reqs []*nl.NetlinkRequest) []error {
	errs := make([]error, len(reqs))
	for start := 0; start < len(reqs); start += batchSize {
		batch := reqs[start:min(start+batchSize, len(reqs))]
		if err := sendBatch(sock, batch, errs[start:]); err != nil {
			for i := range batch {
				if errs[start+i] == nil {
					errs[start+i] = err
				}
			}
		}
	}
	return errs
}

// sendBatch sends batch as one datagram and reads the kernel's answers up
// to the last request's, setting errs[i] to request i's error.
func sendBatch(sock *nl.NetlinkSocket, batch []*nl.NetlinkRequest, errs []error) error {
	index := make(map[uint32]int, len(batch))
	var buf []byte
	for i, r := range batch {
		r.Flags &^= unix.NLM_F_ACK
		if i == len(batch)-1 {
			r.Flags |= unix.NLM_F_ACK
		}
		index[r.Seq] = i
		buf = append(buf, r.Serialize()...)
	}
	last := batch[len(batch)-1].Seq
	if err := unix.Sendto(sock.GetFd(), buf, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("send %d requests: %w", len(batch), err)
	}
	for {
		msgs, from, err := sock.Receive()
		if err != nil {
			return fmt.Errorf("read the answers to %d requests: %w", len(batch), err)
		}
		if from.Pid != nl.PidKernel {
			continue
		}
		for _, m := range msgs {
			i, ours := index[m.Header.Seq]
			if !ours || m.Header.Type != unix.NLMSG_ERROR {
				continue
			}
			if len(m.Data) < 4 {
				errs[i] = fmt.Errorf("short answer (%d bytes)", len(m.Data))
			} else if code := int32(binary.NativeEndian.Uint32(m.Data)); code != 0 {
				errs[i] = syscall.Errno(-code)
			}
			if m.Header.Seq == last {
				return nil
			}
		}
	}
}

// routeRequest is the request RouteReplace would send for r, one of ours
// (desiredRoutes): its destination, interface (none for a blackhole),
// type, scope, protocol and table.
func routeRequest(r *netlink.Route) *nl.NetlinkRequest {
	req := nl.NewNetlinkRequest(unix.RTM_NEWROUTE, unix.NLM_F_CREATE|unix.NLM_F_REPLACE|unix.NLM_F_ACK)
	msg := nl.NewRtMsg()
	dst := ipNetToPrefix(r.Dst)
	msg.Family = unix.AF_INET
	if dst.Addr().Is6() {
		msg.Family = unix.AF_INET6
	}
	msg.Dst_len = uint8(dst.Bits())
	msg.Table = uint8(r.Table)
	msg.Protocol = uint8(r.Protocol)
	msg.Scope = uint8(r.Scope)
	msg.Type = uint8(r.Type)
	req.AddData(msg)
	req.AddData(nl.NewRtAttr(unix.RTA_DST, dst.Addr().AsSlice()))
	if r.LinkIndex > 0 {
		req.AddData(nl.NewRtAttr(unix.RTA_OIF, nl.Uint32Attr(uint32(r.LinkIndex))))
	}
	return req
}

// neighRequest is the request NeighSet would send for a permanent IPv4
// entry ip -> mac on interface ifindex.
func neighRequest(ifindex int, ip netip.Addr, mac net.HardwareAddr) *nl.NetlinkRequest {
	req := nl.NewNetlinkRequest(unix.RTM_NEWNEIGH, unix.NLM_F_CREATE|unix.NLM_F_REPLACE|unix.NLM_F_ACK)
	req.AddData(&netlink.Ndmsg{Family: unix.AF_INET, Index: uint32(ifindex), State: netlink.NUD_PERMANENT})
	req.AddData(nl.NewRtAttr(unix.NDA_DST, ip.AsSlice()))
	req.AddData(nl.NewRtAttr(unix.NDA_LLADDR, mac))
	return req
}

// gatewayRequest is the request AddrAdd would send to put IPv6Gateway
// (/64, link scope, no duplicate address detection) on interface ifindex.
func gatewayRequest(ifindex int) *nl.NetlinkRequest {
	req := nl.NewNetlinkRequest(unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_EXCL|unix.NLM_F_ACK)
	msg := nl.NewIfAddrmsg(unix.AF_INET6)
	msg.Index, msg.Prefixlen, msg.Scope, msg.Flags = uint32(ifindex), 64, unix.RT_SCOPE_LINK, unix.IFA_F_NODAD
	gw := IPv6Gateway.AsSlice()
	req.AddData(msg)
	req.AddData(nl.NewRtAttr(unix.IFA_LOCAL, gw))
	req.AddData(nl.NewRtAttr(unix.IFA_ADDRESS, gw))
	return req
}
