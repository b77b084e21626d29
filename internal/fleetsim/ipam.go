package fleetsim

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"time"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/driver"
)

// The IPAM records of simulated hosts, in package ipam's stored format
// (see ipam/doc.go, "Key layout"): Calico's AllocationBlock as the block
// value, {"state":"confirmed","deleted":false} as the affinity, one
// handle key per address whose value names its block. The keys are built
// from datastore's prefixes, as ipam builds them.

// blockRecord is Calico's AllocationBlock as ipam stores it.
type blockRecord struct {
	CIDR           string      `json:"cidr"`
	Affinity       *string     `json:"affinity"`
	StrictAffinity bool        `json:"strictAffinity"`
	Allocations    []*int      `json:"allocations"`
	Unallocated    []int       `json:"unallocated"`
	Attributes     []attribute `json:"attributes"`
	Deleted        bool        `json:"deleted"`
}

type attribute struct {
	HandleID  *string           `json:"handle_id,omitempty"`
	Secondary map[string]string `json:"secondary,omitempty"`
}

const affinityValue = `{"state":"confirmed","deleted":false}`

func cidrKey(p netip.Prefix) string { return p.Addr().String() + "-" + fmt.Sprint(p.Bits()) }

func blockKey(p netip.Prefix) string { return datastore.BlockPrefix + "ipv4/block/" + cidrKey(p) }

func affinityKey(node string, p netip.Prefix) string {
	return datastore.AffinityPrefix + node + "/ipv4/block/" + cidrKey(p)
}

func handleKey(handle string, ip netip.Addr) string {
	return datastore.HandlePrefix + handle + "/" + ip.String()
}

// blockTxn returns the create-if-absent transaction of block j of host h:
// the block record with its allocations, the affinity and the handles.
func (c Config) blockTxn(h, j int, now time.Time) (datastore.Txn, error) {
	cidr, node := c.block(h, j), c.NodeName(h)
	n := c.blockLen()
	first, last := j*n, min((j+1)*n, c.EndpointsPerHost)
	aff := "host:" + node
	rec := blockRecord{CIDR: cidr.String(), Affinity: &aff, Allocations: make([]*int, n), Unallocated: []int{}, Attributes: []attribute{}}
	var ops []datastore.Op
	for ord := range n {
		i := first + ord
		if i >= last {
			rec.Unallocated = append(rec.Unallocated, ord)
			continue
		}
		handle := driver.Handle(c.endpointID(h, i))
		idx := len(rec.Attributes)
		rec.Allocations[ord] = &idx
		rec.Attributes = append(rec.Attributes, attribute{HandleID: &handle,
			Secondary: map[string]string{"node": node, "timestamp": now.UTC().Format(time.RFC3339)}})
		ops = append(ops, datastore.Put(handleKey(handle, c.EndpointAddr(h, i)), []byte(`{"block":"`+cidr.String()+`"}`)))
	}
	val, err := json.Marshal(rec)
	if err != nil {
		return datastore.Txn{}, fmt.Errorf("encode block %s: %w", cidr, err)
	}
	key := blockKey(cidr)
	ops = append(ops, datastore.Put(key, val), datastore.Put(affinityKey(node, cidr), []byte(affinityValue)))
	return datastore.Txn{If: []datastore.Cond{datastore.Absent(key)}, Then: ops}, nil
}

// writeBlocks stores host h's blocks; a block that exists already is left
// alone (a re-run of Load is a no-op for it).
func (c Config) writeBlocks(ctx context.Context, s *datastore.Store, h int) error {
	for j := range c.blocksPerHost() {
		t, err := c.blockTxn(h, j, time.Now())
		if err != nil {
			return err
		}
		if _, err := s.Commit(ctx, t); err != nil {
			return fmt.Errorf("write IPAM block %s of %s: %w", c.block(h, j), c.NodeName(h), err)
		}
	}
	return nil
}
