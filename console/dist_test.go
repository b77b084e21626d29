package console

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"
)

// TestCommittedBuildMatchesSources rebuilds the console from web/ in a
// temporary directory (npm run build: type check, then Vite) and compares
// it with the committed dist/, which the binary embeds.
func TestCommittedBuildMatchesSources(t *testing.T) {
	web := webCopy(t, webDeps(t))
	if out, err := run(3*time.Minute, web, nil, "npm", "run", "build"); err != nil {
		t.Fatalf("npm run build: %v\n%s", err, out)
	}
	want, got := readTree(t, filepath.Join(web, "..", "dist")), readTree(t, "dist")
	for _, name := range union(want, got) {
		switch {
		case got[name] == nil:
			t.Errorf("dist/%s is missing", name)
		case want[name] == nil:
			t.Errorf("dist/%s is not built from the sources any more", name)
		case !bytes.Equal(want[name], got[name]):
			t.Errorf("dist/%s differs from a fresh build", name)
		}
	}
	if t.Failed() {
		t.Log("console/dist is out of date with console/web: run make console and commit console/dist")
	}
}

// TestWebUnitTests runs the front end's Vitest tests (filter parsing,
// edge aggregation, formatting).
func TestWebUnitTests(t *testing.T) {
	web := webCopy(t, webDeps(t))
	out, err := run(3*time.Minute, web, []string{"CI=true", "NO_COLOR=1"}, "npm", "test")
	if err != nil {
		t.Fatalf("npm test: %v\n%s", err, out)
	}
	t.Log(out)
}

func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)], err = os.ReadFile(p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func union(a, b map[string][]byte) []string {
	var names []string
	for k := range a {
		names = append(names, k)
	}
	for k := range b {
		if a[k] == nil {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	return names
}
