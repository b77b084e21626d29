package daemon

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/viper"
)

// The environment variables of Calico's own libnetwork plugin
// (calico/libnetwork-plugin) and of calico/node (its startup and felix),
// which someone migrating will still have set. Each is either honoured,
// mapped to one of our settings with the same meaning, or refused at
// start-up with the setting (or command) to use instead: never silently
// ignored.

// legacyVar is one old variable: the setting it maps to and how its value
// translates (an error says why the value cannot be honoured).
type legacyVar struct {
	key       string // our setting; "" when the value is only checked
	translate func(string) (string, error)
}

// same passes a value through unchanged.
func same(v string) (string, error) { return v, nil }

// onlyValue honours a variable whose only supported value is today's
// behaviour, and refuses the others naming what to do instead.
func onlyValue(want, otherwise string) func(string) (string, error) {
	return func(v string) (string, error) {
		if strings.EqualFold(strings.TrimSpace(v), want) {
			return "", nil
		}
		return "", fmt.Errorf("only %s is supported: %s", want, otherwise)
	}
}

// oneOfMap translates case-insensitively from a fixed table.
func oneOfMap(m map[string]string) func(string) (string, error) {
	return func(v string) (string, error) {
		if out, ok := m[strings.ToLower(strings.TrimSpace(v))]; ok {
			return out, nil
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return "", fmt.Errorf("use one of %s", strings.Join(keys, ", "))
	}
}

// seconds translates felix's intervals (seconds, possibly fractional) to a
// duration.
func seconds(v string) (string, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || f < 0 {
		return "", fmt.Errorf("use a number of seconds")
	}
	return (time.Duration(f * float64(time.Second))).String(), nil
}

const poolModeHelp = "the default pool is created without encapsulation; create the pool you need with " +
	"`calicoctl apply -f` (an IPPool with spec.ipipMode or spec.vxlanMode Always or CrossSubnet)"

// poolMode honours Never (the default pool has no encapsulation).
func poolMode(v string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "never", "off", "false":
		return "", nil
	}
	return "", fmt.Errorf("%s", poolModeHelp)
}

// legacyVars maps each old variable to its handling.
var legacyVars = map[string]legacyVar{
	"CALICO_LIBNETWORK_CREATE_PROFILES": {"", onlyValue("true",
		"every network gets a profile; to use a profile of your own, create the network with --opt org.projectcalico.profile=NAME")},
	"CALICO_LIBNETWORK_LABEL_ENDPOINTS": {"", onlyValue("true",
		"container labels org.projectcalico.label.KEY=VALUE always become endpoint labels; leave such labels off containers")},
	"CALICO_LIBNETWORK_IFPREFIX": {"", onlyValue("cali",
		"the interface prefix is always cali (host side cali<id>, container side cali0)")},
	"CALICO_IPV4POOL_CIDR":              {"calico_network", same},
	"CALICO_IPV4POOL_IPIP":              {"", poolMode},
	"CALICO_IPV4POOL_VXLAN":             {"", poolMode},
	"FELIX_IPTABLESBACKEND":             {"iptables_backend", oneOfMap(map[string]string{"legacy": "legacy", "nft": "nft", "auto": ""})},
	"FELIX_IPV6SUPPORT":                 {"ipv6", same},
	"FELIX_IGNORELOOSERPF":              {"ignore_loose_rpf", same},
	"FELIX_LOGSEVERITYSCREEN":           {"log_level", oneOfMap(map[string]string{"debug": "debug", "info": "info", "warning": "warn", "error": "error", "fatal": "error", "panic": "error"})},
	"FELIX_LOGFILEPATH":                 {"log_file", same},
	"FELIX_IPINIPMTU":                   {"ipip_mtu", same},
	"FELIX_VXLANMTU":                    {"vxlan_mtu", same},
	"FELIX_VXLANVNI":                    {"vxlan_vni", same},
	"FELIX_VXLANPORT":                   {"vxlan_port", same},
	"FELIX_ETCDENDPOINTS":               {"etcd_endpoints", same},
	"FELIX_ETCDCAFILE":                  {"etcd_ca_cert_file", same},
	"FELIX_ETCDCERTFILE":                {"etcd_cert_file", same},
	"FELIX_ETCDKEYFILE":                 {"etcd_key_file", same},
	"FELIX_FELIXHOSTNAME":               {"nodename", same},
	"FELIX_DATASTORETYPE":               {"", onlyValue("etcdv3", "the datastore is always etcd (etcd_endpoints)")},
	"FELIX_IPTABLESREFRESHINTERVAL":     {"resync_interval", seconds},
	"FELIX_ROUTEREFRESHINTERVAL":        {"resync_interval", seconds},
	"FELIX_DEFAULTENDPOINTTOHOSTACTION": {"endpoint_to_host_action", oneOfMap(map[string]string{"drop": "Drop", "accept": "Accept"})},
	"FELIX_FAILSAFEINBOUNDHOSTPORTS":    {"failsafe_inbound_host_ports", same},
	"FELIX_FAILSAFEOUTBOUNDHOSTPORTS":   {"failsafe_outbound_host_ports", same},
	"FELIX_PROMETHEUSMETRICSENABLED": {"", onlyValue("false",
		"set metrics_addr (--metrics-addr, $CALICO_METRICS_ADDR), e.g. localhost:9091, to serve /metrics")},
}

