package datastore

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestUnreachable: every form in which etcd's client reports a call that
// got no answer in time, and errors that are answers.
func TestUnreachable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{context.DeadlineExceeded, true},
		{fmt.Errorf("list IPPool: %w", context.DeadlineExceeded), true},
		{status.Error(codes.Unavailable, "connection refused"), true},
		{status.Error(codes.DeadlineExceeded, "context deadline exceeded"), true},
		// The server's side of the caller's deadline (seen with a
		// member that lost quorum).
		{fmt.Errorf("list IPPool: %w", status.Error(codes.Unknown, "context deadline exceeded")), true},
		{status.Error(codes.Unknown, "something else"), false},
		{status.Error(codes.InvalidArgument, "context deadline exceeded"), false},
		{errors.New("key not found"), false},
		{context.Canceled, false},
	} {
		if got := Unreachable(tc.err); got != tc.want {
			t.Errorf("Unreachable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
