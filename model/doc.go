// Package model holds the neutral, typed form of what the datastore
// syncer delivers: one Update per change of one object (a Calico v3
// resource, an IPAM block or a block affinity) and SyncEvents that carry
// them, plus the decoded IPAM views the consumers read (Block,
// Allocation, Affinity).
//
// It imports only package resources and the standard library, so the
// calculation graph, felix and routing can consume sync events without
// linking etcd. Values reached through an Update are shared by every
// consumer: nobody mutates them.
package model
