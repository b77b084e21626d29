package daemon

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// activate posts /Plugin.Activate to the socket, as Docker does first.
func activate(t *testing.T, path string) string {
	t.Helper()
	c := http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", path)
		}}}
	resp, err := c.Post("http://plugin/Plugin.Activate", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestServeSocketReplacesStaleSocket(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "calico.sock")
	// A socket file nobody listens on, as a crashed run leaves behind.
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	s, err := serveSocket(dir, "calico", httpServer{networkHandler(t)}, quiet)
	if err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	if got := activate(t, path); !strings.Contains(got, "NetworkDriver") {
		t.Errorf("activate answered %q", got)
	}
	// A second daemon must not steal the live socket.
	if _, err := serveSocket(dir, "calico", httpServer{networkHandler(t)}, quiet); err == nil || !strings.Contains(err.Error(), "another process") {
		t.Errorf("second serveSocket: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("socket file still there after Close: %v", err)
	}
}

func TestServeSocketRefusesNonSocket(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "calico.sock"), []byte("x"), 0o600)
	if _, err := serveSocket(dir, "calico", httpServer{networkHandler(t)}, quiet); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("err = %v", err)
	}
}
