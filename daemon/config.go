package daemon

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"sigs.k8s.io/yaml"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// Config is the daemon's validated configuration.
type Config struct {
	Etcd            datastore.EtcdConfig // Endpoints empty: embedded etcd
	EtcdClientHost  string
	EtcdClientPort  int
	EtcdPeerPort    int
	NodeName        string
	PluginDir       string
	DataDir         string
	DefaultPool     netip.Prefix
	VethMTU         int
	IPv6            bool
	IptablesBackend string
	Dataplane       string // "iptables" or "nftables"
	// NftablesForwardHook keeps the nftables dataplane's to-workload
	// shards on the forward hook (felix.Config.NftablesForwardHook).
	NftablesForwardHook bool
	ResyncInterval      time.Duration
	IgnoreLooseRPF      bool
	DockerHost          string
	LogLevel            slog.Level
	Observability                // log_format, log_file, ..., metrics_addr, single_socket (observability.go)
	ConsoleSettings              // console, console_addr (console.go)
	Enforcement                  // endpoint_to_host_action, ipam_gc_interval, ipam_gc_grace (enforcement.go)
	HostProtection               // failsafe_inbound_host_ports, failsafe_outbound_host_ports (hostprotection.go)
	Routing                      // networking_backend, ip, ip6, as, vxlan_*, ipip_mtu (routing.go)
	EtcdSettings                 // etcd_compaction_retention, etcd_quota_bytes, etcd_maintenance_interval (etcd.go)
	JoinSettings                 // join_token, join_address, etcd_voters, etcd_join_port (join.go)
	FlowLogSettings              // flow_logs, flow_logs_interval, flow_logs_max, flow_logs_intervals (flows.go)
	Migrated            []string // old variables honoured (migrate.go), logged at start
	ConsulAddr          string   // consul_addr; "" = no Consul registration (consul.go)
	// Explicit holds the keys of the settings given by flag, environment or
	// config file (not left at their default): those with a
	// FelixConfiguration counterpart win over it (felixconfig.go).
	Explicit map[string]bool
	// LogLevels, set by Main, is the running logger's level, which
	// FelixConfiguration logSeverityScreen changes live; nil: it is not.
	LogLevels *slog.LevelVar
}

// errExit asks Main to stop without error (--help, --version).
type errExit struct{ msg string }

func (e errExit) Error() string { return e.msg }

// LoadConfig reads the configuration from flags (args), the environment
// and an optional YAML file (--config), in that order of precedence over
// the defaults. Every invalid value is an error naming the setting, its
// flag, variable and key, and what to use instead.
func LoadConfig(args []string, out io.Writer) (*Config, error) {
	fs := pflag.NewFlagSet("calico-libnetwork", pflag.ContinueOnError)
	fs.SetOutput(out)
	v := viper.New()
	for _, s := range settings {
		fs.Var(&settingValue{val: s.Default, typ: settingType(s)}, s.Flag, s.Help+" [$"+s.Env+"]") // flagtypes.go
		if settingType(s) == "bool" {
			fs.Lookup(s.Flag).NoOptDefVal = "true" // --ipv6 alone means true
		}
		v.SetDefault(s.Key, s.Default)
		_ = v.BindEnv(s.Key, s.Env)
	}
	cfgFile := fs.String("config", "", "optional YAML file of settings (keys as in the README table) [$CALICO_CONFIG_FILE]")
	version := fs.Bool("version", false, "print the version and exit")
	fs.Usage = func() { usage(out, fs) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil, errExit{}
		}
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q: settings are given as --flag=value (see --help)", fs.Arg(0))
	}
	if *version {
		return nil, errExit{msg: "calico-libnetwork " + Version()}
	}
	migrated, err := applyLegacyEnv(v, os.Environ()) // old variables (migrate.go)
	if err != nil {
		return nil, err
	}
	for _, s := range settings {
		if f := fs.Lookup(s.Flag); f.Changed {
			v.Set(s.Key, f.Value.String())
		}
	}
	path := *cfgFile
	if path == "" {
		path = os.Getenv("CALICO_CONFIG_FILE")
	}
	var fileKeys []string
	if path != "" {
		if fileKeys, err = readConfigFile(v, path); err != nil {
			return nil, err
		}
	}
	c, err := parseConfig(v)
	if c != nil {
		c.Migrated = migrated
		c.Explicit = explicitSettings(fs, fileKeys, legacyKeys(os.Environ())) // felixconfig.go
	}
	return c, err
}

