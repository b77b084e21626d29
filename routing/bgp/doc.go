// Package bgp is the in-process BGP speaker: a thin owner of one GoBGP
// server (github.com/osrg/gobgp/v3/pkg/server) that converges it on a
// desired configuration and reports what it learned.
//
// # Model
//
// The caller states what it wants with SetDesired: the global identity
// (AS, router ID, listen port), the peers and the prefixes to announce.
// One goroutine (Run) owns the GoBGP server and turns the difference
// between the desired and the applied configuration into AddPeer,
// DeletePeer, AddPath and DeletePath calls; a change of identity restarts
// the server. Failed calls are retried with backoff. Nothing else calls the
// GoBGP server.
//
// What the server learns comes back through a GoBGP watch of best paths:
// Learned returns, per prefix, the best path learned from a peer (locally
// originated paths are left out) and Changes signals every change. Peer
// session states and End-of-RIB markers come from the same watch and feed
// Status and Synced.
//
// # Graceful restart
//
// Every session negotiates graceful restart (RFC 4724) for IPv4 unicast,
// so when this process dies or restarts, its peers keep its routes (marked
// stale) for RestartTime and drop only those not re-announced once the
// session is back and End-of-RIB was sent. A clean stop keeps that promise:
// GoBGP's own stop sends a Cease NOTIFICATION, which tells peers to drop
// the routes at once, so Run first shuts down its established TCP sessions
// (as a crash would), and only then stops the server. Synced tells the
// restarting side when every peer has re-sent its routes (End-of-RIB).
package bgp
