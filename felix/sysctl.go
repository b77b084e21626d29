package felix

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"golang.org/x/sys/unix"
)

// sysctl is one /proc/sys setting, path relative to /proc/sys.
type sysctl struct {
	path, value string
	optional    bool    // a missing file is fine (e.g. IPv6 disabled at boot)
	key         confKey // where a link dump gives its value, if it does (linkdump.go)
}

// globalSysctls enables forwarding for the whole namespace.
func globalSysctls(ipv6, flowLogs bool) []sysctl {
	s := []sysctl{{path: "net/ipv4/ip_forward", value: "1"}}
	if flowLogs { // conntrack's packet and byte counters (flow logs read them)
		s = append(s, sysctl{path: "net/netfilter/nf_conntrack_acct", value: "1", optional: true})
	}
	if ipv6 {
		s = append(s, sysctl{path: "net/ipv6/conf/all/forwarding", value: "1"})
	}
	return s
}

// ifaceSysctls are the per-interface settings Calico felix applies to a
// workload interface.
func ifaceSysctls(name string, ipv6 bool) []sysctl {
	v4, v6 := "net/ipv4/conf/"+name+"/", "net/ipv6/conf/"+name+"/"
	s := []sysctl{
		{path: v4 + "forwarding", value: "1", key: v4Forwarding},
		{path: v4 + "rp_filter", value: "1", key: v4RPFilter},                             // strict: no spoofed sources
		{path: v4 + "proxy_arp", value: "1", key: v4ProxyARP},                             // answer ARP for the gateway
		{path: "net/ipv4/neigh/" + name + "/proxy_delay", value: "0", key: arpProxyDelay}, // and answer at once
		// Never accept router advertisements from a workload, even without IPv6.
		{path: v6 + "accept_ra", value: "0", optional: !ipv6, key: v6AcceptRA},
	}
	if ipv6 {
		s = append(s,
			sysctl{path: v6 + "disable_ipv6", value: "0", key: v6DisableIPv6},
			sysctl{path: v6 + "proxy_ndp", value: "1", key: v6ProxyNDP},
			sysctl{path: v6 + "forwarding", value: "1", key: v6Forwarding})
	}
	return s
}

// applySysctls writes each setting whose current value differs. It must
// run inside the target namespace: /proc/sys/net is per namespace. conf,
// if not nil, is the interface's settings as a link dump gave them: those
// are not read again from /proc.
func applySysctls(settings []sysctl, conf *linkConf) error {
	for _, s := range settings {
		cur, known := conf.value(s.key)
		if known && cur == s.value {
			continue
		}
		err := writeSysctl(s.path, s.value, known)
		if err != nil && !(s.optional && errors.Is(err, fs.ErrNotExist)) {
			return err
		}
	}
	return nil
}

// writeSysctl sets one setting unless it already has the value: one open
// for both the read and the write (thousands of interfaces at start of
// day: the fewer syscalls, the sooner policy is in place). differs skips
// the read: the caller knows the value is another.
func writeSysctl(path, value string, differs bool) error {
	fd, err := unix.Open("/proc/sys/"+path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("read sysctl %s: %w", path, err)
	}
	defer unix.Close(fd)
	if !differs {
		var buf [64]byte
		n, err := unix.Pread(fd, buf[:], 0)
		if err != nil {
			return fmt.Errorf("read sysctl %s: %w", path, err)
		}
		if strings.TrimSpace(string(buf[:n])) == value {
			return nil
		}
	}
	if _, err := unix.Pwrite(fd, []byte(value), 0); err != nil {
		return fmt.Errorf("set sysctl %s=%s: %w", path, value, err)
	}
	return nil
}

// ensureGlobalSysctls applies globalSysctls in the namespace.
func (k *kernelState) ensureGlobalSysctls() error {
	return k.ns.Do(func() error { return applySysctls(globalSysctls(k.cfg.EnableIPv6, k.cfg.FlowLogs), nil) })
}

// configureIfaces brings workload interfaces up and applies their sysctls
// once per interface instance (again after a full resync or if the
// interface was recreated). A vanished interface is skipped.
func (k *kernelState) configureIfaces(eps []boundEndpoint) error {
	errs := errList{what: "configure interfaces"}
	live := make(map[string]bool, len(eps))
	var todo []boundEndpoint
	for _, ep := range eps {
		live[ep.IfaceName] = true
		errs.add(k.ensureUp(ep.link))
		if k.configured[ep.IfaceName] != ep.link.Attrs().Index {
			todo = append(todo, ep)
		}
	}
	for name := range k.configured {
		if !live[name] {
			delete(k.configured, name)
		}
	}
	if len(todo) == 0 {
		return errs.err()
	}
	errs.add(k.ns.Do(func() error {
		for _, ep := range todo {
			err := applySysctls(ifaceSysctls(ep.IfaceName, k.cfg.EnableIPv6), k.settings[int32(ep.link.Attrs().Index)])
			switch {
			case errors.Is(err, fs.ErrNotExist):
				k.log.Debug("Interface vanished before configuration", "iface", ep.IfaceName)
			case err != nil:
				errs.add(fmt.Errorf("interface %s: %w", ep.IfaceName, err))
			default:
				k.configured[ep.IfaceName] = ep.link.Attrs().Index
			}
		}
		return nil
	}))
	return errs.err()
}

// checkMany reports whether this apply checks enough interfaces' settings
// (endpoints not configured yet: all of them at a full resync) for reading
// them with the links to pay, against the interfaces the last dump found
// (linkdump.go).
func (k *kernelState) checkMany(eps []Endpoint) bool {
	n := 0
	for _, ep := range eps {
		if _, ok := k.configured[ep.IfaceName]; !ok {
			n++
		}
	}
	return useSettingsDump(n, k.linkCount)
}

// useSettingsDump reports whether n interfaces of a host of links are
// checked faster with the dumps than through /proc: reading the settings
// with the links adds ~13–23 µs an interface of the host, /proc costs ~50
// µs an interface checked (BenchmarkCheckSettings); from n of 2/5 of links
// (at least 32), the upper end of that break-even.
func useSettingsDump(n, links int) bool { return n >= max(32, links*2/5) }
