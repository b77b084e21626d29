package driver

import "errors"

// errNameUnknown: Docker did not tell a network's name, but the network
// has an explicit profile (--opt org.projectcalico.profile=NAME) and
// works without it; its endpoints only lack the network label.
//
// completeNetwork returns it (with the record) instead of logging, so that
// the background lookup right after CreateNetwork, which runs before
// Docker has stored the network, retries quietly like it does for
// networks named after their profile, and only a lookup at an endpoint
// that still fails is reported.
var errNameUnknown = errors.New("network name unknown")

// nameOptional turns errNameUnknown into a warning and the record.
func (d *Driver) nameOptional(rec *Network, err error) (*Network, error) {
	if errors.Is(err, errNameUnknown) {
		d.log.Warn("Network name unknown; its endpoints get no network label", "network", rec.ID, "err", err)
		return rec, nil
	}
	return rec, err
}
