package dockerapi

import (
	"context"
	"fmt"
	"strings"

	"github.com/moby/moby/client"
)

// Container is what the driver needs to know of a container.
type Container struct {
	ID     string
	Name   string            // without Docker's leading '/'
	Labels map[string]string // as given to docker run --label (never nil)
}

// EndpointOwner is the container an endpoint of a network belongs to.
type EndpointOwner struct {
	ContainerID   string
	ContainerName string
}

// NetworkEndpoints returns, for each endpoint of the network on this
// engine, the container that owns it, keyed by endpoint ID. The engine
// lists an endpoint once the container has joined it (Join has returned).
//
// Unlike a container inspect, a network inspect does not wait for the
// container's lock, which Docker holds for the whole of a container's
// start: it answers within milliseconds even while the container starts.
func (c *Client) NetworkEndpoints(ctx context.Context, networkID string) (map[string]EndpointOwner, error) {
	info, err := c.inspectNetwork(ctx, networkID)
	if err != nil {
		return nil, err
	}
	out := make(map[string]EndpointOwner, len(info.Containers))
	for cid, ep := range info.Containers {
		if ep.EndpointID == "" {
			continue
		}
		out[ep.EndpointID] = EndpointOwner{ContainerID: cid, ContainerName: strings.TrimPrefix(ep.Name, "/")}
	}
	return out, nil
}

// Container returns a container's name and labels. It reads the engine's
// container list (filtered by ID), which, unlike a container inspect,
// does not wait while the container is starting.
func (c *Client) Container(ctx context.Context, id string) (Container, error) {
	if id == "" {
		return Container{}, fmt.Errorf("docker container: empty ID: %w", ErrNotFound)
	}
	res, err := c.c.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("id", id)})
	if err != nil {
		return Container{}, fmt.Errorf("list docker container %s via %s: %w", id, c.host, err)
	}
	for _, s := range res.Items {
		if s.ID != id { // the filter matches ID prefixes too
			continue
		}
		ct := Container{ID: s.ID, Labels: s.Labels}
		if len(s.Names) > 0 {
			ct.Name = strings.TrimPrefix(s.Names[0], "/")
		}
		if ct.Labels == nil {
			ct.Labels = map[string]string{}
		}
		return ct, nil
	}
	return Container{}, fmt.Errorf("docker container %s: %w", id, ErrNotFound)
}
