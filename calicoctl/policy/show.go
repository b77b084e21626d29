package policy

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/calico-docker/calico-libnetwork/calc"
	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/spf13/cobra"
)

func (a *app) policyShowCommand() *cobra.Command {
	var endpoint, output string
	cmd := &cobra.Command{
		Use:   "show --endpoint CONTAINER|IP|ENDPOINT|hostendpoint/NAME|NODE:INTERFACE [-o table|wide|yaml|json]",
		Short: "List the policies that select an endpoint, in evaluation order",
		Long: `For each endpoint of the container (or the endpoint named, or holding the address),
list per direction the policies whose selector selects it, in the order they are
evaluated (order ascending, unset last, then by name), then its profiles. Profiles
decide only when no policy selects the endpoint for that direction, or after a Pass.
A host endpoint (hostendpoint/NAME, NODE:INTERFACE, or one of its expectedIPs) lists its
policies per stage in the order the dataplane applies them: doNotTrack, preDNAT, normal
(then its profiles), applyOnForward.

Columns: DIRECTION, #, KIND (NetworkPolicy, GlobalNetworkPolicy, profile), NAME,
ORDER, SELECTOR; -o wide adds the number of rules.`,
		Example: `  calicoctl policy show --endpoint bookstore-server
  calicoctl policy show --endpoint 10.0.0.7 -o yaml`,
		Args: cli.ArgsWith(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := cli.ParseFormatOf(output, "table", "wide", "yaml", "json")
			if err != nil {
				return err
			}
			if endpoint == "" {
				return cli.Usagef("give --endpoint: a container name or ID, an endpoint name or an IP address")
			}
			return a.runPolicyShow(cmd.Context(), endpoint, format)
		},
	}
	cmd.Flags().StringVar(&endpoint, "endpoint", "", "container name or ID, endpoint name, or IP address (required)")
	cli.AddOutputFlag(cmd, &output, "table", "wide", "yaml", "json")
	return cmd
}

// endpointPolicies is what applies to one endpoint.
type endpointPolicies struct {
	Endpoint  string            `json:"endpoint"`
	Container string            `json:"container,omitempty"`
	Addresses []string          `json:"addresses"`
	Labels    map[string]string `json:"labels"`
	Ingress   []appliedPolicy   `json:"ingress"`
	Egress    []appliedPolicy   `json:"egress"`
}

type appliedPolicy struct {
	Kind string `json:"kind"` // NetworkPolicy, GlobalNetworkPolicy or profile
	// Stage is a host endpoint's: doNotTrack, preDNAT, normal or
	// applyOnForward.
	Stage    string   `json:"stage,omitempty"`
	Name     string   `json:"name"`
	Order    *float64 `json:"order,omitempty"`
	Selector string   `json:"selector,omitempty"`
	Rules    int      `json:"rules"`
	Missing  bool     `json:"missing,omitempty"` // a profile that does not exist
}

