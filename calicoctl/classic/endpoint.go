package classic

import (
	"context"
	"slices"
	"strings"

	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/spf13/cobra"
)

func (a *app) endpointCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "endpoint",
		Short:   "Classic endpoint commands (show)",
		Example: `  calicoctl endpoint show --detailed`,
	}
	var output, host, workload string
	var detailed bool
	show := &cobra.Command{
		Use:   "show [--detailed] [--host HOST] [--workload CONTAINER] [-o table|wide|yaml|json]",
		Short: "List workload endpoints as the original calicoctl did",
		Long: `List every workload endpoint (one per container and Calico network), sorted by host.

Columns: HOSTNAME, ORCHESTRATOR ID, WORKLOAD ID (container ID), ENDPOINT ID (Docker
endpoint ID), ADDRESSES, MAC, PROFILES, STATE (active, or pending while the container's
labels are not known yet: its traffic is dropped meanwhile). --detailed (or -o wide)
adds WORKLOAD (container name), NAME (the WorkloadEndpoint), INTERFACE, NETWORK and
LABELS. -o yaml|json prints the WorkloadEndpoint resources.`,
		Example: `  calicoctl endpoint show
  calicoctl endpoint show --detailed --host host1
  calicoctl endpoint show --workload web-1 -o yaml`,
		Args: cli.ArgsWith(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := cli.ParseFormatOf(output, "table", "wide", "yaml", "json")
			if err != nil {
				return err
			}
			if detailed && format == cli.FormatTable {
				format = cli.FormatWide
			}
			return a.runEndpointShow(cmd.Context(), format, host, workload)
		},
	}
	show.Flags().BoolVar(&detailed, "detailed", false, "more columns (same as -o wide)")
	show.Flags().StringVar(&host, "host", "", "only endpoints on this host (node)")
	show.Flags().StringVar(&workload, "workload", "", "only the endpoints of this container (name, ID or ID prefix)")
	cli.AddOutputFlag(show, &output, "table", "wide", "yaml", "json")
	cmd.AddCommand(show)
	return cmd
}

func (a *app) runEndpointShow(ctx context.Context, format cli.OutputFormat, host, workload string) error {
	st, err := a.Store(ctx)
	if err != nil {
		return err
	}
	ix, err := cli.LoadEndpoints(ctx, st)
	if err != nil {
		return err
	}
	weps := ix.Weps
	if workload != "" {
		if weps, err = ix.Match(workload); err != nil {
			return err
		}
	}
	var objs []resources.Resource
	for _, w := range weps {
		if host == "" || w.Spec.Node == host {
			objs = append(objs, w)
		}
	}
	slices.SortStableFunc(objs, func(x, y resources.Resource) int {
		return strings.Compare(x.(*resources.WorkloadEndpoint).Spec.Node, y.(*resources.WorkloadEndpoint).Spec.Node)
	})
	if format == cli.FormatYAML || format == cli.FormatJSON {
		info, _ := resources.Lookup(resources.KindWorkloadEndpoint)
		return cli.Printer{Out: a.Out, Format: format, Store: st}.Print(ctx, info, objs, false)
	}
	t := cli.Table{Header: []string{"HOSTNAME", "ORCHESTRATOR ID", "WORKLOAD ID", "ENDPOINT ID", "ADDRESSES", "MAC", "PROFILES", "STATE"}}
	if format == cli.FormatWide {
		t.Header = append(t.Header, "WORKLOAD", "NAME", "INTERFACE", "NETWORK", "LABELS")
	}
	for _, o := range objs {
		w := o.(*resources.WorkloadEndpoint)
		row := []string{w.Spec.Node, w.Spec.Orchestrator, cli.ShortID(w.Spec.ContainerID), w.Spec.Endpoint,
			strings.Join(w.Spec.IPNetworks, ","), w.Spec.MAC, strings.Join(w.Spec.Profiles, ","), endpointState(w)}
		if format == cli.FormatWide {
			row = append(row, w.Spec.Workload, w.Name, w.Spec.InterfaceName, w.Spec.Network, cli.LabelString(w.Labels))
		}
		t.Rows = append(t.Rows, row)
	}
	return t.Write(a.Out)
}

// annotationEnvNotApplied is driver.AnnotationEnvNotApplied (calicoctl does
// not import the driver).
const annotationEnvNotApplied = "libnetwork.projectcalico.org/env-not-applied"

func endpointState(w *resources.WorkloadEndpoint) string {
	if w.Annotations[resources.AnnotationLabelsPending] == "true" {
		return "pending"
	}
	if p := w.Annotations[annotationEnvNotApplied]; p != "" {
		return "active (" + p + ")" // the container's CALICO_IP or CALICO_PROFILE could not be honoured
	}
	return "active"
}
