package daemon

import (
	"os"
	"strings"
	"testing"
)

// TestREADMEListsEverySetting keeps the README's configuration table in
// step with Settings().
func TestREADMEListsEverySetting(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, s := range Settings() {
		row := "| `" + s.Key + "` | `--" + s.Flag + "` | `" + s.Env + "` |"
		if !strings.Contains(readme, row) {
			t.Errorf("README.md's configuration table lacks %s: add the row starting %q", s.Key, row)
		}
	}
}