func usage(out io.Writer, fs *pflag.FlagSet) {
	fmt.Fprintf(out, "calico-libnetwork: the Calico network (calico) and IPAM (calico-ipam) drivers for Docker.\n\n"+
		"Usage: calico-libnetwork [--flag=value ...]\n\n"+
		"Each setting comes from its flag, else its environment variable, else the --config file, else its default.\n\n")
	fs.PrintDefaults()
}

// readConfigFile loads a YAML file; unknown keys are errors, so a typo
// never silently leaves a default in place.
func readConfigFile(v *viper.Viper, path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("config file %s is not YAML: %w", path, err)
	}
	known := map[string]bool{}
	for _, s := range settings {
		known[s.Key] = true
	}
	var unknown []string
	for k := range m {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("config file %s: unknown setting(s) %s; known settings: %s",
			path, strings.Join(unknown, ", "), strings.Join(settingKeys(), ", "))
	}
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(b)); err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys, nil
}

func settingKeys() []string {
	keys := make([]string, len(settings))
	for i, s := range settings {
		keys[i] = s.Key
	}
	return keys
}

// configError names a setting in every way it can be given.
func configError(key, value, want string) error {
	for _, s := range settings {
		if s.Key == key {
			return fmt.Errorf("invalid %s %q (--%s, $%s, or %q in the config file): %s", key, value, s.Flag, s.Env, key, want)
		}
	}
	return fmt.Errorf("invalid %s %q: %s", key, value, want)
}

// parseConfig turns the merged settings into a Config.
func parseConfig(v *viper.Viper) (*Config, error) {
	p := parser{v: v}
	c := &Config{
		Etcd: datastore.EtcdConfig{
			Endpoints:  datastore.ParseEndpoints(p.str("etcd_endpoints")),
			CACertFile: p.str("etcd_ca_cert_file"), CertFile: p.str("etcd_cert_file"), KeyFile: p.str("etcd_key_file"),
		},
		EtcdClientHost:      p.host("etcd_client_host"),
		EtcdClientPort:      p.intIn("etcd_client_port", 1, 65535),
		EtcdPeerPort:        p.intIn("etcd_peer_port", 1, 65535),
		NodeName:            p.nodeName("nodename"),
		PluginDir:           p.dir("plugin_dir"),
		DataDir:             p.dir("data_dir"),
		DefaultPool:         p.pool("calico_network"),
		VethMTU:             p.intIn("veth_mtu", 68, 65535),
		IPv6:                p.boolean("ipv6"),
		IptablesBackend:     p.oneOf("iptables_backend", "", "legacy", "nft"),
		Dataplane:           p.dataplane(),
		NftablesForwardHook: p.boolean("nftables_forward_hook"),
		ResyncInterval:      p.duration("resync_interval"),
		IgnoreLooseRPF:      p.boolean("ignore_loose_rpf"),
		DockerHost:          p.str("docker_host"),
		LogLevel:            p.level("log_level"),
		Observability:       p.observability(),
		ConsoleSettings:     p.consoleSettings(),
		Enforcement:         p.enforcement(),
		HostProtection:      p.hostProtection(),
		Routing:             p.routing(),
		ConsulAddr:          p.hostPort("consul_addr"),
		EtcdSettings:        p.etcdSettings(),
		JoinSettings:        p.joinSettings(),
		FlowLogSettings:     p.flowLogSettings(),
	}
	if p.err == nil {
		p.fail(checkEtcdExposure(c.Etcd.Endpoints))
	}
	if len(c.Etcd.Endpoints) == 0 && c.EtcdClientPort == c.EtcdPeerPort && p.err == nil {
		p.fail(configError("etcd_peer_port", strconv.Itoa(c.EtcdPeerPort), "must differ from etcd_client_port"))
	}
	if (c.Etcd.CertFile == "") != (c.Etcd.KeyFile == "") && p.err == nil {
		p.fail(errors.New("etcd TLS: set both etcd_cert_file ($ETCD_CERT_FILE) and etcd_key_file ($ETCD_KEY_FILE), or neither"))
	}
	if p.err != nil {
		return nil, p.err
	}
	return c, nil
}

