package nft

import "github.com/google/nftables"

// CommitRaw queues what queue adds on the driver's encoder and commits it
// as one transaction through the driver's transport (one datagram, one
// answer), leaving what the driver knows of the kernel alone: for
// benchmarks writing tables of their own.
func (d *Driver) CommitRaw(queue func(c *nftables.Conn)) error {
	queue(d.tx.build)
	return d.tx.commit(nil)
}

// Sent is how many messages the last Apply's transaction held (0: the
// kernel already held the desired state, nothing was sent).
func (d *Driver) Sent() int { return d.tx.sent }

// NetdevDumps counts the driver's dumps of the netdev family's chains.
func (d *Driver) NetdevDumps() int { return d.netdevDumps }
