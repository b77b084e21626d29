// Package memberurl turns an etcd member's advertised URLs into those
// another host dials. It is apart from package datastore so that the
// embedded member (package embedded, which datastore's tests reach through
// testenv) can use it too.
package memberurl

import (
	"net"
	"net/url"
)

// Reachable are a member's client URLs as another host dials them: a
// loopback client URL (a first host that later became reachable) is
// replaced by the peer URL's host with the client port.
func Reachable(clientURLs, peerURLs []string) []string {
	if len(peerURLs) == 0 {
		return clientURLs
	}
	peer, err := url.Parse(peerURLs[0])
	if err != nil || isLoopbackHost(peer.Hostname()) {
		return clientURLs
	}
	out := make([]string, 0, len(clientURLs))
	for _, c := range clientURLs {
		u, err := url.Parse(c)
		if err == nil && isLoopbackHost(u.Hostname()) {
			u.Host = net.JoinHostPort(peer.Hostname(), u.Port())
			c = u.String()
		}
		out = append(out, c)
	}
	return out
}

func isLoopbackHost(h string) bool {
	ip := net.ParseIP(h)
	return h == "localhost" || (ip != nil && ip.IsLoopback())
}
