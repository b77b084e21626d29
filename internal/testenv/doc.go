// Package testenv holds the helpers that tests across the module share to
// reach the real things they run against: the kernel (inside throwaway
// network namespaces), etcd (embedded, one per test), and the private Docker
// engine that hack/dockerd.sh runs. Only _test.go files import it.
//
// Missing prerequisites skip a test on a developer's machine, but fail it
// when the matching CALICO_TEST_REQUIRE_* variable is 1, as hack/test.sh
// (and so CI) sets them: a CI run that silently skipped its kernel tests
// would prove nothing.
//
//	CALICO_TEST_REQUIRE_ROOT=1    root-only tests fail instead of skipping
//	CALICO_TEST_REQUIRE_DOCKER=1  Docker tests fail when no engine answers
//	CALICO_TEST_REQUIRE_TOOLS=1   tests fail when a host tool is missing
//
// Invariants the helpers keep: every resource they create is registered
// with t.Cleanup and removed exactly (by name or handle, never by pattern);
// the calling goroutine's network namespace never changes.
package testenv
