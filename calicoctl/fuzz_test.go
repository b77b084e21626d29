package calicoctl

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzApplyInput feeds arbitrary bytes to `calicoctl apply -f -` against a
// real etcd: it must never panic, and when it fails nothing stored changes.
func FuzzApplyInput(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		goodPool,
		goodPool + "---\n" + goodPool,
		`{"apiVersion":"projectcalico.org/v3","kind":"List","items":[{"apiVersion":"projectcalico.org/v3","kind":"Profile","metadata":{"name":"p"}}]}`,
		"apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: p, resourceVersion: \"9\"}\nspec: {cidr: 10.2.0.0/16}\n",
		"kind: List\nitems:\n- kind: List\n  items: []\n",
		"---\n---\n",
		"\x00\xff",
	} {
		f.Add([]byte(s))
	}
	e := startEtcd(f)
	f.Fuzz(func(t *testing.T, input []byte) {
		before := e.snapshot(t)
		r := e.run(t, string(input), "apply", "-f", "-")
		switch r.code {
		case 0:
			if !strings.HasPrefix(r.stdout, "Successfully applied ") {
				t.Errorf("exit 0 without a success line: %v", r)
			}
		case 1:
			if r.stderr == "" {
				t.Errorf("exit 1 without a reason: %v", r)
			}
			e.assertUnchanged(t, before)
		default:
			t.Errorf("unexpected exit code: %v", r)
		}
	})
}
