package dockerapi

import (
	"context"
	"fmt"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// ContainerConfig is a container's environment and labels, as given to
// docker run (-e, --label).
type ContainerConfig struct {
	ID     string
	Env    map[string]string // never nil
	Labels map[string]string // never nil
}

// ContainerConfig inspects a container for its environment. A container
// inspect waits while Docker starts the container (it holds the
// container's lock), so call it in the background, never from a driver
// request, and bound ctx.
func (c *Client) ContainerConfig(ctx context.Context, id string) (ContainerConfig, error) {
	res, err := c.c.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return ContainerConfig{}, fmt.Errorf("docker container %s: %w", id, ErrNotFound)
		}
		return ContainerConfig{}, fmt.Errorf("inspect docker container %s via %s: %w", id, c.host, err)
	}
	out := ContainerConfig{ID: res.Container.ID, Env: map[string]string{}, Labels: map[string]string{}}
	if cfg := res.Container.Config; cfg != nil {
		for _, kv := range cfg.Env {
			k, v, _ := strings.Cut(kv, "=")
			out.Env[k] = v
		}
		for k, v := range cfg.Labels {
			out.Labels[k] = v
		}
	}
	return out, nil
}
