package iptables

import (
	"bufio"
	"bytes"
	"context"
	"strings"
)

// Backend is the iptables flavour whose kernel tables we program.
type Backend string

const (
	// BackendLegacy is the x_tables kernel interface (iptables-legacy-*).
	BackendLegacy Backend = "legacy"
	// BackendNFT is the nf_tables kernel interface (iptables-nft-*).
	BackendNFT Backend = "nft"
)

// Runner runs a command, feeding it stdin, and returns its standard output.
// felix/ns.NS implements it for a network namespace.
type Runner interface {
	Run(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error)
}

// binary returns the backend's variant of tool ("save" or "restore") for an
// IP version, for example ip6tables-nft-restore.
func (b Backend) binary(version int, tool string) string {
	base := "iptables"
	if version == 6 {
		base = "ip6tables"
	}
	return base + "-" + string(b) + "-" + tool
}

// ChooseBackend picks the backend from the number of rules each one already
// holds: the one other software (typically Docker) already uses wins, so our
// rules land in the same tables as theirs. On a tie (usually both empty) the
// distribution default decides (nftDefault: `iptables --version` says
// nf_tables).
//
// Calico's felix does the same comparison but falls back to legacy on a tie;
// we follow the distribution's default instead, which is what Docker itself
// will use on that host.
func ChooseBackend(legacyRules, nftRules int, nftDefault bool) Backend {
	switch {
	case nftRules > legacyRules:
		return BackendNFT
	case legacyRules > nftRules:
		return BackendLegacy
	case nftDefault:
		return BackendNFT
	default:
		return BackendLegacy
	}
}

// CountRules counts the rules ("-A" lines) in iptables-save output.
func CountRules(save []byte) int {
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(save))
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "-A ") {
			n++
		}
	}
	return n
}

// DetectBackend counts the rules in both backends (IPv4 and IPv6, all
// tables) and returns ChooseBackend's verdict. A save command that is missing
// or fails counts as zero rules: that backend is not in use.
func DetectBackend(ctx context.Context, r Runner) Backend {
	count := func(b Backend) int {
		n := 0
		for _, v := range []int{4, 6} {
			out, err := r.Run(ctx, nil, b.binary(v, "save"))
			if err == nil {
				n += CountRules(out)
			}
		}
		return n
	}
	legacy, nft := count(BackendLegacy), count(BackendNFT)
	ver, _ := r.Run(ctx, nil, "iptables", "--version")
	return ChooseBackend(legacy, nft, bytes.Contains(ver, []byte("nf_tables")))
}
