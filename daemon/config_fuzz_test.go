package daemon

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzConfigFile feeds the daemon's --config YAML file (outside input).
// LoadConfig must never panic; it either yields a config or an error that
// names the file or a setting.
func FuzzConfigFile(f *testing.F) {
	for _, s := range []string{
		"etcd_endpoints: http://127.0.0.1:2379\nlog_level: debug\n",
		"ipv6: true\nveth_mtu: 1400\ncalico_network: 10.0.0.0/16\n",
		"veth_mtu: 99999\n", "nonsense: 1\n", "ipv6: [1, 2]\n", ": :\n", "- a\n- b\n", "", "\x00",
		"resync_interval: -5s\n", "endpoint_to_host_action: Accept\n", "dataplane: nftables\n", "dataplane: ebpf\n",
	} {
		f.Add([]byte(s))
	}
	for _, s := range settings {
		f.Setenv(s.Env, "") // the file alone decides (empty counts as unset)
	}
	f.Setenv("CALICO_CONFIG_FILE", "")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "config.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := LoadConfig([]string{"--config", path}, io.Discard)
		if err == nil {
			if cfg == nil {
				t.Fatal("no config and no error")
			}
			return
		}
		var exit errExit
		if errors.As(err, &exit) {
			t.Fatalf("a config file made LoadConfig exit: %v", err)
		}
		if msg := err.Error(); !strings.Contains(msg, "config") && !strings.Contains(msg, "_") && !strings.Contains(msg, "--") {
			t.Fatalf("error names neither the file nor a setting: %v", err)
		}
	})
}
