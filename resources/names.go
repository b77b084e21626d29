package resources

import (
	"net/netip"
	"regexp"
)

var (
	// dnsSubdomain is the name format of most kinds (RFC 1123 subdomain).
	dnsSubdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	// looseName is allowed for Profiles, whose names come from Docker
	// network names and classic runbooks ("PROF_GROUP1").
	looseName = regexp.MustCompile(`^[a-zA-Z0-9_.\-]+$`)
	// labelKey is an optional DNS prefix, a slash, and a name.
	labelKey   = regexp.MustCompile(`^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`)
	labelValue = regexp.MustCompile(`^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$`)
)

const maxNameLen = 253

func (v *validator) name(field, name string, loose bool) {
	re, hint := dnsSubdomain, "use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit"
	if loose {
		re, hint = looseName, "use letters, digits, '_', '-' and '.'"
	}
	switch {
	case name == "":
		v.add(field, nil, "is required: set a name")
	case len(name) > maxNameLen:
		v.add(field, name, "is longer than %d characters", maxNameLen)
	case !re.MatchString(name):
		v.add(field, name, "is not a valid name: %s", hint)
	}
}

func (v *validator) labels(field string, labels map[string]string) {
	for k, val := range labels {
		if len(k) > 316 || !labelKey.MatchString(k) {
			v.add(field, k, "is not a valid label key: use an optional DNS prefix and '/', then letters, digits, '-', '_' and '.'")
		}
		if len(val) > 63 || !labelValue.MatchString(val) {
			v.add(field+"."+k, val, "is not a valid label value: at most 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric")
		}
	}
}

// ParseCIDR parses a CIDR and returns it masked, or an error that says so.
func ParseCIDR(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return p.Masked(), nil
}

func (v *validator) cidr(field, s string) (netip.Prefix, bool) {
	if s == "" {
		v.add(field, nil, "is required: give a CIDR such as 10.1.0.0/16")
		return netip.Prefix{}, false
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		v.add(field, s, "is not a valid CIDR: give one such as 10.1.0.0/16 or fd00:10::/64")
		return netip.Prefix{}, false
	}
	return p, true
}

func (v *validator) oneOf(field, val string, allowed ...string) {
	for _, a := range allowed {
		if val == a {
			return
		}
	}
	v.add(field, val, "must be one of %v", allowed)
}

func (v *validator) asNumber(field string, asn *ASNumber) {
	if asn != nil && *asn == 0 {
		v.add(field, *asn, "must be a non-zero AS number (1-4294967295)")
	}
}

// dnsLabel is the format of a namespace name (RFC 1123 label).
var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// namespace checks a namespaced object's namespace. Any namespace is
// accepted, as in Calico; empty means DefaultNamespace after defaulting.
func (v *validator) namespace(ns string) {
	if ns == "" {
		return
	}
	if len(ns) > 63 || !dnsLabel.MatchString(ns) {
		v.add("metadata.namespace", ns, "is not a valid namespace: at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit")
	}
}

// annotations checks annotation keys as Kubernetes does (values are free).
func (v *validator) annotations(field string, ann map[string]string) {
	size := 0
	for k, val := range ann {
		size += len(k) + len(val)
		if len(k) > 316 || !labelKey.MatchString(k) {
			v.add(field, k, "is not a valid annotation key: use an optional DNS prefix and '/', then letters, digits, '-', '_' and '.'")
		}
	}
	if size > 256*1024 {
		v.add(field, nil, "are larger than 256 KiB in total: shorten them")
	}
}

// notOnDocker refuses a real Calico field that has no meaning on Docker,
// saying why and what to use instead.
func (v *validator) notOnDocker(field, why, instead string) {
	v.add(field, nil, "is a Calico field that does not apply on Docker: it %s; %s", why, instead)
}

// ParseNet parses a CIDR, or a bare address as a single-host prefix, and
// returns it masked.
func ParseNet(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}
