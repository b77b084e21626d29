// Package cache is the daemon's one in-memory copy of the datastore: it
// applies the syncer's events (model.SyncEvent), holds each object once
// and answers the questions the request paths and the calculation graph
// ask, in O(answer), never by listing the cluster.
//
// # Invariants
//
//   - Each object is held once, as the pointer the syncer decoded; every
//     answer and every subscriber shares it. Nobody mutates what it gets.
//   - A re-list of a key space (the syncer's Full event, after a watch
//     compaction or an etcd restart) is diffed against what the cache
//     held: subscribers see only real changes, deletes included, never a
//     second snapshot. An object whose revision did not change keeps its
//     pointer.
//   - Indexes (endpoints by node, by this node's sandbox, by Docker
//     network; blocks by affinity node) change under the same lock as the
//     objects, so an answer is always consistent with one point of the
//     stream of each key space.
//
// # Subscriptions
//
// Subscribe delivers, from the subscriber's own goroutine, one Full event
// with every object of the subscribed kinds once all of them have been
// listed, then the changes in order. The cache never waits for a
// subscriber: changes queue per subscriber and coalesce by object (a
// later change of an object replaces an undelivered earlier one, keeping
// its place), so a subscriber's queue holds at most one entry per object
// of its kinds — bounded by the cache's size, and only pointers.
package cache
