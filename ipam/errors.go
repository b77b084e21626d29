package ipam

import (
	"errors"
	"fmt"
	"net/netip"
)

// Errors callers branch on with errors.Is. Every error returned by the
// Allocator wraps one of these or an etcd/datastore error, and its text
// names the object and says what to do.
var (
	// ErrNoPool: no enabled IP pool matches the request.
	ErrNoPool = errors.New("no matching IP pool")
	// ErrPoolDisabled: the address lies in a pool with spec.disabled set.
	ErrPoolDisabled = errors.New("IP pool is disabled")
	// ErrExhausted: the eligible pools have no free address left.
	ErrExhausted = errors.New("no free address left in the IP pools")
	// ErrInUse: an explicitly requested address is already allocated.
	ErrInUse = errors.New("address already in use")
	// ErrNotAllocated: the address is not allocated (e.g. a double release).
	ErrNotAllocated = errors.New("address is not allocated")
	// ErrHandleNotFound: no address is recorded against the handle.
	ErrHandleNotFound = errors.New("handle holds no address")
	// ErrInvalid: the arguments are malformed (bad handle, zero address, ...).
	ErrInvalid = errors.New("invalid IPAM request")
	// ErrConflict: too many concurrent writers on the same block; retry.
	ErrConflict = errors.New("too many concurrent updates of an IPAM block; retry")
	// ErrCorrupt: a stored IPAM record cannot be decoded.
	ErrCorrupt = errors.New("corrupt IPAM record")
)

// InUseError says who holds an address that was requested explicitly.
type InUseError struct {
	IP     netip.Addr
	Handle string // the holder's handle (the endpoint or a provisional handle)
	Node   string // the node that allocated it, when recorded
}

func (e *InUseError) Error() string {
	holder := fmt.Sprintf("handle %q", e.Handle)
	if e.Node != "" {
		holder += fmt.Sprintf(" on node %q", e.Node)
	}
	return fmt.Sprintf("address %s is already in use by %s: choose another address, or remove the container that holds it", e.IP, holder)
}

// Is makes errors.Is(err, ErrInUse) true.
func (e *InUseError) Is(target error) bool { return target == ErrInUse }
