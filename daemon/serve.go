package daemon

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Plugin socket names: Docker finds plugin <name> at <plugin_dir>/<name>.sock.
const (
	NetworkPluginName = "calico"
	IPAMPluginName    = "calico-ipam"
)

// server serves the plugin protocol on a listener (httpServer).
type server interface{ Serve(net.Listener) error }

// socket is one plugin socket being served.
type socket struct {
	path string
	l    net.Listener
	done chan error
}

// serveSocket listens on <dir>/<name>.sock and serves h on it. A socket
// file left by a crashed run is removed; one that another live process
// answers on is an error (two daemons must not share a plugin name).
func serveSocket(dir, name string, h server, log *slog.Logger) (*socket, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("plugin dir %s: %w", dir, err)
	}
	path := filepath.Join(dir, name+".sock")
	if err := claimSocketPath(path, log); err != nil {
		return nil, err
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	s := &socket{path: path, l: l, done: make(chan error, 1)}
	go func() { s.done <- h.Serve(l) }()
	log.Info("Serving plugin", "plugin", name, "socket", path)
	return s, nil
}

// claimSocketPath makes path free for a new socket.
func claimSocketPath(path string, log *slog.Logger) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("plugin socket %s: %w", path, err)
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("%s exists and is not a socket: move it away, or set plugin_dir", path)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("another process is serving %s: stop it first (only one calico-libnetwork may run per plugin dir)", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove stale socket %s: %w", path, err)
	}
	log.Info("Removed stale plugin socket", "socket", path)
	return nil
}

// Close stops accepting requests and removes the socket file.
func (s *socket) Close() error {
	err := s.l.Close()
	<-s.done
	if rerr := os.Remove(s.path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
		err = errors.Join(err, rerr)
	}
	return err
}
