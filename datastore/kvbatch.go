package datastore

import (
	"context"
	"errors"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Unreachable reports whether err means etcd could not be reached or did
// not answer in time (for a write: its outcome is unknown).
func Unreachable(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		if s, ok := status.FromError(e); ok {
			switch s.Code() {
			case codes.Unavailable, codes.DeadlineExceeded:
				return true
			case codes.Unknown:
				// The server's side of the same deadline: etcd returns
				// its request context's error, which gRPC sends as
				// Unknown with the error's text.
				if s.Message() == context.DeadlineExceeded.Error() {
					return true
				}
			}
		}
	}
	return false
}

// GetKeys reads several keys in one round trip, at one revision. Absent
// keys are missing from the map; with keysOnly the values are left out.
func (s *Store) GetKeys(ctx context.Context, keys []string, keysOnly bool) (map[string]KV, int64, error) {
	ops := make([]clientv3.Op, len(keys))
	for i, k := range keys {
		if keysOnly {
			ops[i] = clientv3.OpGet(k, clientv3.WithKeysOnly())
		} else {
			ops[i] = clientv3.OpGet(k)
		}
	}
	resp, err := s.cli.Txn(ctx).Then(ops...).Commit()
	if err != nil {
		return nil, 0, fmt.Errorf("read %d keys: %w", len(keys), err)
	}
	out := make(map[string]KV, len(keys))
	for _, r := range resp.Responses {
		for _, k := range r.GetResponseRange().Kvs {
			out[string(k.Key)] = kvOf(k.Key, k.Value, k.ModRevision, k.CreateRevision)
		}
	}
	return out, resp.Header.Revision, nil
}
