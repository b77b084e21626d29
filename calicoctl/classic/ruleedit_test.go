package classic

import (
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/resources"
)

// FuzzRuleWords: the classic rule text parser never panics, and what it
// accepts validates.
func FuzzRuleWords(f *testing.F) {
	for _, s := range []string{"allow tcp to ports 80,443", "deny from cidr 10.0.0.0/8", "allow icmp type 8 code 0", "allow udp from ports 1:2 tag A to tag B", "deny to"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		r, err := parseRuleWords(strings.Fields(text))
		if err != nil {
			return
		}
		p := resources.NewProfile("p")
		p.Spec.Ingress = []resources.Rule{r}
		if err := p.Validate(); err != nil {
			t.Fatalf("%q parsed into an invalid rule: %v", text, err)
		}
	})
}
