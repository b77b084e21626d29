package model_test

import (
	"context"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
	"github.com/calico-docker/calico-libnetwork/ipam"
	"github.com/calico-docker/calico-libnetwork/model"
)

// TestDecodeBlockMatchesIPAM decodes blocks package ipam really wrote
// and compares them with ipam's own reading of them.
func TestDecodeBlockMatchesIPAM(t *testing.T) {
	_, cli := testenv.StartEtcd(t)
	store := datastore.New(cli)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a1, a2 := ipam.New(store, "host1"), ipam.New(store, "host2")
	if err := a1.EnsureDefaultPool(ctx, "10.80.0.0/16"); err != nil {
		t.Fatal(err)
	}
	v4, _, err := a1.AutoAssign(ctx, ipam.AutoAssignArgs{Handle: "h1", Num4: 5, Attrs: map[string]string{"container": "c1"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a2.AutoAssign(ctx, ipam.AutoAssignArgs{Handle: "h2", Num4: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := a1.ReleaseIPs(ctx, v4[1]); err != nil {
		t.Fatal(err)
	}
	want, err := a1.Blocks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	kvs, _, err := store.ListKeys(ctx, datastore.BlockPrefix, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(kvs) != len(want) || len(want) < 2 {
		t.Fatalf("%d stored blocks, ipam lists %d", len(kvs), len(want))
	}
	for i, kv := range kvs {
		b, err := model.DecodeBlock(kv.Value)
		if err != nil {
			t.Fatal(err)
		}
		w := want[i]
		if b.CIDR != w.CIDR || b.Affinity != w.Affinity || b.Size != w.Size || b.Free() != w.Free || len(b.Allocations) != len(w.Allocations) {
			t.Fatalf("block %s decoded as %+v, ipam reads %+v", kv.Key, b, w)
		}
		for j, al := range b.Allocations {
			wa := w.Allocations[j]
			if al.IP != wa.IP || al.Handle != wa.Handle || !reflect.DeepEqual(al.Attrs, wa.Attrs) || al.Node(b) != wa.Attrs[model.AttrNode] {
				t.Fatalf("allocation %d of %s = %+v, ipam reads %+v", j, b.CIDR, al, wa)
			}
		}
	}
}

func TestDecodeBlockRejects(t *testing.T) {
	for name, in := range map[string]string{
		"not json":        `{`,
		"bad cidr":        `{"cidr":"10.0.0.1/26","allocations":[]}`,
		"too big":         `{"cidr":"10.0.0.0/8","allocations":[]}`,
		"slots":           `{"cidr":"10.0.0.0/30","allocations":[null]}`,
		"attribute index": `{"cidr":"10.0.0.0/31","allocations":[3,null],"attributes":[]}`,
	} {
		if _, err := model.DecodeBlock([]byte(in)); err == nil {
			t.Errorf("%s: %s accepted", name, in)
		}
	}
	b, err := model.DecodeBlock([]byte(`{"cidr":"fd00::/127","affinity":"host:h","allocations":[null,0],"attributes":[{"handle_id":"x"}]}`))
	if err != nil || b.Allocations[0].IP != netip.MustParseAddr("fd00::1") || b.Affinity != "h" || b.Free() != 1 {
		t.Fatalf("IPv6 block = %+v, %v", b, err)
	}
}

func FuzzDecodeBlock(f *testing.F) {
	f.Add([]byte(`{"cidr":"10.0.0.0/30","affinity":"host:h","allocations":[0,null,1,null],"attributes":[{"handle_id":"a"},{"secondary":{"node":"n"}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := model.DecodeBlock(data)
		if err != nil {
			return
		}
		if len(b.Allocations) > b.Size {
			t.Fatalf("%d allocations in a block of %d", len(b.Allocations), b.Size)
		}
		for _, a := range b.Allocations {
			if !b.CIDR.Contains(a.IP) {
				t.Fatalf("allocation %s outside %s", a.IP, b.CIDR)
			}
		}
	})
}
