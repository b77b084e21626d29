package daemon

import "github.com/calico-docker/calico-libnetwork/resources"

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
		"embedded etcd: address its client URL listens on (always TLS with client certificates from the cluster CA in <data_dir>/pki)"},
	{"etcd_client_port", "etcd-client-port", "CALICO_ETCD_CLIENT_PORT", "2379", "embedded etcd: client port"},
	{"etcd_peer_port", "etcd-peer-port", "CALICO_ETCD_PEER_PORT", "2380", "embedded etcd: peer port (TLS; reachable from other hosts once etcd_client_host is not loopback or the host joined)"},
	{"etcd_compaction_retention", "etcd-compaction-retention", "CALICO_ETCD_COMPACTION_RETENTION", "10m",
		"embedded etcd: history kept; older revisions are compacted away at this period"},
	{"etcd_quota_bytes", "etcd-quota-bytes", "CALICO_ETCD_QUOTA_BYTES", "2147483648",
		"embedded etcd: database size at which etcd raises NOSPACE and refuses writes (16 MiB to 8 GiB)"},
	{"etcd_maintenance_interval", "etcd-maintenance-interval", "CALICO_ETCD_MAINTENANCE_INTERVAL", "5m",
		"embedded etcd: how often to defragment when at least half the file is free, and to recover from NOSPACE"},
	{"etcd_restore_snapshot", "etcd-restore-snapshot", "CALICO_ETCD_RESTORE_SNAPSHOT", "",
		"embedded etcd: on a host with no etcd data yet, start from this snapshot (calicoctl datastore backup) as a new single member"},
	{"etcd_voters", "etcd-voters", "CALICO_ETCD_VOTERS", "3",
		"embedded etcd: voting members the cluster grows to as hosts join (1-5); later hosts join as clients"},
	{"etcd_join_port", "etcd-join-port", "CALICO_ETCD_JOIN_PORT", "2381",
		"embedded etcd: port of this member's join endpoint (TLS), served when etcd_client_host is not loopback or the host joined"},
	{"join_token", "join-token", "CALICO_JOIN_TOKEN", "",
		"join the cluster with this token from `calicoctl cluster token` (first start only; with join_address)"},
	{"join_address", "join-address", "CALICO_JOIN_ADDRESS", "",
		"a member's address to join (host, or host:port of its join endpoint, default port 2381)"},
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
	{"dataplane", "dataplane", "CALICO_DATAPLANE", "iptables",
		"policy dataplane: iptables (iptables-restore and ipset) or nftables (the daemon's own nftables tables over netlink; no iptables, ipset or nft binaries needed); when given, it wins over FelixConfiguration nftablesMode, read at start"},
	{"nftables_forward_hook", "nftables-forward-hook", "CALICO_NFTABLES_FORWARD_HOOK", "false",
		"nftables dataplane: keep workloads' ingress policy on the forward hook, as on kernels before 6.16, where it would otherwise run on each workload interface's egress hook (faster at thousands of endpoints; docs/nftables.md)"},
	{"resync_interval", "resync-interval", "CALICO_RESYNC_INTERVAL", "60s", "period of the dataplane's full resync"},
	{"ignore_loose_rpf", "ignore-loose-rpf", "CALICO_IGNORE_LOOSE_RPF", "false",
		"start even when net.ipv4.conf.all.rp_filter is 2 (loose), which lets workloads with CAP_NET_RAW spoof addresses"},
	{"endpoint_to_host_action", "endpoint-to-host-action", "CALICO_ENDPOINT_TO_HOST_ACTION", "Drop",
		"traffic from workloads to this host itself (its addresses, and the workloads' gateway 169.254.1.1, which is the host), once their egress policy allowed it: Drop (the host is protected from its workloads), Accept, or Return (to the INPUT chain's later rules); when given, it wins over FelixConfiguration defaultEndpointToHostAction. Any other link-local destination is dropped: it never leaves the host"},
	// Host endpoint protection (hostprotection.go), with Calico's defaults.
	{"failsafe_inbound_host_ports", "failsafe-inbound-host-ports", "CALICO_FAILSAFE_INBOUND_HOST_PORTS",
		resources.FormatProtoPorts(resources.DefaultFailsafeInboundHostPorts()),
		"ports always open into this host through HostEndpoint policy (Calico's failsafeInboundHostPorts): [protocol:][net:]port,... such as tcp:22,udp:68, or none"},
	{"failsafe_outbound_host_ports", "failsafe-outbound-host-ports", "CALICO_FAILSAFE_OUTBOUND_HOST_PORTS",
		resources.FormatProtoPorts(resources.DefaultFailsafeOutboundHostPorts()),
		"ports this host can always reach through HostEndpoint policy (Calico's failsafeOutboundHostPorts): [protocol:][net:]port,... such as udp:53,tcp:179, or none"},
	{"ipam_gc_interval", "ipam-gc-interval", "CALICO_IPAM_GC_INTERVAL", "5m",
		"how often to free leaked IPAM allocations of this node (addresses no endpoint holds); 0 turns the collector off"},
	{"ipam_gc_grace", "ipam-gc-grace", "CALICO_IPAM_GC_GRACE", "10m",
		"how old a leaked allocation must be before the collector frees it (at least 1m: a container being created holds an address before its endpoint exists)"},
	{"docker_host", "docker-host", "DOCKER_HOST", "unix:///var/run/docker.sock",
		"Docker API address, used to learn network names"},
	{"log_level", "log-level", "CALICO_LOG_LEVEL", "info", "debug, info, warn or error"},
	// Observability and packaging (observability.go, plugin.go).
	{"log_format", "log-format", "CALICO_LOG_FORMAT", "text", "format of log records: text (key=value) or json"},
	{"log_file", "log-file", "CALICO_LOG_FILE", "/var/log/calico/calico-libnetwork.log",
		"also log to this file, rotated by size; none: log to stderr only"},
	{"log_max_size_mb", "log-max-size-mb", "CALICO_LOG_MAX_SIZE_MB", "1", "rotate the log file when it reaches this many MB"},
	{"log_max_files", "log-max-files", "CALICO_LOG_MAX_FILES", "10",
		"log files kept, the current one included (at least 2); the oldest are deleted"},
	{"metrics_addr", "metrics-addr", "CALICO_METRICS_ADDR", "",
		"host:port serving Prometheus /metrics, /healthz and /readyz (e.g. localhost:9091); empty: off"},
	{"pprof", "pprof", "CALICO_PPROF", "false",
		"also serve Go's profiler, /debug/pprof/, on metrics_addr (needs it set); for diagnosing CPU and memory use"},
	{"console", "console", "CALICO_CONSOLE", "false",
		"serve the web console (live flows, endpoints, the policy that decided each flow) and its flows API on console_addr"},
	{"console_addr", "console-addr", "CALICO_CONSOLE_ADDR", "127.0.0.1:9099",
		"host:port of the web console when console is true; it has no login, so keep it on localhost unless others must reach it"},
	{"single_socket", "single-socket", "CALICO_SINGLE_SOCKET", "false",
		"serve the network and IPAM drivers on one socket, <plugin_dir>/calico.sock (the managed plugin does)"},
	// Flow logs (flows.go; docs/flows.md).
	{"flow_logs", "flow-logs", "CALICO_FLOW_LOGS", "true",
		"log every connection policy decides (first packet, NFLOG) with the deciding policy rule, counted by conntrack; served by `calicoctl flows`, the status socket and metrics_addr"},
	{"flow_logs_interval", "flow-logs-interval", "CALICO_FLOW_LOGS_INTERVAL", "15s", "flow-log aggregation interval (1s to 10m)"},
	{"flow_logs_max", "flow-logs-max", "CALICO_FLOW_LOGS_MAX", "10000",
		"flow rows kept per interval (100 to 1000000; 4x as many connections tracked); what does not fit is counted as dropped"},
	{"flow_logs_intervals", "flow-logs-intervals", "CALICO_FLOW_LOGS_INTERVALS", "20", "closed flow-log intervals kept in memory (1 to 1000)"},
	// Routing across hosts (routing.go), named as calico/node's.
	{"networking_backend", "networking-backend", "CALICO_NETWORKING_BACKEND", "bird",
		"bird: BGP between hosts (in-process) plus pool encapsulation; vxlan: no BGP, VXLAN pools only; none: no routing"},
	{"ip", "ip", "IP", "",
		"this host's BGP IPv4 address (CIDR, e.g. 10.0.0.1/24), autodetect, or none; empty: keep the stored one, else autodetect"},
	{"ip6", "ip6", "IP6", "", "this host's BGP IPv6 address (CIDR), autodetect, or none; empty: keep the stored one"},
	{"ip_autodetection_method", "ip-autodetection-method", "IP_AUTODETECTION_METHOD", "first-found",
		"first-found, interface=REGEX, skip-interface=REGEX, can-reach=ADDRESS or cidr=CIDR"},
	{"ip6_autodetection_method", "ip6-autodetection-method", "IP6_AUTODETECTION_METHOD", "first-found",
		"as ip_autodetection_method, for IPv6"},
	{"as", "as", "AS", "", "this host's AS number; empty: keep the stored one (else the BGPConfiguration default, else 64512)"},
	{"vxlan_vni", "vxlan-vni", "CALICO_VXLAN_VNI", "4096", "VNI of vxlan.calico"},
	{"vxlan_port", "vxlan-port", "CALICO_VXLAN_PORT", "4789", "UDP port of VXLAN"},
	{"vxlan_mtu", "vxlan-mtu", "CALICO_VXLAN_MTU", "1450", "MTU of vxlan.calico"},
	{"ipip_mtu", "ipip-mtu", "CALICO_IPINIP_MTU", "1480", "MTU of tunl0 (IPIP)"},
	{"bgp_secrets_dir", "bgp-secrets-dir", "CALICO_BGP_SECRETS_DIR", "",
		"directory of BGP passwords: a BGPPeer's password.secretKeyRef {name, key} is the file <dir>/<name>/<key>; empty: <data_dir>/bgp-secrets"},
	// Service registration (consul.go).
	{"consul_addr", "consul-addr", "CALICO_CONSUL_ADDR", "",
		"host:port of the local Consul agent (e.g. 127.0.0.1:8500): register each workload as <app>-direct at its Calico address; empty: off"},
}

// Settings returns every configuration setting.
func Settings() []Setting { return append([]Setting(nil), settings...) }
