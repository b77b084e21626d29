package console

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/internal/testenv"
)

// The web sources and their lock file, relative to this package.
const webDir = "web"

var depsOnce struct {
	sync.Once
	dir string
	err error
}

// webDeps returns a directory whose node_modules holds the console's npm
// packages, exactly as package-lock.json pins them (npm ci). It is cached
// under the user's cache directory by the lock file's hash, so only the
// first run (or a changed lock file) installs; never in web/ itself.
func webDeps(t *testing.T) string {
	t.Helper()
	testenv.RequireTools(t, "node", "npm")
	depsOnce.Do(func() { depsOnce.dir, depsOnce.err = installDeps() })
	if depsOnce.err != nil {
		t.Fatalf("installing the console's npm packages: %v", depsOnce.err)
	}
	return depsOnce.dir
}

func installDeps() (string, error) {
	lock, err := os.ReadFile(filepath.Join(webDir, "package-lock.json"))
	if err != nil {
		return "", err
	}
	pkg, err := os.ReadFile(filepath.Join(webDir, "package.json"))
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(append(append([]byte{}, pkg...), lock...))
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "calico-libnetwork", "console-npm-"+hex.EncodeToString(sum[:8]))
	if _, err := os.Stat(filepath.Join(dir, "node_modules", ".package-lock.json")); err == nil {
		return dir, nil
	}
	// Install into a fresh directory beside it, then rename: an
	// interrupted install never looks complete.
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "install-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	for name, data := range map[string][]byte{"package.json": pkg, "package-lock.json": lock} {
		if err := os.WriteFile(filepath.Join(tmp, name), data, 0o644); err != nil {
			return "", err
		}
	}
	if out, err := run(5*time.Minute, tmp, nil, "npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"); err != nil {
		return "", errors.New(err.Error() + "\n" + out)
	}
	_ = os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		return "", err
	}
	return dir, nil
}

// webCopy copies web/ (without node_modules) into a temporary directory,
// as <tmp>/web with node_modules linked from deps, so a build there writes
// <tmp>/dist and never touches the committed dist.
func webCopy(t *testing.T, deps string) string {
	t.Helper()
	root := t.TempDir()
	dst := filepath.Join(root, "web")
	err := filepath.WalkDir(webDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(webDir, p)
		if d.IsDir() && d.Name() == "node_modules" {
			return filepath.SkipDir
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(deps, "node_modules"), filepath.Join(dst, "node_modules")); err != nil {
		t.Fatal(err)
	}
	return dst
}

// run runs a command in dir with a time limit; it returns its output.
func run(limit time.Duration, dir string, env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		err = errors.New(name + " " + strings.Join(args, " ") + ": did not finish within " + limit.String())
	}
	return string(out), err
}
