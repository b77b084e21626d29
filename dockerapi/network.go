package dockerapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// networkInfo is the part of a network inspect the driver reads.
type networkInfo struct {
	Name       string
	Containers map[string]networkMember // by container ID
}

// networkMember is one container's endpoint in a network inspect.
type networkMember struct{ EndpointID, Name string }

// inspectNetwork reads a network through the moby client and, when that
// fails other than by "not found", again through a plain GET decoded into
// networkInfo alone. dockerd 20.10 renders the IPv6 gateway an IPAM driver
// handed out as a CIDR (calico-ipam's "::/0": buildIpamResources prints the
// IPv6 gateway with IPNet.String, the IPv4 one with IP.String), which the
// moby API types (netip.Addr) refuse, failing the whole inspect of every
// IPv6 network created without --subnet.
func (c *Client) inspectNetwork(ctx context.Context, id string) (networkInfo, error) {
	res, err := c.c.NetworkInspect(ctx, id, client.NetworkInspectOptions{})
	if err == nil {
		info := networkInfo{Name: res.Network.Name, Containers: map[string]networkMember{}}
		for cid, ep := range res.Network.Containers {
			info.Containers[cid] = networkMember{ep.EndpointID, ep.Name}
		}
		return info, nil
	}
	if cerrdefs.IsNotFound(err) {
		return networkInfo{}, fmt.Errorf("docker network %s: %w", id, ErrNotFound)
	}
	info, rerr := c.inspectNetworkRaw(ctx, id)
	if rerr != nil {
		return networkInfo{}, fmt.Errorf("inspect docker network %s via %s: %w", id, c.host, err)
	}
	return info, nil
}

// inspectNetworkRaw GETs /networks/{id} over the client's own connection
// (unversioned: the engine answers with its current API version).
func (c *Client) inspectNetworkRaw(ctx context.Context, id string) (networkInfo, error) {
	dial := c.c.Dialer()
	hc := http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx) },
	}}
	defer hc.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker/networks/"+url.PathEscape(id), nil)
	if err != nil {
		return networkInfo{}, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return networkInfo{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return networkInfo{}, fmt.Errorf("engine answered %s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	var info networkInfo
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		return networkInfo{}, fmt.Errorf("decode network %s: %w", id, err)
	}
	return info, nil
}
