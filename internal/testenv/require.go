package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// Environment variables that turn a skip into a failure.
const (
	EnvRequireRoot   = "CALICO_TEST_REQUIRE_ROOT"
	EnvRequireDocker = "CALICO_TEST_REQUIRE_DOCKER"
	EnvRequireTools  = "CALICO_TEST_REQUIRE_TOOLS"
)

// required reports whether the environment variable env is set to 1.
func required(env string) bool { return os.Getenv(env) == "1" }

// skipOrFail skips the test, or fails it when env is set to 1.
func skipOrFail(t testing.TB, env, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if required(env) {
		t.Fatalf("%s (%s=1, so this is a failure, not a skip)", msg, env)
	}
	t.Skip(msg)
}

// RequireRoot skips the test unless it runs as root; with
// CALICO_TEST_REQUIRE_ROOT=1 it fails instead.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		skipOrFail(t, EnvRequireRoot, "test needs root (run `sudo make test`)")
	}
}

// RequireTools skips the test unless every named program is on PATH; with
// CALICO_TEST_REQUIRE_TOOLS=1 it fails instead. hack/deps.sh installs them.
func RequireTools(t testing.TB, names ...string) {
	t.Helper()
	for _, name := range names {
		if _, err := exec.LookPath(name); err != nil {
			skipOrFail(t, EnvRequireTools, "test needs %q on PATH (install it with hack/deps.sh)", name)
		}
	}
}
