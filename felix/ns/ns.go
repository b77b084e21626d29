// Package ns runs work inside one Linux network namespace: netlink handles,
// /proc/sys access and child processes such as iptables-restore.
//
// The zero-configuration case (empty path) is the calling process's own
// namespace and costs nothing: no thread is switched. For any other namespace,
// Do runs the work on a fresh OS thread that is locked, switched into the
// namespace and then thrown away, so a half-switched thread can never run
// other goroutines.
package ns

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"runtime"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// NS is a handle on one network namespace. It is safe for concurrent use.
type NS struct {
	path   string
	handle netns.NsHandle // -1 when path is empty (current namespace)
}

// Open returns a handle on the namespace at path (for example
// /run/netns/host1 or /proc/<pid>/ns/net). An empty path means the calling
// process's own namespace.
func Open(path string) (*NS, error) {
	if path == "" {
		return &NS{handle: -1}, nil
	}
	h, err := netns.GetFromPath(path)
	if err != nil {
		return nil, fmt.Errorf("open netns %s: %w", path, err)
	}
	return &NS{path: path, handle: h}, nil
}

// Path returns the namespace path given to Open ("" for the current one).
func (n *NS) Path() string { return n.path }

// IsCurrent reports whether this is the calling process's own namespace.
func (n *NS) IsCurrent() bool { return n.path == "" }

// Handle returns the namespace file handle, or nil for the current namespace;
// it suits the Namespace field of netlink's subscribe options.
func (n *NS) Handle() *netns.NsHandle {
	if n.IsCurrent() {
		return nil
	}
	return &n.handle
}

// Close releases the namespace file descriptor.
func (n *NS) Close() error {
	if n.IsCurrent() || n.handle < 0 {
		return nil
	}
	err := n.handle.Close()
	n.handle = -1
	return err
}

// Do runs fn with the calling code's OS thread inside the namespace.
// Sockets and files opened by fn (for example /proc/sys/net/...) belong to
// the namespace even after Do returns.
func (n *NS) Do(fn func() error) error {
	if n.IsCurrent() {
		return fn()
	}
	errCh := make(chan error, 1)
	go func() {
		// Never unlocked: the runtime terminates the thread when this goroutine
		// exits, so its namespace never leaks to other goroutines.
		runtime.LockOSThread()
		if err := netns.Set(n.handle); err != nil {
			errCh <- fmt.Errorf("enter netns %s: %w", n.path, err)
			return
		}
		errCh <- fn()
	}()
	return <-errCh
}

// NetlinkHandle returns a netlink handle whose sockets live in the namespace.
// The caller must Close it.
func (n *NS) NetlinkHandle() (*netlink.Handle, error) {
	if n.IsCurrent() {
		return netlink.NewHandle()
	}
	h, err := netlink.NewHandleAt(n.handle)
	if err != nil {
		return nil, fmt.Errorf("netlink handle in netns %s: %w", n.path, err)
	}
	return h, nil
}

// Run starts the command inside the namespace, feeds it stdin and returns its
// standard output. A failure includes the command's standard error.
func (n *NS) Run(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := n.Do(cmd.Start); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	if err := cmd.Wait(); err != nil {
		return stdout.Bytes(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err,
			strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}
