package policy

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/calico-docker/calico-libnetwork/calc"
	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// policyView is the datastore's policy state loaded into calc.Model (the
// calculation felix renders its dataplane from), with the source rules
// kept so each step can be shown as written.
type policyView struct {
	Model    *calc.Model
	ix       *cli.EndpointIndex
	policies map[string]resources.PolicySpec // by calc.PolicyKey
	profiles map[string]*resources.Profile
	hosts    hostInfo // explain_hep.go
}

func LoadPolicyView(ctx context.Context, st *datastore.Store) (*policyView, error) {
	v := &policyView{Model: calc.NewModel(), policies: map[string]resources.PolicySpec{}, profiles: map[string]*resources.Profile{}}
	for _, kind := range calc.ExplainKinds {
		objs, _, err := st.List(ctx, kind, "")
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", kind, err)
		}
		for _, o := range objs {
			m := o.Meta()
			v.Model.Update(model.Update{Kind: kind, Namespace: m.Namespace, Name: m.Name, Object: o})
			switch p := o.(type) {
			case *resources.NetworkPolicy:
				v.policies[calc.PolicyKey(kind, m.Namespace, m.Name)] = p.Spec
			case *resources.GlobalNetworkPolicy:
				v.policies[calc.PolicyKey(kind, m.Namespace, m.Name)] = p.Spec
			case *resources.StagedNetworkPolicy:
				v.policies[calc.PolicyKey(kind, m.Namespace, m.Name)] = p.Spec.PolicySpec
			case *resources.StagedGlobalNetworkPolicy:
				v.policies[calc.PolicyKey(kind, m.Namespace, m.Name)] = p.Spec.PolicySpec
			case *resources.Profile:
				v.profiles[p.Name] = p
			}
		}
	}
	if err := v.loadHostInfo(ctx, st); err != nil {
		return nil, err
	}
	var err error
	v.ix, err = cli.LoadEndpoints(ctx, st)
	return v, err
}

// ruleText is the source text of the rule a step names ("" when none).
func (v *policyView) ruleText(s calc.Step) string {
	if s.Rule < 0 {
		return ""
	}
	var rules []resources.Rule
	if s.Kind == "policy" {
		spec := v.policies[s.Name]
		rules = spec.Ingress
		if s.Direction == calc.Egress {
			rules = spec.Egress
		}
	} else if p := v.profiles[s.Name]; p != nil {
		rules = p.Spec.Ingress
		if s.Direction == calc.Egress {
			rules = p.Spec.Egress
		}
	}
	if s.Rule >= len(rules) {
		return ""
	}
	return cli.DescribeRule(&rules[s.Rule])
}

// party is one end of an explained flow: a workload endpoint, a host
// endpoint or an address outside Calico's endpoints.
type party struct {
	Arg          string            `json:"arg"`
	IP           string            `json:"ip"`
	Endpoint     string            `json:"endpoint,omitempty"` // WorkloadEndpoint name
	Container    string            `json:"container,omitempty"`
	HostEndpoint string            `json:"hostEndpoint,omitempty"` // HostEndpoint name
	Interface    string            `json:"interface,omitempty"`    // the host endpoint's interface ("*": any)
	Node         string            `json:"node,omitempty"`
	Labels       map[string]string `json:"labels,omitempty"` // effective labels
	Outside      bool              `json:"outside,omitempty"`
	addr         netip.Addr
	wep          *resources.WorkloadEndpoint
	hep          *calc.HostEndpoint
}

func (p *party) describe() string {
	if p.hep != nil {
		iface := p.Interface
		if iface == "" {
			iface = "found by its expectedIPs"
		}
		return fmt.Sprintf("host endpoint %s (node %s, interface %s, %s)", p.HostEndpoint, p.Node, iface, p.IP)
	}
	if p.Outside {
		return p.IP + " (not a workload: a host outside Calico's endpoints)"
	}
	who := p.Container
	if who == "" {
		who = p.Endpoint
	}
	return fmt.Sprintf("%s (endpoint %s, %s, node %s)", who, p.Endpoint, p.IP, p.Node)
}

