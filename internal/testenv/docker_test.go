package testenv

import "testing"

func TestDockerRunsTestImage(t *testing.T) {
	RequireRoot(t)
	Docker(t)
	out := MustDocker(t, "run", "--rm", "--network", "none", TestImage(), "sh", "-c", "echo ok")
	if out != "ok" {
		t.Fatalf("container printed %q, want %q", out, "ok")
	}
}
