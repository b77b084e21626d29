package node

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/spf13/cobra"
)

// HostStatus is what this host's daemon reports through its local status
// endpoint (version, dataplane in sync, BGP sessions).
type HostStatus struct {
	Version         string   `json:"version,omitempty"`
	DataplaneInSync bool     `json:"dataplaneInSync"`
	Details         []string `json:"details,omitempty"` // one line each, e.g. a BGP session
}

// statusReport is calicoctl status's answer.
type statusReport struct {
	Datastore struct {
		Reachable bool     `json:"reachable"`
		Endpoints []string `json:"endpoints"`
	} `json:"datastore"`
	Host  *hostReport  `json:"host"`
	Nodes []nodeStatus `json:"nodes"`
}

type hostReport struct {
	Available bool        `json:"available"`
	Message   string      `json:"message,omitempty"`
	Status    *HostStatus `json:"status,omitempty"`
}

type nodeStatus struct {
	Name        string `json:"name"`
	Version     string `json:"version,omitempty"`
	LastStarted string `json:"lastStarted,omitempty"`
	Endpoints   int    `json:"endpoints"`
}

func (a *app) statusCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "status [-o table|yaml|json]",
		Short: "Is the datastore reachable, and which nodes run calico-libnetwork",
		Long: `The short status of the original calicoctl: whether the datastore (etcd) answers,
this host's daemon status (read from its status socket, as calicoctl node status), and every node with the
daemon version it last started with, when, and how many workload endpoints it has.
Exit status 1 when the datastore cannot be reached.`,
		Example: `  calicoctl status
  calicoctl status -o json`,
		Args: cli.ArgsWith(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := cli.ParseFormatOf(output, "table", "yaml", "json")
			if err != nil {
				return err
			}
			return a.runStatus(cmd.Context(), format)
		},
	}
	cli.AddOutputFlag(cmd, &output, "table", "yaml", "json")
	cmd.Flags().StringVar(&a.StatusSocket, "status-socket", "", "the daemon's status socket (as calicoctl node status)")
	return cmd
}

func (a *app) runStatus(ctx context.Context, format cli.OutputFormat) error {
	cfg, err := a.Conn.Resolve(a.LookupEnv)
	if err != nil {
		return err
	}
	var rep statusReport
	rep.Datastore.Endpoints = cfg.Endpoints
	st, err := a.Store(ctx)
	if err != nil {
		return err
	}
	nodes, _, err := datastore.ListAs[*resources.Node](ctx, st, "")
	if err != nil {
		return fmt.Errorf("datastore at %s does not answer: %w", strings.Join(cfg.Endpoints, ","), err)
	}
	rep.Datastore.Reachable = true
	ix, err := cli.LoadEndpoints(ctx, st)
	if err != nil {
		return err
	}
	rep.Nodes = nodeStatuses(nodes, ix)
	rep.Host = a.readHostStatus(ctx)
	if format != cli.FormatTable {
		return cli.WriteStructured(a.Out, format, rep)
	}
	return writeStatus(a.Out, &rep)
}

func (a *app) readHostStatus(ctx context.Context) *hostReport {
	s, err := a.daemonHostStatus(ctx)
	if err != nil {
		return &hostReport{Message: err.Error()}
	}
	return &hostReport{Available: true, Status: s}
}

func nodeStatuses(nodes []*resources.Node, ix *cli.EndpointIndex) []nodeStatus {
	count := map[string]int{}
	for _, w := range ix.Weps {
		count[w.Spec.Node]++
	}
	out := make([]nodeStatus, 0, len(nodes))
	for _, n := range nodes {
		out = append(out, nodeStatus{Name: n.Name, Version: n.Status.Version, LastStarted: n.Status.LastStarted, Endpoints: count[n.Name]})
	}
	slices.SortFunc(out, func(x, y nodeStatus) int { return strings.Compare(x.Name, y.Name) })
	return out
}

func writeStatus(w io.Writer, rep *statusReport) error {
	fmt.Fprintf(w, "Datastore:  reachable (etcd %s)\n", strings.Join(rep.Datastore.Endpoints, ","))
	switch h := rep.Host; {
	case h.Available:
		fmt.Fprintf(w, "This host:  version %s, dataplane in sync: %t\n", h.Status.Version, h.Status.DataplaneInSync)
		for _, d := range h.Status.Details {
			fmt.Fprintf(w, "            %s\n", d)
		}
	default:
		fmt.Fprintf(w, "This host:  %s\n", h.Message)
	}
	fmt.Fprintln(w)
	t := cli.Table{Header: []string{"NODE", "VERSION", "LAST STARTED", "ENDPOINTS"}}
	for _, n := range rep.Nodes {
		t.Rows = append(t.Rows, []string{n.Name, n.Version, n.LastStarted, strconv.Itoa(n.Endpoints)})
	}
	return t.Write(w)
}
