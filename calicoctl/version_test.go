package calicoctl

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
)

// syncBuffer is a bytes.Buffer a running command writes while the test
// reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor waits (at most 20s) until b holds want.
func waitFor(t *testing.T, b *syncBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(b.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in:\n%s", want, b.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestVersionPoll: --poll prints the cluster lines, then only what
// changes, until interrupted (exit 0).
func TestVersionPoll(t *testing.T) {
	e := startEtcd(t)
	loadAllKinds(t, e)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		args := []string{"--etcd-endpoints", e.endpoint, "--config", "", "version", "--poll", "20ms"}
		done <- run(ctx, args, cli.Stdio{In: strings.NewReader(""), Out: &out, Err: &errb}, func(string) (string, bool) { return "", false })
	}()
	waitFor(t, &out, "Cluster Type:      docker,bgp\n")
	e.mustRun(t, strings.Replace(clusterInfoYAML, "v3.28.0", "v3.29.1", 1), "apply", "-f", "-")
	waitFor(t, &out, "Cluster Version:   v3.29.1\n")
	cancel()
	if code := <-done; code != cli.ExitOK {
		t.Fatalf("exit %d, stderr %s", code, errb.String())
	}
	got := buildValuesRE.ReplaceAllString(out.String(), "$1<build>")
	want := "Client Version:    <build>\nGit commit:        <build>\nGo version:        <build>\n" +
		"Cluster Version:   v3.28.0\nCluster Type:      docker,bgp\nCluster Version:   v3.29.1\n"
	if got != want {
		t.Fatalf("poll output:\n%s\nwant:\n%s", got, want)
	}
	if r := e.run(t, "", "version", "--poll", "-1s"); r.code != cli.ExitFailure || !strings.Contains(r.stderr, "--poll -1s is negative") {
		t.Fatalf("negative poll: %v", r)
	}
}

const clusterInfoYAML = `apiVersion: projectcalico.org/v3
kind: ClusterInformation
metadata: {name: default}
spec: {clusterGUID: 2f1d5c1a9e8b4c7d, clusterType: "docker,bgp", calicoVersion: v3.28.0, datastoreReady: true}
`
