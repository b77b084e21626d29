package driver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/calico-docker/calico-libnetwork/datastore"
)

// NetworkKeyPrefix is where the driver keeps one record per Docker network:
//
//	/calico/libnetwork/v1/networks/<docker network ID>   JSON Network
//
// Docker itself keeps networks in its local store and replays nothing to a
// restarted plugin, so the record is what lets a restarted daemon (or
// another handler) know a network's profile and pools.
const NetworkKeyPrefix = datastore.LibnetworkPrefix + "networks/"

// ErrUnknownNetwork is returned for a network ID with no record.
var ErrUnknownNetwork = errors.New("network not known to the calico driver")

// Network is the driver's record of one Docker network.
type Network struct {
	ID string `json:"id"`
	// Name is Docker's name for the network; empty until learnt from the
	// Docker API (Docker does not send it, and cannot answer for it before
	// CreateNetwork returns).
	Name string `json:"name,omitempty"`
	// Profile is the Calico profile every endpoint of the network gets. It
	// is empty while it still has to be taken from Name (no
	// org.projectcalico.profile option was given).
	Profile string `json:"profile,omitempty"`
	// ProfileFromName records that Profile defaults to the network name.
	ProfileFromName bool `json:"profileFromName,omitempty"`
	// Namespace is the namespace of the network's WorkloadEndpoints (--opt
	// org.projectcalico.namespace); empty means "default" (namespace.go).
	Namespace string `json:"namespace,omitempty"`
	// IPv4Pools and IPv6Pools are the pools Docker got from calico-ipam:
	// the --subnet CIDRs, or 0.0.0.0/0 (::/0) for "any Calico pool".
	IPv4Pools []string  `json:"ipv4Pools,omitempty"`
	IPv6Pools []string  `json:"ipv6Pools,omitempty"`
	IPv6      bool      `json:"ipv6,omitempty"`
	Created   time.Time `json:"created"`

	rev int64 // etcd mod revision the record was read at
}

// subnets returns the network's own CIDRs (from --subnet), IPv4 then
// IPv6; the catch-all pools are left out.
func (n *Network) subnets() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range append(slices.Clone(n.IPv4Pools), n.IPv6Pools...) {
		if p, err := netip.ParsePrefix(s); err == nil && p.Bits() > 0 {
			out = append(out, p.Masked())
		}
	}
	return out
}

// records stores Network records through the datastore's one
// compare-and-swap path (datastore.Commit), under NetworkKeyPrefix.
type records struct{ store *datastore.Store }

func networkKey(id string) string { return NetworkKeyPrefix + id }

func (r records) get(ctx context.Context, id string) (*Network, error) {
	kv, ok, err := r.store.GetKey(ctx, networkKey(id))
	if err != nil {
		return nil, fmt.Errorf("read record of network %s: %w", id, err)
	}
	if !ok {
		return nil, fmt.Errorf("network %s: %w", id, ErrUnknownNetwork)
	}
	var n Network
	if err := json.Unmarshal(kv.Value, &n); err != nil {
		return nil, fmt.Errorf("decode record of network %s (%s): %w", id, networkKey(id), err)
	}
	n.rev = kv.ModRevision
	return &n, nil
}

// errRecordChanged means an update lost a race (the record changed or went).
var errRecordChanged = errors.New("network record changed meanwhile")

// update replaces a record read by get, only if it has not changed since.
func (r records) update(ctx context.Context, n *Network) error {
	b, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("encode record of network %s: %w", n.ID, err)
	}
	key := networkKey(n.ID)
	res, err := r.store.Commit(ctx, datastore.Txn{If: []datastore.Cond{datastore.At(key, n.rev)}, Then: []datastore.Op{datastore.Put(key, b)}})
	if err != nil {
		return fmt.Errorf("update record of network %s: %w", n.ID, err)
	}
	if !res.Succeeded {
		return fmt.Errorf("update record of network %s: %w", n.ID, errRecordChanged)
	}
	n.rev = res.Revision
	return nil
}

func (r records) put(ctx context.Context, n *Network) error {
	b, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("encode record of network %s: %w", n.ID, err)
	}
	if _, err := r.store.Commit(ctx, datastore.Txn{Then: []datastore.Op{datastore.Put(networkKey(n.ID), b)}}); err != nil {
		return fmt.Errorf("store record of network %s: %w", n.ID, err)
	}
	return nil
}

// delete removes a record; a missing record is not an error.
func (r records) delete(ctx context.Context, id string) error {
	if _, err := r.store.Commit(ctx, datastore.Txn{Then: []datastore.Op{datastore.Del(networkKey(id))}}); err != nil {
		return fmt.Errorf("delete record of network %s: %w", id, err)
	}
	return nil
}

// List returns every network record (for status commands and tests).
func List(ctx context.Context, store *datastore.Store) ([]Network, error) {
	kvs, _, err := store.ListKeys(ctx, NetworkKeyPrefix, false)
	if err != nil {
		return nil, fmt.Errorf("list network records: %w", err)
	}
	out := make([]Network, 0, len(kvs))
	for _, kv := range kvs {
		var n Network
		if err := json.Unmarshal(kv.Value, &n); err != nil {
			return nil, fmt.Errorf("decode %s: %w", kv.Key, err)
		}
		out = append(out, n)
	}
	return out, nil
}
