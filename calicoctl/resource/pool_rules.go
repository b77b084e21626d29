package resource

import (
	"context"
	"slices"

	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// IP pools follow Calico's rules on every write (package ipam checks
// them): no overlap with another pool or with another pool of the same
// file, CIDR and blockSize fixed once created, no deletion while addresses
// are allocated, and a deletion takes the pool's empty blocks with it.

// checkPoolWrites checks every IPPool of todo (the objects of objs about
// to be created or replaced); it returns one error per refused object.
func checkPoolWrites(ctx context.Context, st *datastore.Store, objs, todo []resources.Resource) ([]cli.ObjectError, error) {
	var batch []*resources.IPPool
	var idx []int
	for i, o := range objs {
		if p, ok := o.(*resources.IPPool); ok && slices.Contains(todo, o) {
			p.Default() // as the write will
			batch = append(batch, p)
			idx = append(idx, i)
		}
	}
	if len(batch) == 0 {
		return nil, nil
	}
	alloc := cli.NewAllocator(st)
	var errs []cli.ObjectError
	for j, p := range batch {
		if err := alloc.CheckPoolWrite(ctx, p, batch); err != nil {
			errs = append(errs, cli.ObjectError{Index: idx[j] + 1, Err: err})
		}
	}
	return errs, nil
}

// deleteObject deletes one object; an IPPool goes through the pool rules.
func deleteObject(ctx context.Context, st *datastore.Store, obj resources.Resource) error {
	m := obj.Meta()
	if obj.GetTypeMeta().Kind == resources.KindIPPool {
		_, err := cli.NewAllocator(st).DeletePool(ctx, m.Name, m.ResourceVersion)
		return err
	}
	_, err := st.Delete(ctx, obj.GetTypeMeta().Kind, m.Namespace, m.Name, m.ResourceVersion)
	return err
}
