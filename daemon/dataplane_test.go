package daemon

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDataplaneSetting: dataplane comes from the flag, $CALICO_DATAPLANE or
// the config file, defaults to iptables, and a bad value names the setting
// and the values to use.
func TestDataplaneSetting(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(file, []byte("dataplane: nftables\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		env  string
		want string
		err  string
	}{
		{name: "default", want: "iptables"},
		{name: "env empty (the plugin's default)", env: "", want: "iptables"},
		{name: "env", env: "nftables", want: "nftables"},
		{name: "env any case", env: "NFTables", want: "nftables"},
		{name: "flag", args: []string{"--dataplane=nftables"}, want: "nftables"},
		{name: "file", args: []string{"--config=" + file}, want: "nftables"},
		{name: "bad", env: "bpf", err: `invalid dataplane "bpf" (--dataplane, $CALICO_DATAPLANE, or "dataplane" in the config file): use iptables`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t)
			t.Setenv("NODENAME", "host1")
			t.Setenv("CALICO_DATAPLANE", tc.env)
			c, err := LoadConfig(tc.args, io.Discard)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Dataplane != tc.want {
				t.Errorf("Dataplane = %q, want %q", c.Dataplane, tc.want)
			}
			// Only a value given counts as explicit: an empty one leaves
			// the dataplane to FelixConfiguration nftablesMode.
			if given := tc.env != "" || len(tc.args) > 0; c.Explicit["dataplane"] != given {
				t.Errorf("explicit = %v, want %v", c.Explicit["dataplane"], given)
			}
		})
	}
}
