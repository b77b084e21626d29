package felix

import (
	"github.com/calico-docker/calico-libnetwork/felix/flowlogs"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
)

// Flow logs (Config.FlowLogs): the rendered verdict rules log each new
// connection's first packet to NFLOG group FlowLogGroup with a compact
// rule identifier; felix keeps the table that maps identifiers back
// (RuleID) and opens the reader of the group and of conntrack's counters
// in its namespace (OpenFlowLogs). Reading changes no kernel state.

func flowLogGroup(cfg Config) uint16 {
	if cfg.FlowLogs {
		return FlowLogGroup
	}
	return 0
}

// publishRuleIDs makes a render's prefix table the one RuleID answers
// from, keeping the previous one for packets logged just before.
func (d *Dataplane) publishRuleIDs(ids map[string]rules.RuleID) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.prevRuleIDs, d.ruleIDs = d.ruleIDs, ids
}

// RuleID maps an NFLOG prefix of the rendered rules back to the rule it
// names. Safe for concurrent use.
func (d *Dataplane) RuleID(prefix string) (rules.RuleID, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if id, ok := d.ruleIDs[prefix]; ok {
		return id, true
	}
	id, ok := d.prevRuleIDs[prefix]
	return id, ok
}

// OpenFlowLogs opens the flow-log reader (NFLOG group FlowLogGroup and
// conntrack) in the dataplane's namespace. The caller closes it.
func (d *Dataplane) OpenFlowLogs() (*flowlogs.Reader, error) {
	return flowlogs.Open(d.cfg.NetNS, FlowLogGroup, d.log)
}
