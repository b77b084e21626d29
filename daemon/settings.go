package daemon

// Setting is one configuration value: a key (as written in the config
// file), its command-line flag, its environment variable, its default and
// what it means. Settings() lists them for --help and the README.
type Setting struct {
	Key     string // config-file key, e.g. etcd_client_port
	Flag    string // --flag name
	Env     string // environment variable
	Default string // as text; "" = unset
	Help    string
}

// settings is the complete list; every field of Config comes from one.
var settings = []Setting{
	{"etcd_endpoints", "etcd-endpoints", "ETCD_ENDPOINTS", "",
		"comma-separated etcd URLs (http(s)://host:port); empty: run an embedded single-node etcd"},
	{"etcd_ca_cert_file", "etcd-ca-cert-file", "ETCD_CA_CERT_FILE", "", "CA certificate for etcd TLS"},
	{"etcd_cert_file", "etcd-cert-file", "ETCD_CERT_FILE", "", "client certificate for etcd TLS (with etcd_key_file)"},
	{"etcd_key_file", "etcd-key-file", "ETCD_KEY_FILE", "", "client key for etcd TLS (with etcd_cert_file)"},
	{"etcd_client_host", "etcd-client-host", "CALICO_ETCD_CLIENT_HOST", "127.0.0.1",
		"embedded etcd: address its client URL listens on (0.0.0.0 lets other hosts use it)"},
	{"etcd_client_port", "etcd-client-port", "CALICO_ETCD_CLIENT_PORT", "2379", "embedded etcd: client port"},
	{"etcd_peer_port", "etcd-peer-port", "CALICO_ETCD_PEER_PORT", "2380", "embedded etcd: peer port (on 127.0.0.1)"},
	{"nodename", "nodename", "NODENAME", "", "this host's Calico node name (default: the host name, lower-cased)"},
	{"plugin_dir", "plugin-dir", "CALICO_PLUGIN_DIR", "/run/docker/plugins",
		"directory of the plugin sockets calico.sock and calico-ipam.sock (Docker looks in /run/docker/plugins)"},
	{"data_dir", "data-dir", "CALICO_DATA_DIR", "/var/lib/calico", "state directory (the embedded etcd's data is in <data_dir>/etcd)"},
	{"calico_network", "calico-network", "CALICO_NETWORK", "192.168.0.0/16",
		"CIDR of the default IPv4 pool, created at start-up when no pool exists"},
	{"veth_mtu", "veth-mtu", "CALICO_VETH_MTU", "1500", "MTU of workload veths (68-65535)"},
	{"ipv6", "ipv6", "CALICO_IPV6", "false", "program IPv6 routes, sysctls and ip6tables for workloads"},
	{"iptables_backend", "iptables-backend", "CALICO_IPTABLES_BACKEND", "",
		"iptables backend: legacy or nft; empty: detect (must match Docker's)"},
	{"resync_interval", "resync-interval", "CALICO_RESYNC_INTERVAL", "60s", "period of the dataplane's full resync"},
	{"ignore_loose_rpf", "ignore-loose-rpf", "CALICO_IGNORE_LOOSE_RPF", "false",
		"start even when net.ipv4.conf.all.rp_filter is 2 (loose), which lets workloads with CAP_NET_RAW spoof addresses"},
	{"docker_host", "docker-host", "DOCKER_HOST", "unix:///var/run/docker.sock",
		"Docker API address, used to learn network names"},
	{"log_level", "log-level", "CALICO_LOG_LEVEL", "info", "debug, info, warn or error"},
}

// Settings returns every configuration setting.
func Settings() []Setting { return append([]Setting(nil), settings...) }
