package bgp

import (
	"net/netip"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// severSessions shuts down (without closing: GoBGP owns the descriptors)
// every TCP socket of this process bound to local whose local port is
// listenPort or whose remote port is in peerPorts: the BGP sessions of the
// speaker at local. The peers see the connection end without a BGP
// NOTIFICATION, exactly as if this process had died, and so keep its
// routes for the graceful-restart time. It returns how many it shut down.
//
// GoBGP offers no way to drop a session silently, hence this scan of
// /proc/self/fd. A descriptor closed and reused meanwhile is re-checked,
// so nothing else is touched.
func severSessions(local netip.Addr, listenPort int, peerPorts map[int]bool) int {
	return severSockets(func(fd int) bool { return bgpSession(fd, local, listenPort, peerPorts) })
}

// severSockets shuts down every socket of this process that match
// accepts and returns how many.
func severSockets(match func(fd int) bool) int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || !isSocket(fd) {
			continue
		}
		if match(fd) && unix.Shutdown(fd, unix.SHUT_RDWR) == nil {
			n++
		}
	}
	return n
}

func isSocket(fd int) bool {
	target, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	return err == nil && strings.HasPrefix(target, "socket:")
}

// bgpSession reports whether fd is a connected TCP socket of the speaker.
func bgpSession(fd int, local netip.Addr, listenPort int, peerPorts map[int]bool) bool {
	typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil || typ != unix.SOCK_STREAM {
		return false
	}
	la, lport, ok := inetAddr(unix.Getsockname(fd))
	if !ok || la != local {
		return false
	}
	_, rport, ok := inetAddr(unix.Getpeername(fd))
	return ok && (lport == listenPort || peerPorts[rport])
}

func inetAddr(sa unix.Sockaddr, err error) (netip.Addr, int, bool) {
	if err != nil {
		return netip.Addr{}, 0, false
	}
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrFrom4(a.Addr), a.Port, true
	case *unix.SockaddrInet6:
		return netip.AddrFrom16(a.Addr).Unmap(), a.Port, true
	}
	return netip.Addr{}, 0, false
}
