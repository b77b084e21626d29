package rules

import (
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/calico-docker/calico-libnetwork/calc"
	ipt "github.com/calico-docker/calico-libnetwork/felix/iptables"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// Flow logs: with Config.FlowLogGroup set, every verdict rule (a policy's
// or profile's Allow or Deny, a tier's end-of-tier drop, the default drop
// after the profiles) is preceded by an NFLOG rule with the same match,
// for the first packet of a connection only (ctstate NEW: established
// traffic is accepted before policy and costs nothing more). Its prefix
// is a compact rule identifier that Result.RuleIDs maps back to the
// tier, kind, namespace, name, rule index and direction.
//
// Prefix format (at most MaxPrefixLen bytes): <A|D><I|E><rule>|<ident>
// where rule is the rule index or "t" (end of tier) or "d" (default
// drop), and ident is <kind code>:<key> (kind codes gnp, np, pro, tier,
// dd), or "#" and a hash of it when it would not fit.

// MaxPrefixLen is the longest NFLOG prefix the kernel keeps (64 bytes
// with the terminating NUL).
const MaxPrefixLen = 63

// Triggers of a verdict.
const (
	TriggerRule        = "rule"
	TriggerEndOfTier   = "end-of-tier"
	TriggerDefaultDeny = "default-deny"
)

// RuleID is what an NFLOG prefix names: the rule that decided a packet's
// fate in one direction.
type RuleID struct {
	Tier      string `json:"tier"`
	Kind      string `json:"kind"` // GlobalNetworkPolicy, NetworkPolicy, Profile or "" (end of tier, default drop)
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Rule      int    `json:"rule"`      // index in the direction's rules; -1 when no rule decided
	Direction string `json:"direction"` // ingress or egress
	Action    string `json:"action"`    // allow or deny
	Trigger   string `json:"trigger"`   // TriggerRule, TriggerEndOfTier or TriggerDefaultDeny
}

// Prefix renders id's NFLOG prefix.
func (id RuleID) Prefix() string {
	var b strings.Builder
	b.WriteByte(map[bool]byte{true: 'A', false: 'D'}[id.Action == "allow"])
	b.WriteByte(map[bool]byte{true: 'I', false: 'E'}[id.Direction == "ingress"])
	switch id.Trigger {
	case TriggerEndOfTier:
		b.WriteByte('t')
	case TriggerDefaultDeny:
		b.WriteByte('d')
	default:
		b.WriteString(strconv.Itoa(id.Rule))
	}
	b.WriteByte('|')
	ident := id.ident()
	if b.Len()+len(ident) > MaxPrefixLen {
		sum := sha256.Sum256([]byte(ident))
		ident = "#" + base64.RawURLEncoding.EncodeToString(sum[:])[:22]
	}
	b.WriteString(ident)
	return b.String()
}

func (id RuleID) ident() string {
	switch id.Kind {
	case resources.KindGlobalNetworkPolicy:
		return "gnp:" + id.Name
	case resources.KindNetworkPolicy:
		return "np:" + id.Namespace + "/" + id.Name
	case resources.KindProfile:
		return "pro:" + id.Name
	}
	if id.Trigger == TriggerEndOfTier {
		return "tier:" + id.Tier
	}
	return "dd"
}

func direction(ingress bool) string {
	if ingress {
		return "ingress"
	}
	return "egress"
}

func policyRuleID(p *calc.Policy, ingress bool) RuleID {
	return RuleID{Tier: p.Tier, Kind: p.Kind, Namespace: p.Namespace, Name: p.Name, Direction: direction(ingress), Trigger: TriggerRule}
}

func profileRuleID(name string, ingress bool) RuleID {
	return RuleID{Kind: resources.KindProfile, Name: name, Direction: direction(ingress), Trigger: TriggerRule}
}

// logged returns verdict preceded by an NFLOG rule with verdict's match
// naming id (with action set from allow), and records id; verdict alone
// when flow logs are off or id is nil.
func (r *renderer) logged(id *RuleID, allow bool, verdict ...ipt.Rule) []ipt.Rule {
	if r.cfg.FlowLogGroup == 0 || id == nil {
		return verdict
	}
	v := *id
	v.Action = map[bool]string{true: "allow", false: "deny"}[allow]
	prefix := v.Prefix()
	r.ruleIDs[prefix] = v
	match := strings.TrimSpace(verdict[0].Match + " -m conntrack --ctstate NEW")
	nflog := ipt.Rule{Match: match, Action: "NFLOG --nflog-group " + strconv.Itoa(int(r.cfg.FlowLogGroup)) +
		` --nflog-prefix "` + prefix + `"`}
	return append([]ipt.Rule{nflog}, verdict...)
}

// withRule returns id for rule index i (nil stays nil).
func withRule(id *RuleID, i int) *RuleID {
	if id == nil {
		return nil
	}
	v := *id
	v.Rule = i
	return &v
}