// parser reads settings, keeping the first error.
type parser struct {
	v   *viper.Viper
	err error
}

func (p *parser) fail(err error) {
	if p.err == nil {
		p.err = err
	}
}

func (p *parser) str(key string) string { return strings.TrimSpace(p.v.GetString(key)) }

func (p *parser) intIn(key string, lo, hi int) int {
	s := p.str(key)
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		p.fail(configError(key, s, fmt.Sprintf("use a whole number from %d to %d", lo, hi)))
	}
	return n
}

func (p *parser) boolean(key string) bool {
	s := p.str(key)
	b, err := strconv.ParseBool(s)
	if err != nil {
		p.fail(configError(key, s, "use true or false"))
	}
	return b
}

func (p *parser) oneOf(key string, allowed ...string) string {
	s := p.str(key)
	for _, a := range allowed {
		if s == a {
			return s
		}
	}
	p.fail(configError(key, s, "use one of "+strings.Join(allowed[1:], ", ")+" (or leave it empty)"))
	return ""
}

// dataplane reads the policy dataplane: iptables or nftables.
func (p *parser) dataplane() string {
	s := strings.ToLower(p.str("dataplane"))
	if s != "iptables" && s != "nftables" {
		p.fail(configError("dataplane", p.str("dataplane"),
			"use iptables (iptables-restore and ipset) or nftables (native nftables over netlink)"))
	}
	return s
}

func (p *parser) duration(key string) time.Duration {
	s := p.str(key)
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Second {
		p.fail(configError(key, s, "use a duration of at least 1s, such as 30s or 5m"))
	}
	return d
}

func (p *parser) dir(key string) string {
	s := p.str(key)
	if !strings.HasPrefix(s, "/") {
		p.fail(configError(key, s, "use an absolute directory path"))
	}
	return s
}

func (p *parser) host(key string) string {
	s := p.str(key)
	if a, err := netip.ParseAddr(s); err != nil || !a.Is4() {
		p.fail(configError(key, s, "use an IPv4 address such as 127.0.0.1 or 0.0.0.0"))
	}
	return s
}

func (p *parser) pool(key string) netip.Prefix {
	s := p.str(key)
	pfx, err := netip.ParsePrefix(s)
	switch {
	case err != nil || !pfx.Addr().Is4():
		p.fail(configError(key, s, "use an IPv4 CIDR such as 192.168.0.0/16"))
	case pfx != pfx.Masked():
		p.fail(configError(key, s, "has host bits set: use "+pfx.Masked().String()))
	case pfx.Bits() > 26:
		p.fail(configError(key, s, "is smaller than one /26 block: use a prefix of /26 or shorter"))
	}
	return pfx
}

func (p *parser) level(key string) slog.Level {
	s := p.str(key)
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		p.fail(configError(key, s, "use debug, info, warn or error"))
	}
	return l
}

// nodeName defaults to the host name, lower-cased as Calico does, and must
// be a valid Node name.
func (p *parser) nodeName(key string) string {
	s := p.str(key)
	if s == "" {
		h, err := os.Hostname()
		if err != nil {
			p.fail(fmt.Errorf("cannot read the host name (%w): set NODENAME or --nodename", err))
			return ""
		}
		s = strings.ToLower(h)
	}
	if err := resources.NewNode(s).Validate(); err != nil {
		p.fail(configError(key, s, "use lower-case letters, digits, '-' and '.' (a DNS name); set NODENAME"))
	}
	return s
}
