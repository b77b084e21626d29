package felix

import (
	"errors"
	"fmt"
	"strings"

	"github.com/vishvananda/netlink"
)

// The endpoint side's interfaces between dumps. Every endpoint sync binds
// each endpoint to its interface, and dumping every link of the host for
// that cost a container start 17–29 ms on a host of 2,000 interfaces and
// ~170 ms on one of 20,000 (BenchmarkPolicyApply/…/endpoint-start), for
// one interface that changed. As Calico's felix keeps interfaces from link
// events, the sync now dumps the links only at a full resync (every
// ResyncInterval), when many interfaces' settings are to be checked
// (checkMany), after any failure of the endpoint side, and after the
// kernel watcher (re)subscribed (it may have missed events). In between it
// keeps the last dump and looks up by name only the interfaces the watcher
// reported (linkChanged: one that came, went, was renamed or set up or
// down) and the endpoints' interfaces the cache lacks (one not there yet
// is looked up at each sync until it comes) or that the watcher does not
// follow (a name without the workload prefix).

// endpointLinks returns the interfaces by name for an endpoint sync, and
// whether it dumped them.
func (k *kernelState) endpointLinks(snap snapshot, full bool) (map[string]netlink.Link, bool, error) {
	clear(k.relinked)
	settings := k.checkMany(snap.endpoints)
	if full || settings || snap.linksStale || k.linkCache == nil {
		links, err := k.listLinks(settings)
		if err != nil {
			return nil, false, err
		}
		k.linkCache = links
		return links, true, nil
	}
	for name := range snap.dirtyLinks {
		if err := k.lookupLink(name); err != nil {
			return nil, false, err
		}
	}
	for _, ep := range snap.endpoints {
		_, cached := k.linkCache[ep.IfaceName]
		if snap.dirtyLinks[ep.IfaceName] || (cached && strings.HasPrefix(ep.IfaceName, k.cfg.InterfacePrefix)) {
			continue
		}
		if err := k.lookupLink(ep.IfaceName); err != nil {
			return nil, false, err
		}
	}
	return k.linkCache, false, nil
}

// lookupLink brings the cache's entry for interface name up to date, and
// notes its old and new ifindex as relinked.
func (k *kernelState) lookupLink(name string) error {
	if k.relinked == nil {
		k.relinked = map[int]bool{}
	}
	if old, ok := k.linkCache[name]; ok {
		k.relinked[old.Attrs().Index] = true
	}
	l, err := k.nl.LinkByName(name)
	if _, gone := errors.AsType[netlink.LinkNotFoundError](err); gone {
		delete(k.linkCache, name)
		return nil
	}
	if err != nil {
		return fmt.Errorf("look up interface %s: %w", name, err)
	}
	k.linkCache[name] = l
	k.relinked[l.Attrs().Index] = true
	return nil
}
