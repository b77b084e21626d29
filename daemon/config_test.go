package daemon

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// clearEnv unsets every variable a setting reads, for the test's duration.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, s := range settings {
		t.Setenv(s.Env, "")
	}
	t.Setenv("CALICO_CONFIG_FILE", "")
}

// loadFromEnv loads the configuration of node host1 from env alone. With
// wantErr set it checks that loading fails with an error containing it and
// returns nil; otherwise loading must succeed.
func loadFromEnv(t *testing.T, env map[string]string, wantErr string) *Config {
	t.Helper()
	clearEnv(t)
	t.Setenv("NODENAME", "host1")
	for k, v := range env {
		t.Setenv(k, v)
	}
	c, err := LoadConfig(nil, io.Discard)
	if wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("err = %v, want it to contain %q", err, wantErr)
		}
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestLoadConfigDefaults(t *testing.T) {
	clearEnv(t)
	t.Setenv("NODENAME", "host1")
	c, err := LoadConfig(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Etcd.Endpoints) != 0 || c.EtcdClientPort != 2379 || c.EtcdPeerPort != 2380 || c.EtcdClientHost != "127.0.0.1" ||
		c.PluginDir != "/run/docker/plugins" || c.DataDir != "/var/lib/calico" || c.DefaultPool.String() != "192.168.0.0/16" ||
		c.VethMTU != 1500 || c.IPv6 || c.IgnoreLooseRPF || c.ResyncInterval != time.Minute || c.NodeName != "host1" ||
		c.DockerHost != "unix:///var/run/docker.sock" {
		t.Errorf("defaults = %+v", c)
	}
}

func TestLoadConfigPrecedence(t *testing.T) {
	clearEnv(t)
	file := filepath.Join(t.TempDir(), "calico.yaml")
	if err := os.WriteFile(file, []byte("veth_mtu: 1400\ncalico_network: 10.50.0.0/16\nnodename: fromfile\nipv6: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CALICO_VETH_MTU", "1300")
	t.Setenv("NODENAME", "fromenv")
	t.Setenv("ETCD_ENDPOINTS", "https://10.0.0.1:2379, https://10.0.0.2:2379")
	c, err := LoadConfig([]string{"--config", file, "--nodename=fromflag", "--ignore-loose-rpf"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.VethMTU != 1300 {
		t.Errorf("veth_mtu = %d, want the environment's 1300 over the file's", c.VethMTU)
	}
	if c.NodeName != "fromflag" {
		t.Errorf("nodename = %q, want the flag's", c.NodeName)
	}
	if c.DefaultPool.String() != "10.50.0.0/16" || !c.IPv6 {
		t.Errorf("file settings not applied: pool %s ipv6 %v", c.DefaultPool, c.IPv6)
	}
	if !c.IgnoreLooseRPF {
		t.Error("--ignore-loose-rpf alone should mean true")
	}
	if len(c.Etcd.Endpoints) != 2 || c.Etcd.Endpoints[1] != "https://10.0.0.2:2379" {
		t.Errorf("etcd endpoints = %v", c.Etcd.Endpoints)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	dir := t.TempDir()
	badFile := filepath.Join(dir, "bad.yaml")
	os.WriteFile(badFile, []byte("veth_mtu: 1400\nvethmtu: 1\n"), 0o600)
	notYAML := filepath.Join(dir, "notyaml.yaml")
	os.WriteFile(notYAML, []byte("a: [\n"), 0o600)
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"mtu not a number", map[string]string{"CALICO_VETH_MTU": "big"}, nil, `invalid veth_mtu "big" (--veth-mtu, $CALICO_VETH_MTU`},
		{"mtu too small", nil, []string{"--veth-mtu=20"}, "from 68 to 65535"},
		{"bad pool", map[string]string{"CALICO_NETWORK": "192.168.0.0"}, nil, "use an IPv4 CIDR"},
		{"pool host bits", map[string]string{"CALICO_NETWORK": "192.168.1.0/16"}, nil, "use 192.168.0.0/16"},
		{"bad port", map[string]string{"CALICO_ETCD_CLIENT_PORT": "70000"}, nil, "etcd_client_port"},
		{"same ports", map[string]string{"CALICO_ETCD_CLIENT_PORT": "2380"}, nil, "must differ from etcd_client_port"},
		{"bad bool", map[string]string{"CALICO_IGNORE_LOOSE_RPF": "maybe"}, nil, "use true or false"},
		{"bad level", map[string]string{"CALICO_LOG_LEVEL": "loud"}, nil, "use debug, info, warn or error"},
		{"relative dir", map[string]string{"CALICO_PLUGIN_DIR": "plugins"}, nil, "absolute directory"},
		{"bad node name", map[string]string{"NODENAME": "Host_1"}, nil, "set NODENAME"},
		{"bad backend", map[string]string{"CALICO_IPTABLES_BACKEND": "ebpf"}, nil, "legacy, nft"},
		{"half TLS", map[string]string{"ETCD_CERT_FILE": "/x.pem"}, nil, "set both etcd_cert_file"},
		{"plain http off host", map[string]string{"ETCD_ENDPOINTS": "https://10.0.0.1:2379,http://10.0.0.2:2379"}, nil,
			`invalid etcd_endpoints "http://10.0.0.2:2379"`},
		{"quota too small", map[string]string{"CALICO_ETCD_QUOTA_BYTES": "1000"}, nil, "etcd_quota_bytes"},
		{"bad compaction", map[string]string{"CALICO_ETCD_COMPACTION_RETENTION": "often"}, nil, "etcd_compaction_retention"},
		{"unknown file key", nil, []string{"--config", badFile}, "unknown setting(s) vethmtu"},
		{"file not YAML", nil, []string{"--config", notYAML}, "is not YAML"},
		{"missing file", nil, []string{"--config", filepath.Join(dir, "none.yaml")}, "no such file"},
		{"unknown flag", nil, []string{"--colour"}, "unknown flag: --colour"},
		{"stray argument", nil, []string{"run"}, `unexpected argument "run"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t)
			t.Setenv("NODENAME", "host1")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			_, err := LoadConfig(tc.args, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestLoadConfigVersionAndHelp(t *testing.T) {
	clearEnv(t)
	_, err := LoadConfig([]string{"--version"}, io.Discard)
	if e, ok := err.(errExit); !ok || !strings.HasPrefix(e.msg, "calico-libnetwork ") {
		t.Errorf("--version: %v", err)
	}
	var out strings.Builder
	_, err = LoadConfig([]string{"--help"}, &out)
	if _, ok := err.(errExit); !ok || !strings.Contains(out.String(), "CALICO_VETH_MTU") {
		t.Errorf("--help: %v, output %q", err, out.String())
	}
}
