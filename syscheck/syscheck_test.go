package syscheck

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/internal/testenv"
)

func lookPathIn(dir string) func(string) (string, error) {
	return func(name string) (string, error) {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err != nil {
			return "", &exec.Error{Name: name, Err: exec.ErrNotFound}
		}
		return p, nil
	}
}

// TestMissingToolsNamePackages hides each tool in turn and expects the
// report to fail naming the tool and the Debian package to install.
func TestMissingToolsNamePackages(t *testing.T) {
	for _, tc := range []struct {
		hide    []string
		check   string
		wantMsg []string
	}{
		{[]string{"ipset"}, "ipset", []string{"ipset not found", "apt-get install ipset"}},
		{[]string{"iptables"}, "iptables", []string{"iptables not found", "apt-get install iptables"}},
		{[]string{"iptables-legacy-restore"}, "iptables-legacy", []string{"iptables-legacy-restore not found", "apt-get install iptables"}},
	} {
		t.Run(strings.Join(tc.hide, ","), func(t *testing.T) {
			dir := testenv.PathWithout(t, tc.hide...)
			rep := Check(context.Background(), Config{
				IptablesBackend: "legacy", PluginDir: t.TempDir(), NetworkingBackend: "none",
				LookPath: lookPathIn(dir),
				Run:      func(context.Context, string, ...string) ([]byte, error) { return nil, nil },
			})
			err := rep.Err()
			if err == nil {
				t.Fatalf("no error with %v hidden: %+v", tc.hide, rep.Results)
			}
			for _, w := range tc.wantMsg {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			var seen bool
			for _, r := range rep.Results {
				if r.Name == tc.check {
					seen = r.Severity == Failed && r.Status == "FAILED"
				}
			}
			if !seen {
				t.Errorf("no failed %s result in %+v", tc.check, rep.Results)
			}
		})
	}
}

func TestLooseRPFAndPluginDir(t *testing.T) {
	proc := t.TempDir()
	write := func(rel, v string) {
		p := filepath.Join(proc, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("net/ipv4/ip_forward", "1")
	write("net/ipv4/conf/all/rp_filter", "2")
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	c := checker{cfg: Config{ProcSys: proc, PluginDir: notDir}}
	if r := c.sysctls(); r[0].Severity != Failed || !strings.Contains(r[0].Fix, "ignore_loose_rpf") {
		t.Errorf("loose rp_filter: %+v", r)
	}
	c.cfg.IgnoreLooseRPF = true
	if r := c.sysctls(); r[0].Severity != OK {
		t.Errorf("loose rp_filter, ignored: %+v", r)
	}
	if r := c.pluginDir(); r.Severity != Failed || !strings.Contains(r.Detail, "not a directory") {
		t.Errorf("plugin_dir is a file: %+v", r)
	}
	c.cfg.PluginDir = filepath.Join(t.TempDir(), "a", "b")
	if r := c.pluginDir(); r.Severity != OK || !strings.Contains(r.Detail, "will be created") {
		t.Errorf("plugin_dir to create: %+v", r)
	}
}

func TestModuleState(t *testing.T) {
	root := t.TempDir()
	sys, lib := filepath.Join(root, "sys"), filepath.Join(root, "lib")
	proc := filepath.Join(root, "modules")
	for _, d := range []string{filepath.Join(sys, "xt_set"), lib} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		proc:                                   "",
		filepath.Join(lib, "modules.builtin"):  "kernel/net/ipv4/ip_tunnel.ko\n",
		filepath.Join(lib, "modules.dep"):      "kernel/net/ipv4/ipip.ko.xz: kernel/net/ipv4/ip_tunnel.ko\nkernel/drivers/net/vxlan/vxlan.ko:\n",
		filepath.Join(root, "nolib", ".keep"):  "",
		filepath.Join(root, "noproc", ".keep"): "",
	}
	for p, v := range files {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		mod, proc, lib string
		want           modState
	}{
		{"xt_set", proc, lib, modLoaded},
		{"ip_tunnel", proc, lib, modBuiltin},
		{"ipip", proc, lib, modInstalled},
		{"vxlan", proc, lib, modInstalled},
		{"nf_tables", proc, lib, modMissing},
		{"nf_tables", proc, filepath.Join(root, "nolib"), modUnknown},
		{"nf_tables", filepath.Join(root, "noproc", "modules"), lib, modBuiltin},
	} {
		if got := moduleState(tc.mod, sys, tc.proc, tc.lib); got != tc.want {
			t.Errorf("moduleState(%s, proc %s, lib %s) = %d, want %d", tc.mod, tc.proc, tc.lib, got, tc.want)
		}
	}
}
