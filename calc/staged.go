package calc

import (
	"maps"

	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// stagedPolicy is a StagedNetworkPolicy or StagedGlobalNetworkPolicy: it
// is never enforced; StagedVerdict evaluates the policies as they would be
// with it (Set: it replaces the policy of the same name, or is added;
// Delete: the policy of the same name is gone).
type stagedPolicy struct {
	target string  // key of the enforced policy of the same name
	policy *Policy // compiled staged policy; nil for Delete
}

// stagedTarget is the enforced kind a staged kind previews.
var stagedTarget = map[string]string{
	resources.KindStagedNetworkPolicy:       resources.KindNetworkPolicy,
	resources.KindStagedGlobalNetworkPolicy: resources.KindGlobalNetworkPolicy,
}

func (m *Model) updateStaged(u model.Update) {
	key := PolicyKey(u.Kind, u.Namespace, u.Name)
	if u.Deleted() {
		delete(m.staged, key)
		return
	}
	sp := &stagedPolicy{target: PolicyKey(stagedTarget[u.Kind], u.Namespace, u.Name)}
	var action string
	switch o := u.Object.(type) {
	case *resources.StagedNetworkPolicy:
		action = o.Spec.StagedAction
	case *resources.StagedGlobalNetworkPolicy:
		action = o.Spec.StagedAction
	}
	if action != resources.StagedActionDelete {
		p, err := compilePolicy(u.Object)
		if err != nil {
			delete(m.staged, key)
			return
		}
		sp.policy = p
	}
	m.staged[key] = sp
}

// HasStaged reports whether any staged policy exists.
func (m *Model) HasStaged() bool { return len(m.staged) > 0 }

// stagedPolicies is the policy set as it would be with every staged
// policy enforced.
func (m *Model) stagedPolicies() map[string]*Policy {
	out := maps.Clone(m.policies)
	for key, sp := range m.staged {
		delete(out, sp.target)
		if sp.policy != nil {
			out[key] = sp.policy
		}
	}
	return out
}

// StagedVerdict evaluates pkt as Verdict does, but with the staged
// policies enforced: what the packet's fate would be. It changes nothing.
func (m *Model) StagedVerdict(pkt Packet) Result {
	return m.verdictWith(m.stagedPolicies(), pkt)
}
