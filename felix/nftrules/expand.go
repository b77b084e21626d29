package nftrules

import (
	"strings"

	ipt "github.com/calico-docker/calico-libnetwork/felix/iptables"
)

// Expand splits a rule whose positive multiport lists hold several entries
// into one rule per combination (an iptables multiport match is "any of";
// nftables without an anonymous set compares one value). The rules' verdicts
// are idempotent (accept mark, drop, log of a packet that matches one
// combination only), so the split changes nothing. Other rules are
// returned as they are.
func Expand(r ipt.Rule) []ipt.Rule {
	toks := strings.Fields(r.Match)
	for i := 0; i+3 < len(toks); i++ {
		if toks[i] != "-m" || toks[i+1] != "multiport" || toks[i+2] == "!" || !strings.Contains(toks[i+3], ",") {
			continue
		}
		var out []ipt.Rule
		for _, item := range strings.Split(toks[i+3], ",") {
			t := append(append(append([]string{}, toks[:i+3]...), item), toks[i+4:]...)
			out = append(out, Expand(ipt.Rule{Match: strings.Join(t, " "), Action: r.Action})...)
		}
		return out
	}
	return []ipt.Rule{r}
}
