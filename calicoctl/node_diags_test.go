package calicoctl

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/calico-docker/calico-libnetwork/calicoctl/node"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// readArchive returns the files of a tar.gz by their path under its one
// top directory.
func readArchive(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	out := map[string]string{}
	top := ""
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		dir, name, ok := strings.Cut(h.Name, "/")
		if !ok || (top != "" && dir != top) {
			t.Fatalf("archive entry %q is not under one top directory %q", h.Name, top)
		}
		top = dir
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = string(data)
	}
}

func TestNodeDiags(t *testing.T) {
	e := operatorEnv(t)
	sock := serveStatus(t, healthySources())
	dir := t.TempDir()
	logFile := filepath.Join(dir, "calico-libnetwork.log")
	rotated := filepath.Join(dir, "calico-libnetwork-2026-01-01T00-00-00.000.log")
	for path, text := range map[string]string{logFile: "level=INFO msg=Ready\n", rotated: "level=INFO msg=Starting\n"} {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "diags.tar.gz")
	r := e.mustRun(t, "", "node", "diags", "--status-socket", sock, "--log-file", logFile, "--output", out)
	if !strings.Contains(r.stdout, "Diagnostics written to "+out) {
		t.Errorf("stdout: %v", r)
	}
	files := readArchive(t, out)
	if _, err := os.Stat(out + ".partial"); !os.IsNotExist(err) {
		t.Errorf("the partial archive was left behind: %v", err)
	}
	errs := files["errors.txt"]
	for _, want := range []string{"status.json", "host-endpoints.yaml", "summary.txt", "errors.txt",
		"logs/calico-libnetwork.log", "logs/calico-libnetwork-2026-01-01T00-00-00.000.log"} {
		if _, ok := files[want]; !ok {
			t.Errorf("archive lacks %s; it has %v", want, keys(files))
		}
	}
	// Every kind, in the form calicoctl apply reads back.
	for _, info := range resources.Kinds() {
		name := "resources/" + strings.ToLower(info.Plural) + ".yaml"
		text, ok := files[name]
		if !ok {
			t.Errorf("archive lacks %s", name)
			continue
		}
		if strings.Contains(text, "items: []") {
			continue // Decode calls an empty list an error
		}
		if _, err := resources.Decode(strings.NewReader(text)); err != nil {
			t.Errorf("%s does not decode: %v\n%s", name, err, files[name])
		}
	}
	if !strings.Contains(files["resources/ippools.yaml"], "10.0.0.0/16") {
		t.Errorf("ippools.yaml: %s", files["resources/ippools.yaml"])
	}
	// This host (host1, from the daemon's status) has two endpoints.
	weps, err := resources.Decode(strings.NewReader(files["host-endpoints.yaml"]))
	if err != nil || len(weps) != 2 {
		t.Errorf("host-endpoints.yaml: %d endpoints, %v\n%s", len(weps), err, files["host-endpoints.yaml"])
	}
	if !strings.Contains(files["status.json"], `"version": "v1.2.3"`) {
		t.Errorf("status.json: %s", files["status.json"])
	}
	if !strings.Contains(files["summary.txt"], "iptables backend: nft (the daemon's, from its status)") {
		t.Errorf("summary.txt: %s", files["summary.txt"])
	}
	// The nftables listing (read over netlink: this namespace has none of
	// our tables, unless a test of another package made some here).
	if text, ok := files["nftables.txt"]; !ok && !strings.Contains(errs, "nftables.txt: ") {
		t.Errorf("neither nftables.txt nor its failure is in the archive; errors.txt:\n%s", errs)
	} else if ok && !strings.HasPrefix(text, "no Calico nftables tables") && !strings.HasPrefix(text, "table ") {
		t.Errorf("nftables.txt: %s", text)
	}
	if strings.Contains(errs, "set names") {
		t.Errorf("the datastore is reachable, yet the sets were not named: %s", errs)
	}
	// Each command's output is there, or errors.txt says why not.
	for _, c := range node.DiagsCommands("nft") {
		if _, ok := files[c.File]; !ok && !strings.Contains(errs, c.File+": ") {
			t.Errorf("neither %s nor its failure is in the archive; errors.txt:\n%s", c.File, errs)
		}
	}
}

// Nothing reachable: the archive is still written, with every failure.
func TestNodeDiagsCollectorsFailing(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "diags.tar.gz")
	r := runCLI("", nil, "--etcd-endpoints", "http://127.0.0.1:1", "--config", "",
		"node", "diags", "--status-socket", noDaemonSocket, "--log-file", filepath.Join(dir, "none.log"),
		"--iptables-backend", "legacy", "--output", out)
	if r.code != cli.ExitOK || !strings.Contains(r.stdout, "collector(s) failed; the archive's errors.txt says why.") {
		t.Fatalf("diags with nothing reachable: %v", r)
	}
	files := readArchive(t, out)
	errs := files["errors.txt"]
	for _, want := range []string{
		"status.json: calico-libnetwork is not running on this host: cannot reach " + noDaemonSocket,
		"resources/: cannot reach etcd at http://127.0.0.1:1",
		"nftables.txt (set names): cannot reach etcd at http://127.0.0.1:1",
		"logs/: the daemon's log file:",
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("errors.txt lacks %q:\n%s", want, errs)
		}
	}
	if !strings.Contains(files["summary.txt"], "iptables backend: legacy (--iptables-backend)") {
		t.Errorf("summary.txt: %s", files["summary.txt"])
	}
	if r := runCLI("", nil, "node", "diags", "--iptables-backend", "bogus"); r.code != cli.ExitFailure || !strings.Contains(r.stderr, "use legacy or nft") {
		t.Errorf("bad backend: %v", r)
	}
	if r := runCLI("", nil, "node", "diags", "--status-socket", noDaemonSocket, "--output", filepath.Join(dir, "no/such/dir.tgz")); r.code != cli.ExitFailure ||
		!strings.Contains(r.stderr, "create the diagnostics archive") {
		t.Errorf("unwritable output: %v", r)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
