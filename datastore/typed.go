package datastore

import (
	"context"
	"fmt"

	"github.com/calico-docker/calico-libnetwork/resources"
)

// GetAs reads one object as its concrete type, e.g.
// GetAs[*resources.IPPool](ctx, s, "", "default-ipv4-ippool").
func GetAs[T resources.Resource](ctx context.Context, s *Store, namespace, name string) (T, error) {
	var zero T
	kind := kindOf[T]()
	obj, err := s.Get(ctx, kind, namespace, name)
	if err != nil {
		return zero, err
	}
	t, ok := obj.(T)
	if !ok {
		return zero, fmt.Errorf("stored %s %q has type %T", kind, name, obj)
	}
	return t, nil
}

// ListAs lists every object of T's kind as T.
func ListAs[T resources.Resource](ctx context.Context, s *Store, namespace string) ([]T, int64, error) {
	objs, rev, err := s.List(ctx, kindOf[T](), namespace)
	if err != nil {
		return nil, 0, err
	}
	out := make([]T, 0, len(objs))
	for _, o := range objs {
		if t, ok := o.(T); ok {
			out = append(out, t)
		}
	}
	return out, rev, nil
}

// kindOf returns the Kind of T by asking a zero value's registration.
func kindOf[T resources.Resource]() string {
	for _, k := range resources.Kinds() {
		if _, ok := k.New().(T); ok {
			return k.Kind
		}
	}
	panic(fmt.Sprintf("datastore: %T is not a registered resource type", *new(T)))
}
