// Package calicoctl is the calicoctl command line: it manages Calico v3
// resources (apiVersion projectcalico.org/v3) stored in etcd, reaching etcd
// exactly as the calico-libnetwork daemon does (ETCD_ENDPOINTS and friends,
// flags, or a CalicoAPIConfig file).
//
// Layout: a reader finds a verb by path. This package builds the cobra
// tree (main.go), maps errors to exit codes and makes every command group
// refuse an unknown subcommand (exit 1); groups.go lists the command
// groups, one package each; version.go and completion.go are the root's
// own verbs.
//   - internal/cli: what every group shares — App (one invocation's
//     streams, flags and datastore connection), connect.go (the datastore
//     configuration), input.go (-f FILE|DIR|-), output.go and columns.go
//     (table, wide, yaml, json as <Kind>List, name), custom.go
//     (-o custom-columns, go-template), resolve.go (container name / ID
//     prefix / endpoint name / IP → WorkloadEndpoints), the usage errors.
//   - resource: the v3 verbs apply, create, replace, delete, get, patch,
//     label, validate, with the write checks of pools and tiers.
//   - classic: the original calicoctl's pool, profile, endpoint and
//     bgppeer commands mapped onto v3 resources.
//   - node: calicoctl status and node status, diags, checksystem.
//   - policy: policy explain and policy show, computed by package calc.
//   - ipam: ipam show, check and release, through package ipam.
//   - cluster: cluster token, tokens, revoke, remove, status.
//   - datastore: datastore backup.
//
// Each group package exports Commands(*cli.App) []*cobra.Command; its
// commands are methods of a local app that embeds *cli.App.
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
