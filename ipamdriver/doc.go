// Package ipamdriver is the Docker libnetwork IPAM driver "calico-ipam": a
// thin adapter from the remote IPAM plugin protocol to package ipam.
//
// Protocol: Docker POSTs JSON to /Plugin.Activate and
// /IpamDriver.{GetCapabilities,GetDefaultAddressSpaces,RequestPool,
// ReleasePool,RequestAddress,ReleaseAddress} (request and response types
// are go-plugins-helpers' ipam package, which mirrors libnetwork's
// ipams/remote/api). A failure is a non-200 answer with {"Err": "..."},
// which Docker shows to the user, so every message says what was wrong
// and what to do.
//
// Behaviour:
//
//   - RequestPool without --subnet serves every enabled pool of the family:
//     PoolID "CalicoPoolIPv4" (or "CalicoPoolIPv6"), Pool "0.0.0.0/0" (or
//     "::/0"). With --subnet the subnet must equal an existing pool's CIDR
//     (PoolID is then that CIDR, which stays valid if the pool is renamed
//     or recreated) or overlap no pool, in which case a pool is created for
//     it: name "docker-" + the CIDR with '.', ':' and '/' turned into '-',
//     natOutgoing true (containers reach outside networks as on Docker's
//     bridge, like the default pool), the default block size (or the
//     subnet's length when the subnet is smaller than a block). A partial
//     overlap is refused naming the pool. Data always carries
//     "com.docker.network.gateway": "0.0.0.0/0" ("::/0"), as Calico's
//     plugin does, so Docker does not take a gateway address from the pool:
//     workloads route via 169.254.1.1.
//   - --ip-range (SubPool), any --ipam-opt, an unknown address space and
//     IPv6 without an enabled IPv6 pool are refused, never ignored.
//   - RequestAddress with an address (docker run --ip, --aux-address)
//     assigns exactly that address; without one it auto-assigns from the
//     network's pool(s). Docker's gateway request (RequestAddressType
//     com.docker.network.gateway) consumes nothing: without an address it
//     gets the dummy 0.0.0.0/0 (::/0) back; with one (--gateway) it is
//     refused. Addresses come back as /32 (/128).
//   - The address is assigned before Docker creates the endpoint, so it is
//     recorded against a provisional handle "docker-ipam-<16 hex digits>"
//     with attributes node, requested-at (RFC 3339) and docker-pool-id; the
//     network driver re-owns it to the endpoint (ipam.Allocator.SetHandle)
//     at CreateEndpoint. A provisional handle that outlives its request
//     (a crash between the two) is what a GC looks for.
//   - ReleaseAddress of the dummy gateway succeeds; of an address that is
//     already free it succeeds and changes nothing (a repeat whose first
//     answer was lost). Docker never retries a release, so one that etcd
//     does not answer is recorded as a durable intent (ipam.Intents) and
//     applied when etcd answers; the call then succeeds.
//   - With etcd unreachable a request fails within a few seconds (each
//     etcd call has ipam.DefaultCallTimeout) with an error saying so. ReleasePool changes nothing: pools, including
//     those created for a --subnet, are user data, removed with calicoctl.
//   - Requests are decoded strictly: malformed JSON, unknown fields,
//     trailing data and bodies over 64 KiB are refused before anything is
//     written. Every refused request leaves etcd unchanged.
package ipamdriver
