package testbed

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"time"
)

// call posts req to one of the host's plugin sockets ("calico" or
// "calico-ipam") exactly as Docker does and decodes the answer into resp.
// A non-200 answer is an error carrying the plugin's message.
func (h *Host) call(plugin, path string, req, resp any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	sock := filepath.Join(h.PluginDir, plugin+".sock")
	c := http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		}}}
	r, err := c.Post("http://plugin"+path, "application/vnd.docker.plugins.v1.2+json", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("host %s: %s: %w", h.Name, path, err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	if r.StatusCode != http.StatusOK {
		var e struct{ Err string }
		_ = json.Unmarshal(b, &e)
		return fmt.Errorf("host %s: %s: HTTP %d: %s", h.Name, path, r.StatusCode, e.Err)
	}
	if resp != nil {
		if err := json.Unmarshal(b, resp); err != nil {
			return fmt.Errorf("host %s: %s: decode %s: %w", h.Name, path, b, err)
		}
	}
	return nil
}
