package flows

import (
	"cmp"
	"net/netip"
	"slices"
	"strconv"

	"github.com/calico-docker/calico-libnetwork/calc"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// Series of deleted policies. The policy counters are labelled by policy
// (or profile) and rule index; the Directory follows the policy model, so
// it tells the Metrics which series still name a live rule: when a policy
// or profile is deleted its series go, when its rules shrink the series of
// the rules past its last go, when it moves to another tier the series of
// the old tier go. A row closed after its policy was deleted makes no new
// series. End-of-tier and default-deny series are kept (they name no
// policy). Likewise the denied-packets series of an endpoint name go when
// the last endpoint of that name is deleted.

// policyKey names a policy or profile as the counters' labels do.
type policyKey struct{ kind, namespace, name string }

// seriesLabels are a policy series' label values, in NewMetrics' order:
// tier, kind, namespace, name, rule, direction, action.
type seriesLabels [7]string

func (l seriesLabels) key() policyKey { return policyKey{kind: l[1], namespace: l[2], name: l[3]} }

// countedKind reports whether rows of kind are counted by policy and rule
// in series that can go stale: policies and profiles (not staged ones).
func countedKind(kind string) bool {
	switch kind {
	case resources.KindGlobalNetworkPolicy, resources.KindNetworkPolicy, resources.KindProfile:
		return true
	}
	return false
}

// rulesSeries reports whether a row's policy series names a rule of a
// policy or profile.
func rulesSeries(p PolicyRef) bool {
	return countedKind(p.Kind) && (p.Trigger == rules.TriggerRule || p.Trigger == "")
}

// touchesPolicies reports whether ev may have deleted, shrunk or moved a
// policy or profile.
func touchesPolicies(ev model.SyncEvent) bool {
	return ev.Full || slices.ContainsFunc(ev.Updates, func(u model.Update) bool { return countedKind(u.Kind) })
}

// liveSeries reports whether a policy series still names a rule the
// model holds; before the first Full event every series is live.
func (d *Directory) liveSeries(l seriesLabels) bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if !d.synced {
		return true
	}
	var tier string
	var ingress, egress []calc.Rule
	k := l.key()
	if k.kind == resources.KindProfile {
		p := d.model.Profile(k.name)
		if p == nil {
			return false
		}
		ingress, egress = p.Ingress, p.Egress
	} else {
		p := d.model.Policy(k.kind, k.namespace, k.name)
		if p == nil {
			return false
		}
		tier, ingress, egress = p.Tier, p.Ingress, p.Egress
	}
	n := len(egress)
	if l[5] == "ingress" {
		n = len(ingress)
	}
	rule, err := strconv.Atoi(l[4])
	return err == nil && l[0] == tier && rule >= 0 && rule < n
}

// endpointName is a workload endpoint as flows name it: its namespace
// and its workload (container) name, else its own name. A container on
// two networks of one namespace has two endpoints of one name.
type endpointName struct{ namespace, name string }

func nameOf(ep *calc.Endpoint) endpointName {
	return endpointName{namespace: ep.Namespace, name: cmp.Or(ep.Workload, ep.Name)}
}

// liveEndpoint reports whether the endpoint of a row still holds its
// address under its name; before the first Full event every one does.
func (d *Directory) liveEndpoint(ep Endpoint) bool {
	addr, err := netip.ParseAddr(ep.IP)
	d.mu.RLock()
	defer d.mu.RUnlock()
	if !d.synced {
		return true
	}
	e := d.model.EndpointByIP(addr)
	return err == nil && e != nil && nameOf(e) == endpointName{ep.Namespace, ep.Name}
}

// endpointNamed reports whether some workload endpoint bears n (a scan:
// asked only for a deleted endpoint's name that has series).
func (d *Directory) endpointNamed(n endpointName) bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return slices.ContainsFunc(d.model.Endpoints(), func(e *calc.Endpoint) bool { return nameOf(e) == n })
}

// setMetrics makes d prune m's series as policies and endpoints change.
func (d *Directory) setMetrics(m *Metrics) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.metrics = m
}
