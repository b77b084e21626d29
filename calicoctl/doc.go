// Package calicoctl is the calicoctl command line: it manages Calico v3
// resources (apiVersion projectcalico.org/v3) stored in etcd, reaching etcd
// exactly as the calico-libnetwork daemon does (ETCD_ENDPOINTS and friends,
// flags, or a CalicoAPIConfig file).
//
// Layout: main.go builds the cobra tree, maps errors to exit codes and
// makes every command group refuse an unknown subcommand (exit 1);
// connect.go resolves the datastore configuration; input.go reads and
// checks -f FILE|DIR|-; one file per command group (apply.go, delete.go,
// get.go, modify.go: patch, label and validate; version.go, completion.go);
// output.go and columns.go print objects as table, wide (calicoctl's
// columns per kind), yaml, json (lists as <Kind>List) or name, and
// custom.go as -o custom-columns or go-template.
//
// Operator commands (operator.go registers them):
//   - classic_*.go: the original calicoctl's pool, profile, endpoint and
//     bgppeer commands mapped onto v3 resources; v0rules.go converts the
//     v0 profile rule JSON; classic_ruleedit.go: profile rule add/remove
//     (the classic rule text) and profile tag add/remove; operator.go
//     rewrites the classic argument order "profile NAME member|rule|tag
//     ..." into the tree's "profile member|rule|tag VERB NAME ...".
//   - status.go: datastore reachability, nodes and this host's daemon
//     (HostStatusFunc, read by node_status.go).
//   - node_status.go: calicoctl node status, from the daemon's status
//     socket (<data_dir>/status.sock, GET /status: daemon.HostStatus =
//     routing/status.Status plus version, datastore and dataplane; decoded
//     here without importing the daemon, a test serves the daemon's
//     handler); node_diags.go: calicoctl node diags, one tar.gz of
//     resources, host endpoints, iptables/ipset/ip state, the daemon's
//     status and logs, each failing collector listed in errors.txt.
//   - policy_model.go, explain.go, policy_show.go: policy explain and
//     policy show, computed by package calc (felix's calculation).
//   - ipam_audit.go (the checks), ipam_show.go, ipam_check.go,
//     ipam_release.go: IPAM audit through package ipam.
//   - resolve.go: container name / ID prefix / endpoint name / IP → the
//     WorkloadEndpoints, shared by member add, explain and policy show.
//
// Mapping decisions (classic → v3):
//   - pool add CIDR creates IPPool "pool-" + CIDR with '.', ':', '/' as
//     '-' (pool-10-1-0-0-16); on an existing CIDR it sets the options
//     given (v0 semantics). pool remove refuses while addresses of the
//     pool are allocated, unless --force (the containers keep them).
//   - A v0 tag T is the label T: "" in a profile's labelsToApply; src_tag
//     / dst_tag T is the selector has(T). A profile created by the
//     classic commands is driver.NewNetworkProfile's: tag = its name,
//     ingress from that tag, all egress. rule update gives a profile
//     named T the label T when a rule references T; other v0 fields map
//     one to one (see calicoctl profile rule update --help). rule show
//     prints v0's numbered text form, -o json (= rule json) the v0 JSON;
//     v3-only rules (Log, Pass, negations, selectors) have no v0 JSON.
//   - bgppeer add IP as AS: a global BGPPeer "bgppeer-<ip>"; bgppeer rr
//     add IP: "rr-<ip>" with the cluster AS (iBGP), labelled
//     calicoctl.projectcalico.org/route-reflector=true; the mesh setting
//     is left alone.
//   - endpoint show: the seed's columns; WORKLOAD ID is the short
//     container ID, STATE is active or pending (labels not known yet).
//
// IPAM check: an allocation is live when a WorkloadEndpoint lists its
// address, owns its handle (driver.Handle) or is named in its
// "workloadEndpoint" attribute; a handle none of whose allocations is
// live is leaked once its newest allocation (attribute timestamp, else
// requested-at) is older than --grace (10m). This covers the window
// between RequestAddress (provisional handle) and CreateEndpoint
// (SetHandle refreshes the timestamp) and the WorkloadEndpoint write
// just after. release frees a leaked handle with ReleaseByHandle, so an
// address re-allocated meanwhile (to another handle) is never taken.
// A block affine to a node without a Node resource is freed by release
// (ipam.ReleaseAffinity: block record and affinity deleted in one
// compare-and-swap, only while the block is empty) when every address in
// it is a leak freed first; a block still holding live addresses is
// listed and kept.
//
// Invariants:
//   - Main never panics on user input and never calls os.Exit; it returns
//     0 on success and 1 on any failure, with the reason on stderr, with
//     two documented exceptions: policy explain returns 3 (ExitDenied)
//     when the packet would be denied, and ipam check returns 1 when it
//     finds problems (its report is on stdout).
//   - Commands that write from a file decode and validate every object
//     (and, for create/replace/delete, check each against the store)
//     before writing any, so bad input leaves the store unchanged. Once
//     writing starts, a failure (a concurrent change, a CAS conflict) does
//     not stop the remaining objects: the summary says how many were
//     written and lists every error, and the exit code is 1.
//   - Input is read and validated before etcd is contacted, so validation
//     errors are reported even when the datastore is unreachable.
package calicoctl
