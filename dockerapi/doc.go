// Package dockerapi is the daemon's small window on the Docker Engine API.
//
// The libnetwork remote-driver protocol never tells a driver a network's
// name (only its ID) nor which container an endpoint belongs to, so the
// driver asks the engine: network names, the endpoints of a network with
// their containers, a container's name and labels, and the stream of
// network connect events. The calls used while a container starts (network
// inspect, container list) are ones the engine answers without the
// container's lock, which it holds for the whole start. This package keeps the Docker client library
// (github.com/moby/moby/client, which negotiates the API version down to
// Docker 20.10's 1.41) behind a few methods, so the driver depends on a
// two-line interface and tests can run against a real engine or none.
//
// Invariants: every call is bounded by its context; "no such object" is
// reported as ErrNotFound (errors.Is) so callers can poll for a network that
// Docker has not stored yet (it calls CreateNetwork before storing it).
package dockerapi
