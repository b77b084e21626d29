package daemon

import (
	"io"
	"strings"
	"testing"
	"time"
)

// TestLegacyVariables: each old variable of Calico's libnetwork plugin and
// calico/node is honoured (mapped to our setting) or refused naming what
// to use instead.
func TestLegacyVariables(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		check func(*Config) bool
		err   string // "" = accepted
	}{
		{"pool cidr", map[string]string{"CALICO_IPV4POOL_CIDR": "10.60.0.0/16"},
			func(c *Config) bool { return c.DefaultPool.String() == "10.60.0.0/16" }, ""},
		{"pool cidr invalid names both", map[string]string{"CALICO_IPV4POOL_CIDR": "10.60.0.1/16"}, nil, "calico_network"},
		{"pool cidr agrees", map[string]string{"CALICO_IPV4POOL_CIDR": "10.60.0.0/16", "CALICO_NETWORK": "10.60.0.0/16"},
			func(c *Config) bool { return c.DefaultPool.String() == "10.60.0.0/16" }, ""},
		{"pool cidr conflicts", map[string]string{"CALICO_IPV4POOL_CIDR": "10.60.0.0/16", "CALICO_NETWORK": "10.70.0.0/16"},
			nil, "conflicts with $CALICO_NETWORK"},
		{"ipip never", map[string]string{"CALICO_IPV4POOL_IPIP": "Never"}, func(*Config) bool { return true }, ""},
		{"ipip always", map[string]string{"CALICO_IPV4POOL_IPIP": "Always"}, nil, "spec.ipipMode"},
		{"vxlan crosssubnet", map[string]string{"CALICO_IPV4POOL_VXLAN": "CrossSubnet"}, nil, "calicoctl apply"},
		{"create profiles true", map[string]string{"CALICO_LIBNETWORK_CREATE_PROFILES": "true"}, func(*Config) bool { return true }, ""},
		{"create profiles false", map[string]string{"CALICO_LIBNETWORK_CREATE_PROFILES": "false"}, nil, "org.projectcalico.profile=NAME"},
		{"label endpoints false", map[string]string{"CALICO_LIBNETWORK_LABEL_ENDPOINTS": "false"}, nil, "org.projectcalico.label.KEY"},
		{"label endpoints TRUE", map[string]string{"CALICO_LIBNETWORK_LABEL_ENDPOINTS": "TRUE"}, func(*Config) bool { return true }, ""},
		{"ifprefix cali", map[string]string{"CALICO_LIBNETWORK_IFPREFIX": "cali"}, func(*Config) bool { return true }, ""},
		{"ifprefix other", map[string]string{"CALICO_LIBNETWORK_IFPREFIX": "tap"}, nil, "always cali"},
		{"felix backend", map[string]string{"FELIX_IPTABLESBACKEND": "NFT"},
			func(c *Config) bool { return c.IptablesBackend == "nft" }, ""},
		{"felix backend auto", map[string]string{"FELIX_IPTABLESBACKEND": "Auto"},
			func(c *Config) bool { return c.IptablesBackend == "" }, ""},
		{"felix backend bad", map[string]string{"FELIX_IPTABLESBACKEND": "ebpf"}, nil, "maps to iptables_backend, $CALICO_IPTABLES_BACKEND"},
		{"felix ipv6", map[string]string{"FELIX_IPV6SUPPORT": "true"}, func(c *Config) bool { return c.IPv6 }, ""},
		{"felix log level", map[string]string{"FELIX_LOGSEVERITYSCREEN": "Warning"},
			func(c *Config) bool { return c.LogLevel.String() == "WARN" }, ""},
		{"felix refresh seconds", map[string]string{"FELIX_IPTABLESREFRESHINTERVAL": "90"},
			func(c *Config) bool { return c.ResyncInterval == 90*time.Second }, ""},
		{"felix refresh conflict", map[string]string{"FELIX_IPTABLESREFRESHINTERVAL": "90", "FELIX_ROUTEREFRESHINTERVAL": "30"},
			nil, "both map to resync_interval"},
		{"felix host action", map[string]string{"FELIX_DEFAULTENDPOINTTOHOSTACTION": "ACCEPT"},
			func(c *Config) bool { return c.EndpointToHostAccept }, ""},
		{"felix host action return", map[string]string{"FELIX_DEFAULTENDPOINTTOHOSTACTION": "RETURN"},
			func(c *Config) bool { return c.EndpointToHostAction == "Return" }, ""},
		{"felix host action bad", map[string]string{"FELIX_DEFAULTENDPOINTTOHOSTACTION": "ALLOW"}, nil, "use one of accept, drop, return"},
		{"felix mtu", map[string]string{"FELIX_VXLANMTU": "1400"}, func(c *Config) bool { return c.Routing.VXLANMTU == 1400 }, ""},
		{"felix unknown", map[string]string{"FELIX_BPFENABLED": "true"}, nil, "FELIX_BPFENABLED: felix setting not supported"},
		{"felix metrics", map[string]string{"FELIX_PROMETHEUSMETRICSENABLED": "true"}, nil, "set metrics_addr"},
		{"flag wins over old variable", map[string]string{"FELIX_IPINIPMTU": "1400"},
			func(c *Config) bool { return c.Routing.IPIPMTU == 1300 }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t)
			t.Setenv("NODENAME", "host1")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var args []string
			if tc.name == "flag wins over old variable" {
				args = []string{"--ipip-mtu=1300"}
			}
			c, err := LoadConfig(args, io.Discard)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(c) {
				t.Errorf("config not as the old variable says: %+v", c)
			}
			if len(c.Migrated) == 0 {
				t.Error("no note of the honoured variable")
			}
		})
	}
}

// TestHelpShowsTypes: --help shows each setting's real type and default.
func TestHelpShowsTypes(t *testing.T) {
	clearEnv(t)
	var out strings.Builder
	if _, err := LoadConfig([]string{"--help"}, &out); err == nil {
		t.Fatal("--help did not stop")
	}
	help := out.String()
	for _, want := range []string{
		"--veth-mtu int ", "(default 1500)", "--resync-interval duration ", "(default 60s)", "--ipam-gc-interval duration ",
		"--ipv6  ", "--single-socket  ", "--as int ", "--etcd-client-port int ", "--log-level string ", `(default "info")`,
	} {
		if !strings.Contains(help, want) {
			t.Errorf("--help lacks %q", want)
		}
	}
	for _, s := range settings {
		switch typ := settingType(s); typ {
		case "bool", "int", "duration":
			if strings.Contains(help, "--"+s.Flag+" string") {
				t.Errorf("%s shown as string, want %s", s.Flag, typ)
			}
		}
	}
}
