package logging

import (
	"bufio"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/internal/testenv"
)

const mb = 1 << 20

// logFiles returns the log file and its rotated copies in dir, with sizes.
func logFiles(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]int64{}
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = fi.Size()
	}
	return files
}

var seqRe = regexp.MustCompile(`\bworker=(\d+) seq=(\d+)\b`)

// readSeqs parses every line of every file in dir; each must be a whole
// record. It returns how often each worker/seq pair was seen.
func readSeqs(t *testing.T, dir string) map[[2]int]int {
	t.Helper()
	seen := map[[2]int]int{}
	for name := range logFiles(t, dir) {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := sc.Text()
			m := seqRe.FindStringSubmatch(line)
			if m == nil || !strings.HasPrefix(line, "time=") || !strings.HasSuffix(line, ` pad=`+pad) {
				t.Fatalf("%s: torn or foreign line %q", name, line)
			}
			w, _ := strconv.Atoi(m[1])
			s, _ := strconv.Atoi(m[2])
			seen[[2]int{w, s}]++
		}
		f.Close()
	}
	return seen
}

// pad makes records ~200 bytes, so 1 MB holds some 5,000 of them.
var pad = strings.Repeat("x", 120)

// flood logs n records from each of workers goroutines at once.
func flood(l *slog.Logger, workers, n int) {
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range n {
				l.Info("flood", "worker", w, "seq", i, "pad", pad)
			}
		})
	}
	wg.Wait()
}

// TestRotationKeepsEveryLine: a flood that rotates several times but stays
// under the file limit loses nothing and tears no record; every file is at
// most the size limit.
func TestRotationKeepsEveryLine(t *testing.T) {
	dir := t.TempDir()
	l, err := New(Config{File: filepath.Join(dir, "calico.log"), MaxSizeMB: 1, MaxFiles: 10})
	if err != nil {
		t.Fatal(err)
	}
	const workers, n = 4, 5000 // ~4 MB: 4 or 5 files
	flood(l.Logger, workers, n)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	files := logFiles(t, dir)
	if len(files) < 4 || len(files) > 10 {
		t.Errorf("%d files after ~4 MB of records, want 4-10: %v", len(files), files)
	}
	for name, size := range files {
		if size > mb {
			t.Errorf("%s is %d bytes, more than 1 MB", name, size)
		}
	}
	seen := readSeqs(t, dir)
	for w := range workers {
		for i := range n {
			if c := seen[[2]int{w, i}]; c != 1 {
				t.Fatalf("worker %d record %d appears %d times, want once", w, i, c)
			}
		}
	}
	if len(seen) != workers*n {
		t.Errorf("%d records in the files, want %d", len(seen), workers*n)
	}
}

// TestRotationBoundsFiles: a flood far past the limit leaves at most
// MaxFiles files, each within the size, holding the newest records without
// a gap.
func TestRotationBoundsFiles(t *testing.T) {
	dir := t.TempDir()
	l, err := New(Config{File: filepath.Join(dir, "calico.log"), MaxSizeMB: 1, MaxFiles: 3})
	if err != nil {
		t.Fatal(err)
	}
	const n = 40000 // ~8 MB
	flood(l.Logger, 1, n)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// Rotated files past the limit are deleted in the background.
	testenv.Eventually(t, 10*time.Second, 20*time.Millisecond, func() error {
		if files := logFiles(t, dir); len(files) > 3 {
			return fmt.Errorf("%d files, want at most 3: %v", len(files), files)
		}
		return nil
	})
	files := logFiles(t, dir)
	if len(files) != 3 {
		t.Errorf("%d files, want 3: %v", len(files), files)
	}
	if _, ok := files["calico.log"]; !ok {
		t.Errorf("current file calico.log missing: %v", files)
	}
	for name, size := range files {
		if size > mb {
			t.Errorf("%s is %d bytes, more than 1 MB", name, size)
		}
	}
	var seqs []int
	for k, c := range readSeqs(t, dir) {
		if c != 1 {
			t.Errorf("record %d appears %d times", k[1], c)
		}
		seqs = append(seqs, k[1])
	}
	sort.Ints(seqs)
	if len(seqs) < 2*5000 || seqs[len(seqs)-1] != n-1 {
		t.Fatalf("kept %d records ending at %d, want at least two files' worth ending at %d", len(seqs), seqs[len(seqs)-1], n-1)
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] != seqs[i-1]+1 {
			t.Fatalf("gap in the kept records: %d then %d", seqs[i-1], seqs[i])
		}
	}
}

func TestJSONFormatAndLevel(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "calico.log") // directory created
	l, err := New(Config{File: path, Format: FormatJSON, Level: slog.LevelWarn})
	if err != nil {
		t.Fatal(err)
	}
	l.Info("dropped")
	l.Warn("kept", "network", "net1")
	l.Level.Set(slog.LevelDebug)
	l.Debug("now kept")
	l.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 {
		t.Fatalf("lines = %q, want the warning and the debug record", lines)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatalf("not JSON: %q: %v", lines[0], err)
	}
	if rec["msg"] != "kept" || rec["level"] != "WARN" || rec["network"] != "net1" {
		t.Errorf("record = %v", rec)
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	os.WriteFile(blocker, nil, 0o600)
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"format", Config{Format: "xml"}, `log format "xml": use text or json`},
		{"size", Config{MaxSizeMB: -1}, "use at least 1"},
		{"one file", Config{MaxFiles: 1}, "keep at least 2"},
		{"relative", Config{File: "calico.log"}, "use an absolute path"},
		{"dir", Config{File: dir + "/"}, "is a directory"},
		{"unwritable", Config{File: filepath.Join(blocker, "calico.log")}, "set log_file to a writable path"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
