// Package fleet measures the real daemon inside a simulated fleet
// (internal/fleetsim) and tests it against a real multi-member etcd
// cluster. Everything lives in _test.go files: BenchmarkFleet (run by
// `make bench`) and TestEtcdMemberKilledUnderIPAMLoad.
//
// Like package e2e, it builds the daemon binary and runs it as root
// against the test dockerd of hack/dockerd.sh, here with real etcd
// processes (Debian's etcd binary) on loopback ports instead of the
// embedded etcd, so that etcd's own /metrics count the daemon's requests.
// The simulated hosts have no address and the BGP mesh is off: nothing
// is ever sent to them (see internal/fleetsim, Safety); the benchmark
// checks at the end that no route leads into the fleet's pool.
package fleet