// candidates resolves an argument to its possible (endpoint, address)
// pairs; a plain IP is exactly one.
func (v *policyView) candidates(flag, arg string) ([]*party, error) {
	if ip, err := netip.ParseAddr(arg); err == nil {
		if ip.Zone() != "" {
			return nil, fmt.Errorf("%s %s: give the address without a zone", flag, arg)
		}
		ip = ip.Unmap()
		p := &party{Arg: arg, IP: ip.String(), addr: ip, Outside: true}
		if w := v.ix.ByAddr(ip); w != nil {
			p = v.partyOf(arg, w, ip)
		} else if h := v.hepByAddr(ip); h != nil {
			p = hepParty(arg, h, h.IfaceName, ip)
		}
		return []*party{p}, nil
	} else if cli.LooksLikeIP(arg) {
		return nil, fmt.Errorf("%s %q is not a valid IP address: give an address such as 10.0.0.5, a container name or ID, or an endpoint name", flag, arg)
	}
	if ps, ok, err := v.hostEndpointParty(flag, arg); ok { // explain_hep.go
		return ps, err
	}
	weps, err := v.ix.Match(arg)
	if err != nil {
		if h := v.Model.HostEndpoint(arg); h != nil {
			return v.hepParties(flag, arg, h, "")
		}
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	var out []*party
	for _, w := range weps {
		for _, a := range w.Addrs() {
			out = append(out, v.partyOf(arg, w, a.Addr()))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s %s: its endpoint %s has no address yet", flag, arg, weps[0].Name)
	}
	return out, nil
}

func (v *policyView) partyOf(arg string, w *resources.WorkloadEndpoint, ip netip.Addr) *party {
	p := &party{Arg: arg, IP: ip.String(), addr: ip, Endpoint: w.Name, Container: cli.ContainerName(w), Node: w.Spec.Node, wep: w}
	if ep := v.Model.Endpoint(w.Namespace + "/" + w.Name); ep != nil {
		p.Labels = ep.Labels
	}
	return p
}

// pickPair chooses one source and one destination: the same address
// family (IPv4 first), and for a container with several endpoints the one
// on the other side's network. It fails when the choice stays ambiguous.
func pickPair(from, to []*party) (*party, *party, error) {
	for _, v4 := range []bool{true, false} {
		f, t := ofFamily(from, v4), ofFamily(to, v4)
		if len(f) == 0 || len(t) == 0 {
			continue
		}
		if len(f) > 1 && len(t) == 1 {
			f = sameNetwork(f, t[0])
		}
		if len(t) > 1 && len(f) == 1 {
			t = sameNetwork(t, f[0])
		}
		if len(f) > 1 || len(t) > 1 {
			amb := f
			if len(t) > 1 {
				amb = t
			}
			return nil, nil, fmt.Errorf("%q has several endpoints (%s): give the endpoint name or the IP address instead", amb[0].Arg, partyEndpoints(amb))
		}
		return f[0], t[0], nil
	}
	return nil, nil, fmt.Errorf("%s and %s have no addresses of the same family (IPv4 or IPv6): nothing can flow between them", from[0].Arg, to[0].Arg)
}

func ofFamily(ps []*party, v4 bool) []*party {
	var out []*party
	for _, p := range ps {
		if p.addr.Is4() == v4 {
			out = append(out, p)
		}
	}
	return out
}

func sameNetwork(ps []*party, other *party) []*party {
	if other.wep == nil {
		return ps
	}
	var out []*party
	for _, p := range ps {
		if p.wep != nil && p.wep.Spec.Network == other.wep.Spec.Network {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return ps
	}
	return out
}

func partyEndpoints(ps []*party) string {
	var names []string
	for _, p := range ps {
		names = cli.AppendUnique(names, p.Endpoint)
	}
	return strings.Join(names, ", ")
}