// legacyEnv reads the old variables from environ (KEY=value lines) and
// returns our settings they map to (key → value), notes saying what was
// honoured, and an error naming every variable that is refused, with the
// setting to use instead. A setting also given by its own variable must
// agree with the old one. Unknown FELIX_* variables are refused: felix's
// other knobs have no equivalent here.
func legacyEnv(environ []string) (map[string]string, []string, error) {
	vals, notes := map[string]string{}, []string(nil)
	from := map[string]string{}
	var problems []string
	envOf := map[string]string{}
	for _, s := range settings {
		envOf[s.Key] = s.Env
	}
	sort.Strings(environ)
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if value == "" || !(strings.HasPrefix(name, "CALICO_") || strings.HasPrefix(name, "FELIX_")) {
			continue
		}
		lv, known := legacyVars[name]
		if !known {
			if strings.HasPrefix(name, "FELIX_") {
				problems = append(problems, fmt.Sprintf("%s: felix setting not supported by calico-libnetwork; "+
					"remove it (calico-libnetwork --help lists the settings)", name))
			}
			continue
		}
		out, err := lv.translate(value)
		switch {
		case err != nil && lv.key != "":
			problems = append(problems, fmt.Sprintf("%s=%q: %v (it maps to %s, $%s)", name, value, err, lv.key, envOf[lv.key]))
			continue
		case err != nil:
			problems = append(problems, fmt.Sprintf("%s=%q: %v", name, value, err))
			continue
		case lv.key == "":
			notes = append(notes, fmt.Sprintf("%s=%s is today's behaviour", name, value))
			continue
		}
		if own := os.Getenv(envOf[lv.key]); own != "" && own != out {
			problems = append(problems, fmt.Sprintf("%s=%q conflicts with $%s=%q: keep only $%s", name, value, envOf[lv.key], own, envOf[lv.key]))
			continue
		}
		if prev, ok := vals[lv.key]; ok && prev != out {
			problems = append(problems, fmt.Sprintf("%s=%q conflicts with %s: both map to %s; keep one", name, value, from[lv.key], lv.key))
			continue
		}
		vals[lv.key], from[lv.key] = out, name
		notes = append(notes, fmt.Sprintf("%s honoured as %s=%q ($%s)", name, lv.key, out, envOf[lv.key]))
	}
	if len(problems) > 0 {
		return nil, nil, fmt.Errorf("old Calico environment variable(s) that calico-libnetwork cannot honour: %s",
			strings.Join(problems, "; "))
	}
	return vals, notes, nil
}

// applyLegacyEnv sets the values of honoured old variables at the
// environment's precedence (over the config file, under flags: flags are
// set afterwards) unless the setting's own variable is set.
func applyLegacyEnv(v *viper.Viper, environ []string) ([]string, error) {
	vals, notes, err := legacyEnv(environ)
	if err != nil {
		return nil, err
	}
	for k, val := range vals {
		v.Set(k, val)
	}
	return notes, nil
}
