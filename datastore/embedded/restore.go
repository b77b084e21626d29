package embedded

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"go.etcd.io/etcd/etcdutl/v3/snapshot"
	"go.uber.org/zap"
)

// HasData says whether dataDir already holds an etcd member.
func HasData(dataDir string) bool {
	_, err := os.Stat(filepath.Join(dataDir, "etcd", "member"))
	return err == nil
}

// Restore makes dataDir's etcd a fresh single-member cluster holding the
// data of snapshotFile (from calicoctl datastore backup), for Start with
// the same cfg (its Name, PeerHost, PeerPort and TLS decide the member's
// peer URL). It refuses when dataDir already holds a member.
func Restore(cfg Config, snapshotFile string) error {
	cfg.defaults()
	if HasData(cfg.DataDir) {
		return fmt.Errorf("restore %s: %s already holds an etcd member: move %s away first",
			snapshotFile, cfg.DataDir, filepath.Join(cfg.DataDir, "etcd"))
	}
	if _, err := os.Stat(snapshotFile); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	scheme := "http"
	if cfg.TLS != nil {
		scheme = "https"
	}
	peer := scheme + "://" + net.JoinHostPort(cfg.PeerHost, strconv.Itoa(cfg.PeerPort))
	dir := filepath.Join(cfg.DataDir, "etcd")
	if err := os.RemoveAll(dir); err != nil { // an empty or partial directory from a failed start
		return fmt.Errorf("restore: %w", err)
	}
	err := snapshot.NewV3(zap.NewNop()).Restore(snapshot.RestoreConfig{
		SnapshotPath: snapshotFile, Name: cfg.Name, OutputDataDir: dir,
		PeerURLs: []string{peer}, InitialCluster: cfg.Name + "=" + peer, InitialClusterToken: "calico-restored",
	})
	if err != nil {
		_ = os.RemoveAll(dir)
		return fmt.Errorf("restore %s into %s: %w", snapshotFile, dir, err)
	}
	return os.Chmod(dir, 0o700)
}
