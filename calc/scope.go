package calc

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"slices"

	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/calico-docker/calico-libnetwork/selector"
)

// LabelNamespace is the label every endpoint carries with its namespace,
// as in Calico, so selectors (and namespaced policy) can scope by it.
const LabelNamespace = "projectcalico.org/namespace"

// labelNamespaceName is the one label a namespace has on Docker: its name.
const labelNamespaceName = "projectcalico.org/name"

// InNamespace limits sel to endpoints of namespace ns, as the selector and
// the rule selectors of a NetworkPolicy of ns are compiled.
func InNamespace(sel, ns string) (selector.Selector, error) { return inNamespace(sel, ns) }

// inNamespace limits sel to endpoints of namespace ns: a NetworkPolicy's
// selector and its rules' selectors only see their own namespace.
func inNamespace(sel, ns string) (selector.Selector, error) {
	if sel == "" {
		sel = "all()"
	}
	return selector.Parse(fmt.Sprintf("(%s) && %s == %q", sel, LabelNamespace, ns))
}

// nsScoped is a selector limited to the endpoints whose namespace matches
// a namespaceSelector. On Docker a namespace's only label is
// projectcalico.org/name; an object without a namespace (a host endpoint or
// global network set) is global(). It implements selector.Selector so the
// dataplane's IP sets use it like any other selector.
type nsScoped struct {
	sel, nsSel selector.Selector
	canon, id  string
}

func newNSScoped(sel, nsSel selector.Selector) *nsScoped {
	canon := fmt.Sprintf("namespaceSelector(%s) && (%s)", nsSel.String(), sel.String())
	sum := sha256.Sum224([]byte(canon))
	return &nsScoped{sel: sel, nsSel: nsSel, canon: canon, id: base64.RawURLEncoding.EncodeToString(sum[:])}
}

func (s *nsScoped) match(l selector.Labels) bool {
	var nsLabels selector.Labels = selector.GlobalMap{}
	if ns, ok := l.Get(LabelNamespace); ok {
		nsLabels = selector.Map{labelNamespaceName: ns}
	}
	return s.nsSel.EvaluateLabels(nsLabels) && s.sel.EvaluateLabels(l)
}

// Evaluate implements selector.Selector.
func (s *nsScoped) Evaluate(labels map[string]string) bool { return s.match(selector.Map(labels)) }

// EvaluateLabels implements selector.Selector.
func (s *nsScoped) EvaluateLabels(labels selector.Labels) bool {
	if labels == nil {
		labels = selector.Map(nil)
	}
	return s.match(labels)
}

// String implements selector.Selector.
func (s *nsScoped) String() string { return s.canon }

// UniqueID implements selector.Selector.
func (s *nsScoped) UniqueID() string { return s.id }

// LabelKeys implements selector.Selector.
func (s *nsScoped) LabelKeys() []string {
	keys := append(s.sel.LabelKeys(), LabelNamespace)
	slices.Sort(keys)
	return slices.Compact(keys)
}

// IndexHint is the hint of the selector within the namespaces (theirs
// being on another label set).
func (s *nsScoped) IndexHint() (selector.Hint, bool) { return selector.IndexHint(s.sel) }

var _ selector.Selector = (*nsScoped)(nil)

// scope says how a policy's selectors are limited by namespace.
type scope struct {
	namespace string // a NetworkPolicy's namespace; "" for global policies
}

// entitySelector compiles a rule's selector (or notSelector) text with the
// rule's namespaceSelector and the policy's scope. A namespaceSelector
// alone selects every endpoint of the namespaces it matches.
func (sc scope) entitySelector(sel, nsSel string) (selector.Selector, error) {
	if sel == "" && nsSel == "" {
		return nil, nil
	}
	if nsSel != "" {
		base, err := selector.Parse(sel)
		if err != nil {
			return nil, err
		}
		ns, err := selector.Parse(nsSel)
		if err != nil {
			return nil, err
		}
		return newNSScoped(base, ns), nil
	}
	if sc.namespace != "" {
		return inNamespace(sel, sc.namespace)
	}
	return selector.Parse(sel)
}

// policySelector compiles the selector of the endpoints a policy applies to.
func policySelector(kind, namespace string, spec *resources.PolicySpec) (selector.Selector, error) {
	switch {
	case kind == resources.KindNetworkPolicy || kind == resources.KindStagedNetworkPolicy:
		return inNamespace(spec.Selector, namespace)
	case spec.NamespaceSelector != "":
		return scope{}.entitySelector(spec.Selector, spec.NamespaceSelector)
	}
	return selector.Parse(spec.Selector)
}
