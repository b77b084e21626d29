package felix

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
)

// Stray workload veths. The driver makes an endpoint's veth pair in the
// host namespace when Docker creates the endpoint, ahead of Join; Docker
// then moves the container end into the sandbox. A pair whose two ends are
// both still in this namespace was made for a Join that never came: the
// daemon was killed, or was down when Docker deleted the endpoint, so
// nobody will delete it. Felix, the one owner of the dataplane, reaps such
// pairs at a full resync once they have been seen, unowned, for
// Config.StrayVethGrace.
//
// Never a pair in use: a pair whose container end was moved into a sandbox
// is not a candidate; one an endpoint of this node names (felix's own
// endpoints, and Config.OwnedInterfaces, the freshest view) is kept; and
// the grace, far longer than a request may take, covers a pair a
// CreateEndpoint or Join is working with before its endpoint is stored.
// The age counts from the first resync that saw the pair by its ifindex,
// so a pair made again (Join remakes a pair prepared long ago) starts
// afresh.

// DefaultStrayVethGrace is how long a stray workload veth pair stays
// before felix deletes it.
const DefaultStrayVethGrace = 3 * time.Minute

// strayPair is a workload veth pair with both ends in this namespace.
type strayPair struct {
	index     int
	firstSeen time.Time
}

// reapStrayVeths deletes the workload veth pairs that nobody owns and that
// were first seen at least the grace ago, and starts the clock for new
// ones. owned holds the host-side names of this node's endpoints.
func (k *kernelState) reapStrayVeths(owned map[string]bool, now time.Time) error {
	links, err := k.listLinks(false)
	if err != nil {
		return err
	}
	seen := map[string]strayPair{}
	var errs []error
	for name, link := range links {
		if owned[name] || !k.isStrayPair(link, links) {
			continue
		}
		s, ok := k.strays[name]
		if !ok || s.index != link.Attrs().Index {
			s = strayPair{index: link.Attrs().Index, firstSeen: now}
		}
		if now.Sub(s.firstSeen) < k.cfg.StrayVethGrace {
			seen[name] = s
			continue
		}
		if err := k.nl.LinkDel(link); err != nil && !isLinkNotFound(err) {
			errs = append(errs, fmt.Errorf("delete stray veth %s: %w", name, err))
			seen[name] = s
			continue
		}
		k.log.Warn("Deleted a stray workload veth: both ends on the host, no endpoint of this node owns it",
			"iface", name, "peer", peerName(link, links), "strayFor", now.Sub(s.firstSeen).Round(time.Second))
	}
	k.strays = seen
	return errors.Join(errs...)
}

// isStrayPair tells whether link is the host end of a workload veth whose
// peer is in this namespace too.
func (k *kernelState) isStrayPair(link netlink.Link, links map[string]netlink.Link) bool {
	a := link.Attrs()
	if link.Type() != "veth" || !strings.HasPrefix(a.Name, k.cfg.InterfacePrefix) || a.NetNsID >= 0 || a.ParentIndex == 0 {
		return false
	}
	return peerName(link, links) != ""
}

// peerName returns the name of link's peer when it is in links: a veth
// whose own peer is link (an index alone could name a link of another
// namespace).
func peerName(link netlink.Link, links map[string]netlink.Link) string {
	for name, l := range links {
		a := l.Attrs()
		if a.Index == link.Attrs().ParentIndex && l.Type() == "veth" && a.ParentIndex == link.Attrs().Index && a.NetNsID < 0 {
			return name
		}
	}
	return ""
}

// ownedInterfaces is the set of host-side interfaces of this node's
// endpoints: felix's own and, when configured, the caller's fresher view.
func (k *kernelState) ownedInterfaces(eps []Endpoint) map[string]bool {
	owned := make(map[string]bool, len(eps))
	for _, ep := range eps {
		owned[ep.IfaceName] = true
	}
	if k.cfg.OwnedInterfaces != nil {
		for _, name := range k.cfg.OwnedInterfaces() {
			owned[name] = true
		}
	}
	return owned
}
