package dockerapi

import (
	"context"
	"errors"
	"fmt"

	"github.com/moby/moby/client"
)

// ErrNotFound means the engine does not know the object (yet).
var ErrNotFound = errors.New("not found by the Docker engine")

// DefaultHost is used when no host is configured and DOCKER_HOST is unset.
const DefaultHost = client.DefaultDockerHost

// Client talks to one Docker engine. It is safe for concurrent use.
type Client struct {
	host string
	c    *client.Client
}

// New returns a client for host (for example unix:///var/run/docker.sock or
// tcp://127.0.0.1:2375); an empty host means DefaultHost. Nothing is dialled
// until the first call.
func New(host string) (*Client, error) {
	if host == "" {
		host = DefaultHost
	}
	u, err := client.ParseHostURL(host)
	if err == nil && u.Scheme != "unix" && u.Scheme != "tcp" && u.Scheme != "http" && u.Scheme != "https" {
		err = fmt.Errorf("unsupported scheme %q", u.Scheme)
	}
	if err != nil {
		return nil, fmt.Errorf("docker host %q: %w (use the form unix:///var/run/docker.sock or tcp://HOST:PORT)", host, err)
	}
	c, err := client.New(client.WithHost(host))
	if err != nil {
		return nil, fmt.Errorf("docker host %q: %w (use the form unix:///var/run/docker.sock or tcp://HOST:PORT)", host, err)
	}
	return &Client{host: host, c: c}, nil
}

// Host returns the engine address this client uses.
func (c *Client) Host() string { return c.host }

// Close releases idle connections.
func (c *Client) Close() error { return c.c.Close() }

// NetworkName returns the name of the network with the given ID.
func (c *Client) NetworkName(ctx context.Context, id string) (string, error) {
	info, err := c.inspectNetwork(ctx, id)
	if err != nil {
		return "", err
	}
	if info.Name == "" {
		return "", fmt.Errorf("docker network %s: the engine returned no name", id)
	}
	return info.Name, nil
}