func (a *app) runPolicyShow(ctx context.Context, arg string, format cli.OutputFormat) error {
	st, err := a.Store(ctx)
	if err != nil {
		return err
	}
	v, err := LoadPolicyView(ctx, st)
	if err != nil {
		return err
	}
	parties, err := v.candidates("--endpoint", arg)
	if err != nil {
		return err
	}
	var out []endpointPolicies
	seen := map[string]bool{}
	for _, p := range parties {
		if p.Outside {
			return fmt.Errorf("--endpoint %s: no workload endpoint has this address, so no policy applies to it", p.IP)
		}
		key := p.Endpoint
		if p.hep != nil {
			key = calc.HostEndpointKey(p.HostEndpoint)
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		if p.hep != nil {
			out = append(out, v.appliedToHost(p.hep))
		} else {
			out = append(out, v.appliedTo(p.wep))
		}
	}
	if format == cli.FormatYAML || format == cli.FormatJSON {
		return cli.WriteStructured(a.Out, format, out)
	}
	for i, ep := range out {
		if i > 0 {
			fmt.Fprintln(a.Out)
		}
		if err := writeEndpointPolicies(a.Out, &ep, format == cli.FormatWide); err != nil {
			return err
		}
	}
	return nil
}

func (v *policyView) appliedTo(w *resources.WorkloadEndpoint) endpointPolicies {
	out := endpointPolicies{Endpoint: w.Name, Container: cli.ContainerName(w), Addresses: w.Spec.IPNetworks,
		Ingress: []appliedPolicy{}, Egress: []appliedPolicy{}}
	ep := v.Model.Endpoint(w.Namespace + "/" + w.Name)
	if ep == nil {
		return out
	}
	out.Labels = ep.Labels
	for _, d := range []struct {
		dir calc.Direction
		dst *[]appliedPolicy
	}{{calc.Ingress, &out.Ingress}, {calc.Egress, &out.Egress}} {
		for _, p := range v.Model.PoliciesFor(ep, d.dir) {
			*d.dst = append(*d.dst, v.applied(p, d.dir, ""))
		}
		*d.dst = append(*d.dst, v.appliedProfiles(ep.Profiles, d.dir, "")...)
	}
	return out
}

// applied is one policy as policy show lists it.
func (v *policyView) applied(p *calc.Policy, dir calc.Direction, stage string) appliedPolicy {
	spec := v.policies[p.Key]
	name := strings.TrimPrefix(p.Key, p.Kind+"/")
	return appliedPolicy{Kind: p.Kind, Stage: stage, Name: name, Order: p.Order, Selector: spec.Selector, Rules: len(p.Rules(dir))}
}

// appliedProfiles are profiles as policy show lists them.
func (v *policyView) appliedProfiles(names []string, dir calc.Direction, stage string) []appliedPolicy {
	var out []appliedPolicy
	for _, name := range names {
		ap := appliedPolicy{Kind: "profile", Stage: stage, Name: name}
		if prof := v.Model.Profile(name); prof != nil {
			ap.Rules = len(prof.Rules(dir))
		} else {
			ap.Missing = true
		}
		out = append(out, ap)
	}
	return out
}

// appliedToHost lists a host endpoint's policies per direction in the
// dataplane's order (calc/hostorder.go): doNotTrack, preDNAT, normal
// (then its profiles), applyOnForward.
func (v *policyView) appliedToHost(h *calc.HostEndpoint) endpointPolicies {
	out := endpointPolicies{Endpoint: calc.HostEndpointKey(h.Name), Labels: h.Labels, Ingress: []appliedPolicy{}, Egress: []appliedPolicy{}}
	for _, a := range h.ExpectedIPs {
		out.Addresses = append(out.Addresses, a.Addr().String())
	}
	for _, d := range []struct {
		dir calc.Direction
		dst *[]appliedPolicy
	}{{calc.Ingress, &out.Ingress}, {calc.Egress, &out.Egress}} {
		for _, kind := range []calc.HostPolicyKind{calc.HostUntracked, calc.HostPreDNAT, calc.HostNormal, calc.HostForward} {
			for _, p := range v.Model.HostPoliciesFor(h, kind, d.dir) {
				*d.dst = append(*d.dst, v.applied(p, d.dir, kind.Stage()))
			}
			if kind == calc.HostNormal {
				*d.dst = append(*d.dst, v.appliedProfiles(h.Profiles, d.dir, kind.Stage())...)
			}
		}
	}
	return out
}

func writeEndpointPolicies(w io.Writer, ep *endpointPolicies, wide bool) error {
	who := ep.Endpoint
	if ep.Container != "" {
		who = ep.Container + " (endpoint " + ep.Endpoint + ")"
	}
	fmt.Fprintf(w, "Endpoint: %s, %s\n", who, strings.Join(ep.Addresses, ","))
	fmt.Fprintf(w, "Labels:   %s\n\n", cli.LabelString(ep.Labels))
	t := cli.Table{Header: []string{"DIRECTION", "#", "KIND", "NAME", "ORDER", "SELECTOR"}}
	if wide {
		t.Header = append(t.Header, "RULES")
	}
	for _, d := range []struct {
		name string
		list []appliedPolicy
	}{{"ingress", ep.Ingress}, {"egress", ep.Egress}} {
		for i, p := range d.list {
			sel := p.Selector
			if p.Missing {
				sel = "(profile does not exist)"
			}
			row := []string{d.name, strconv.Itoa(i + 1), stageKind(p.Kind, p.Stage), p.Name, cli.OrderString(p.Order), sel}
			if wide {
				row = append(row, strconv.Itoa(p.Rules))
			}
			t.Rows = append(t.Rows, row)
		}
	}
	return t.Write(w)
}
