package calicoctl

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

var (
	rvRE      = regexp.MustCompile(`("?resourceVersion"?: )"[0-9]+"`)
	createdRE = regexp.MustCompile(`("?creationTimestamp"?: )"[^"]+"`)
)

// normalize replaces what changes from run to run.
func normalize(s string) string {
	s = rvRE.ReplaceAllString(s, `$1"<rv>"`)
	return createdRE.ReplaceAllString(s, `$1"<created>"`)
}

// checkGolden compares got (normalized) with testdata/NAME.golden.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	got = normalize(got)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./calicoctl -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run go test ./calicoctl -update if intended)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
