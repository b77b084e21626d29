package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// PathWithout returns a directory of links to every program on the current
// PATH except the hidden ones (the first of a name on PATH wins, as for
// exec.LookPath): set it as PATH to run something on a host that lacks
// exactly those programs. The directory is removed with the test.
func PathWithout(t testing.TB, hidden ...string) string {
	t.Helper()
	dir := t.TempDir()
	hide := map[string]bool{}
	for _, h := range hidden {
		hide[h] = true
	}
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		entries, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range entries {
			link := filepath.Join(dir, e.Name())
			if hide[e.Name()] {
				continue
			}
			if _, err := os.Lstat(link); err == nil {
				continue
			}
			if err := os.Symlink(filepath.Join(d, e.Name()), link); err != nil {
				t.Fatalf("PathWithout: %v", err)
			}
		}
	}
	return dir
}
