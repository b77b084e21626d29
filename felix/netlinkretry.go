package felix

import (
	"errors"
	"fmt"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// dumpAttempts bounds how often a netlink dump is retried when the kernel
// reports it was interrupted by a concurrent change.
const dumpAttempts = 5

// retryDump runs a netlink list call until it returns a consistent result:
// a dump can fail with EINTR or netlink.ErrDumpInterrupted (partial, possibly
// inconsistent results) when the table changes while it is read.
func retryDump[T any](what string, list func() (T, error)) (T, error) {
	var (
		res T
		err error
	)
	for range dumpAttempts {
		res, err = list()
		if err == nil {
			return res, nil
		}
		if !errors.Is(err, netlink.ErrDumpInterrupted) && !errors.Is(err, unix.EINTR) {
			break
		}
	}
	var zero T
	return zero, fmt.Errorf("list %s: %w", what, err)
}
