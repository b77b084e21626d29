package calicoctl

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// etcdEnv is a real embedded etcd for one test (or fuzz target).
type etcdEnv struct {
	endpoint string
	cli      *clientv3.Client
}

// startEtcd starts a real embedded etcd for this test (or fuzz worker).
func startEtcd(tb testing.TB) *etcdEnv {
	tb.Helper()
	endpoints, cli := testenv.StartEtcd(tb)
	return &etcdEnv{endpoint: endpoints[0], cli: cli}
}

// result is what one calicoctl invocation produced.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// run drives calicoctl.Main against this etcd, with an empty environment
// and no config file so the host's settings cannot leak in.
func (e *etcdEnv) run(tb testing.TB, stdin string, args ...string) result {
	tb.Helper()
	full := append([]string{"--etcd-endpoints", e.endpoint, "--config", ""}, args...)
	return runCLI(stdin, nil, full...)
}

// runCLI runs calicoctl with the given environment.
func runCLI(stdin string, env map[string]string, args ...string) result {
	var out, errb bytes.Buffer
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	code := run(context.Background(), args, cli.Stdio{In: strings.NewReader(stdin), Out: &out, Err: &errb}, lookup)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// mustRun fails the test unless calicoctl exits 0.
func (e *etcdEnv) mustRun(tb testing.TB, stdin string, args ...string) result {
	tb.Helper()
	r := e.run(tb, stdin, args...)
	if r.code != 0 {
		tb.Fatalf("calicoctl %s: %v", strings.Join(args, " "), r)
	}
	return r
}

// snapshot is every key in etcd with its value and mod revision.
func (e *etcdEnv) snapshot(tb testing.TB) map[string]string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := e.cli.Get(ctx, "", clientv3.WithFromKey())
	if err != nil {
		tb.Fatalf("snapshot etcd: %v", err)
	}
	out := make(map[string]string, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		out[string(kv.Key)] = fmt.Sprintf("%d:%s", kv.ModRevision, kv.Value)
	}
	return out
}

// assertUnchanged fails when etcd differs from before.
func (e *etcdEnv) assertUnchanged(tb testing.TB, before map[string]string) {
	tb.Helper()
	after := e.snapshot(tb)
	for k, v := range before {
		if after[k] != v {
			tb.Errorf("etcd key %s changed:\n before %s\n after  %s", k, v, after[k])
		}
	}
	for k, v := range after {
		if _, ok := before[k]; !ok {
			tb.Errorf("etcd key %s appeared: %s", k, v)
		}
	}
}

// clear deletes every key, so a test starts from an empty store.
func (e *etcdEnv) clear(tb testing.TB) {
	tb.Helper()
	if _, err := e.cli.Delete(context.Background(), "", clientv3.WithFromKey()); err != nil {
		tb.Fatalf("clear etcd: %v", err)
	}
}
