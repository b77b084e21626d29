// Package calicoctl is the calicoctl command line: it manages Calico v3
// resources (apiVersion projectcalico.org/v3) stored in etcd, reaching etcd
// exactly as the calico-libnetwork daemon does (ETCD_ENDPOINTS and friends,
// flags, or a CalicoAPIConfig file).
//
// Layout: main.go builds the cobra tree and maps errors to exit codes;
// connect.go resolves the datastore configuration; input.go reads and
// checks -f files; one file per command group (apply.go, delete.go,
// get.go, version.go, completion.go); output.go and columns.go print
// objects as table, wide, yaml, json or name for every command.
//
// Invariants:
//   - Main never panics on user input and never calls os.Exit; it returns
//     0 on success and 1 on any failure, with the reason on stderr.
//   - Commands that write from a file decode and validate every object
//     (and, for create/replace/delete, check each against the store)
//     before writing any, so bad input leaves the store unchanged. Once
//     writing starts, a failure (a concurrent change, a CAS conflict) does
//     not stop the remaining objects: the summary says how many were
//     written and lists every error, and the exit code is 1.
//   - Input is read and validated before etcd is contacted, so validation
//     errors are reported even when the datastore is unreachable.
package calicoctl
