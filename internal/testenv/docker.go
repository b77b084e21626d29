package testenv

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// EnvFile is written by `hack/dockerd.sh up`: KEY=value lines describing the
// private test engine (DOCKER_HOST, CALICO_TEST_IMAGE, ...).
const EnvFile = "/run/calico-test/env"

// DefaultTestImage is the registry-free busybox image hack/dockerd.sh
// imports.
const DefaultTestImage = "calico-test/busybox:latest"

// Docker returns the DOCKER_HOST of the test engine after checking that it
// answers. It takes DOCKER_HOST from the environment, else from EnvFile, so
// `go test` works after a plain `hack/dockerd.sh up`. Without an engine it
// skips the test, or fails it when CALICO_TEST_REQUIRE_DOCKER=1.
func Docker(t testing.TB) string {
	t.Helper()
	host, err := dockerHost()
	if err != nil {
		skipOrFail(t, EnvRequireDocker, "no test Docker engine: %v (run `hack/dockerd.sh up`)", err)
	}
	return host
}

// TestImage returns the image tests should run: CALICO_TEST_IMAGE from the
// environment or EnvFile, else DefaultTestImage.
func TestImage() string {
	if v := setting("CALICO_TEST_IMAGE"); v != "" {
		return v
	}
	return DefaultTestImage
}

// DockerCmd runs the docker CLI against the test engine (see Docker) and
// returns its combined output, trimmed.
func DockerCmd(t testing.TB, args ...string) (string, error) {
	t.Helper()
	host := Docker(t)
	cmd := exec.Command("docker", args...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+host)
	out, err := cmd.CombinedOutput()
	s := strings.TrimSpace(string(out))
	if err != nil {
		return s, fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, s)
	}
	return s, nil
}

// MustDocker is DockerCmd that fails the test on error.
func MustDocker(t testing.TB, args ...string) string {
	t.Helper()
	out, err := DockerCmd(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The engine check runs once per test binary.
var (
	dockerOnce sync.Once
	dockerAddr string
	dockerErr  error
)

func dockerHost() (string, error) {
	dockerOnce.Do(func() {
		dockerAddr = setting("DOCKER_HOST")
		if dockerAddr == "" {
			dockerErr = fmt.Errorf("DOCKER_HOST is unset and %s is missing", EnvFile)
			return
		}
		dockerErr = pingDocker(dockerAddr)
	})
	return dockerAddr, dockerErr
}

// pingDocker calls the engine's /_ping on a unix:// DOCKER_HOST.
func pingDocker(host string) error {
	path, ok := strings.CutPrefix(host, "unix://")
	if !ok {
		return nil // tcp:// and the like: leave it to the docker CLI
	}
	client := &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", path)
			},
		},
	}
	resp, err := client.Get("http://docker/_ping")
	if err != nil {
		return fmt.Errorf("ping %s: %w", host, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("ping %s: %s", host, resp.Status)
	}
	return nil
}

// setting returns the environment variable key, or else its value in
// EnvFile, or "".
func setting(key string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	f, err := os.Open(EnvFile)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok && k == key {
			return v
		}
	}
	return ""
}
