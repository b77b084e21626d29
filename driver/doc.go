// Package driver is the calico network driver: a thin adapter from the
// libnetwork remote-driver protocol (request and response types from
// github.com/docker/go-plugins-helpers/network; served by this package's
// own strict Handler) to the datastore (WorkloadEndpoints, Profiles,
// network records), the IPAM allocator (address ownership) and felix
// (veths). Routes, proxy ARP and iptables on the host are not programmed
// here: the daemon's watcher feeds the stored WorkloadEndpoints to felix.
//
// # Handler (handler.go)
//
// One HTTP handler serves every request: a body is one JSON object of the
// method's request type, at most 64 KiB, with no unknown field and nothing
// after it; anything else, and any unknown method, is refused with
// {"Err": ...} before the driver sees it. Each request runs under a
// context with a deadline (Config.RequestTimeout); the undo work of a
// failed request runs on a context of its own.
//
// # Request paths and the cluster's size
//
// No request lists the cluster. A request reads and writes single keys
// (the network record, the endpoint, IPAM blocks and handles), and Join
// learns the other endpoints of its sandbox from the daemon's cache of the
// datastore (Config.Endpoints: EndpointsOfSandbox) and from the endpoints
// this Driver joined itself (local.go), so the etcd work of a container
// start does not grow with the number of hosts or endpoints.
//
// # Requests (as Docker 20.10 sends them; verified on the test engine)
//
//	GetCapabilities  "local" scope: the same network is created on each host;
//	                 "global" fails outside swarm ("not a swarm manager").
//	CreateNetwork    check the pools came from calico-ipam (its gateway data
//	                 is 0.0.0.0/0 or ::/0; Docker's IPAM would give a real
//	                 gateway), accept only known --opt keys, create the
//	                 --opt profile if missing, store the network record.
//	CreateEndpoint   validate, work out the WorkloadEndpoint (labels
//	                 pending) and remember it, start making the veth, answer
//	                 a MAC if Docker gave none. Nothing is stored.
//	Join             store the WorkloadEndpoint with its gateways and sandbox
//	                 (still labels pending), then re-own the addresses in
//	                 IPAM to the endpoint's handle, while the veth is made;
//	                 answer interface name, gateway, routes; then, in the
//	                 background, read the container's labels.
//	Leave            delete the veth (and the endpoint's source rule).
//	DeleteEndpoint   delete the veth if left and the WorkloadEndpoint; Docker
//	                 then calls calico-ipam's ReleaseAddress itself.
//	DeleteNetwork    delete the network record; the profile stays (shared).
//
// Every request is validated before anything is written, so a rejected
// request changes nothing. Deletes of things already gone succeed.
//
// # Network names and profiles
//
// Docker sends only the network ID and answers a NetworkInspect for it only
// after CreateNetwork has returned. A network's profile is the --opt
// org.projectcalico.profile value, else the network's name, learnt from the
// Docker API by a background lookup right after CreateNetwork and, failing
// that, at the first CreateEndpoint. A created profile gives its members the
// label <profile> and admits ingress only from has(<profile>), with egress
// open, so networks are isolated from each other once policy is enforced.
// Profile names must therefore be valid label names. Records of networks
// live in etcd under NetworkKeyPrefix, so a restarted daemon loses nothing.
//
// # Namespaces (namespace.go)
//
// A network's endpoints live in the namespace of --opt
// org.projectcalico.namespace (an RFC 1123 label; default "default"),
// kept in its record and fixed for its life: every WorkloadEndpoint read,
// write and delete of the driver uses it, found by the network's ID.
//
// # Container labels (labels.go, labeler.go)
//
// A container's org.projectcalico.label.<name>=<value> labels become its
// endpoints' labels <name>=<value>, under the identity labels
// projectcalico.org/orchestrator, /network and /profile, which a container
// cannot override. The protocol never names the container, so
// Join stores the endpoint with the annotation
// libnetwork.projectcalico.org/labels-pending and the dataplane drops all
// its traffic (fail closed: policy meant for the container is never
// bypassed). After Join the labeler learns the container from the
// engine's network connect event (fallback: polling a network inspect),
// reads its labels and name from the container list (neither call waits
// for the starting container, whose lock Docker holds; a container inspect
// would), and stores labels, spec.workload and spec.containerID and drops
// the annotation in one compare-and-swap. Measured on Docker 20.10 (e2e
// BenchmarkLabelWindow): 8-25 ms from Join returning, while the
// container's process starts about 300 ms after Join. A container label
// that is not a valid Calico label keeps its endpoint closed (logged as an
// error). The daemon's Resync resumes endpoints left pending by a stop.
//
// A container start thus writes its WorkloadEndpoint twice: at Join
// (pending) and with its labels. A daemon restart between CreateEndpoint
// and Join forgets the endpoint; its Join fails saying to start the
// container again.
//
// # IPAM ownership and garbage collection
//
// Join stores the endpoint before re-owning its addresses, so an
// allocation held by an endpoint handle always has its endpoint in etcd
// (HoldersOf gives ipam.GC what they hold). If the provisional allocation was
// freed meanwhile (a GC with a grace shorter than Docker's
// RequestAddress-to-Join gap), Join allocates the address again, failing
// only if another container has it by then.
//
// # Container side and several calico networks per container
//
// A container sees cali0 with a /32 (/128), an on-link route to
// 169.254.1.1 and "default via 169.254.1.1"; the host answers ARP for it by
// proxy ARP. Docker refuses a second interface whose on-link route repeats
// 169.254.1.1/32 ("error setting interface routes ...: file exists"), so
// the n-th calico interface of a sandbox gets gateway 169.254.1.n. Used
// gateways are found from the sandbox's routes (running containers) and
// from the endpoints recorded as joined to the sandbox (a starting
// container's namespace does not exist yet at Join). Docker keeps one
// default route, via its gateway endpoint. Each interface of a network made
// with --subnet also gets routes to those subnets via its own gateway, and
// in a sandbox with several calico interfaces every interface gets a source
// rule, recorded by the driver and programmed by felix (see srcroute.go),
// so traffic leaves by the interface that owns its source address.
//
// Limits: traffic a container starts without choosing a source address
// follows the main table: to a --subnet network's CIDR it leaves by that
// network's interface, to anything else (including networks without
// --subnet, whose addresses may come from any pool) by the default route.
// IPv6 has the gateway fe80::ecee:eeff:feee:eeee on every interface; its
// --subnet routes and source rules are programmed by felix with the IPv4
// ones (srcroute.go), as Docker would put a next-hop route via that address
// on the first interface.
package driver
