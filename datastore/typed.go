package datastore

import (
	"context"
	"errors"
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

// Modify reads one object, applies change and stores it with
// compare-and-swap, reading again and retrying while others change it
// meanwhile. It returns the object as stored; change's error stops it.
func Modify[T resources.Resource](ctx context.Context, s *Store, namespace, name string, change func(T) error) (T, error) {
	var zero T
	for range 5 {
		obj, err := GetAs[T](ctx, s, namespace, name)
		if err != nil {
			return zero, err
		}
		if err := change(obj); err != nil {
			return zero, err
		}
		stored, err := s.Update(ctx, obj)
		if errors.Is(err, ErrConflict) {
			continue
		}
		if err != nil {
			return zero, err
		}
		return stored.(T), nil
	}
	return zero, fmt.Errorf("update %s %q: it kept changing under us; retry: %w", kindOf[T](), name, ErrConflict)
}

// ModifyNode is Modify for a Node (routing's NodeStore).
func (s *Store) ModifyNode(ctx context.Context, name string, change func(*resources.Node) error) (*resources.Node, error) {
	return Modify(ctx, s, "", name, change)
}
