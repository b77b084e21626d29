package classic

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/resources"
)

func TestV0RuleErrors(t *testing.T) {
	tests := []struct{ json, want string }{
		{`{"inbound_rules":[{"action":"allow","protocol":"icmp","icmp_code":1}],"outbound_rules":[]}`, "icmp_code needs an icmp_type"},
		{`{"inbound_rules":[{"action":"allow","icmp_type":8}],"outbound_rules":[]}`, `icmp_type needs "protocol": "icmp"`},
		{`{"inbound_rules":[{"action":"allow","protocol":"icmp","icmp_type":300}],"outbound_rules":[]}`, "icmp_type 300"},
		{`{"inbound_rules":[{"action":"allow","protocol":"tcp","dst_ports":[70000]}],"outbound_rules":[]}`, "out of range"},
		{`{"inbound_rules":[{"action":"allow","src_tag":"a b"}],"outbound_rules":[]}`, "src_tag"},
		{`{"inbound_rules":[{"action":"allow","src_tag":"_x"}],"outbound_rules":[]}`, "cannot become a v3 label"},
		{`{"inbound_rules":[{"action":"allow","ip_version":5}],"outbound_rules":[]}`, "ip_version 5"},
		{`{"inbound_rules":[{"action":"allow","ip_version":6,"src_net":"10.0.0.0/8"}],"outbound_rules":[]}`, "does not match ip_version 6"},
		{`{"inbound_rules":[{"action":"allow","protocol":"gre"}],"outbound_rules":[]}`, "protocol"},
		{`{"inbound_rules":[{"action":"allow"}],"outbound_rules":[]} {}`, "unexpected data"},
		{`{"inbound_rules":[{"action":"allow"},{"action":"x"},{"action":"y"}],"outbound_rules":[]}`, "inbound_rules[2].action"},
	}
	for _, tc := range tests {
		r, err := DecodeV0Rules(strings.NewReader(tc.json))
		if err == nil {
			_, _, _, err = r.toV3()
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: want error with %q, got %v", tc.json, tc.want, err)
		}
	}
}

// FuzzV0Rules: any input either fails cleanly or converts to a valid v3
// profile whose v0 form converts back to the same v3 rules.
func FuzzV0Rules(f *testing.F) {
	for _, s := range []string{
		`{"id":"P","inbound_rules":[{"action":"allow","src_tag":"P"}],"outbound_rules":[{"action":"allow"}]}`,
		`{"inbound_rules":[{"action":"deny","protocol":"tcp","src_net":"10.0.0.1","dst_ports":[80,"1:2"]}],"outbound_rules":[]}`,
		`{"inbound_rules":[{"action":"allow","protocol":"icmp","icmp_type":8,"icmp_code":0,"ip_version":4}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rules, err := DecodeV0Rules(bytes.NewReader(data))
		if err != nil {
			return
		}
		in, eg, _, err := rules.toV3()
		if err != nil {
			return
		}
		p := resources.NewProfile("P")
		p.Spec.Ingress, p.Spec.Egress = in, eg
		if err := p.Validate(); err != nil {
			t.Fatalf("converted rules are invalid: %v\n%s", err, data)
		}
		back, err := v0RulesOf(p)
		if err != nil {
			t.Fatalf("converted rules have no v0 form: %v\n%s", err, data)
		}
		js, _ := json.Marshal(back)
		again, err := DecodeV0Rules(bytes.NewReader(js))
		if err != nil {
			t.Fatalf("printed rules do not decode: %v\n%s", err, js)
		}
		in2, eg2, _, err := again.toV3()
		before, _ := json.Marshal([][]resources.Rule{in, eg})
		after, _ := json.Marshal([][]resources.Rule{in2, eg2})
		if err != nil || !bytes.Equal(before, after) {
			t.Fatalf("round trip changed the rules (%v):\n%s\n%s", err, before, after)
		}
	})
}
