package calicoctl

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

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

// HostStatusFunc reads this host's daemon status.
//
// run sets app.hostStatus to daemonHostStatus (node_status.go), which reads
// the daemon's status socket; when it is nil, calicoctl status says the
// host status is not available.
type HostStatusFunc func(ctx context.Context) (*HostStatus, error)

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

const noHostStatus = "not available yet: the daemon's status endpoint (calicoctl node status) is not implemented"

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
		Args: argsWith(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := parseFormatOf(output, "table", "yaml", "json")
			if err != nil {
				return err
			}
			return a.runStatus(cmd.Context(), format)
		},
	}
	addOutputFlag(cmd, &output, "table", "yaml", "json")
	cmd.Flags().StringVar(&a.statusSocket, "status-socket", "", "the daemon's status socket (as calicoctl node status)")
	return cmd
}

func (a *app) runStatus(ctx context.Context, format outputFormat) error {
	cfg, err := a.conn.resolve(a.lookupEnv)
	if err != nil {
		return err
	}
	var rep statusReport
	rep.Datastore.Endpoints = cfg.Endpoints
	st, err := a.store(ctx)
	if err != nil {
		return err
	}
	nodes, _, err := datastore.ListAs[*resources.Node](ctx, st, "")
	if err != nil {
		return fmt.Errorf("datastore at %s does not answer: %w", strings.Join(cfg.Endpoints, ","), err)
	}
	rep.Datastore.Reachable = true
	ix, err := loadEndpoints(ctx, st)
	if err != nil {
		return err
	}
	rep.Nodes = nodeStatuses(nodes, ix)
	rep.Host = a.readHostStatus(ctx)
	if format != formatTable {
		return writeStructured(a.out, format, rep)
	}
	return writeStatus(a.out, &rep)
}

func (a *app) readHostStatus(ctx context.Context) *hostReport {
	if a.hostStatus == nil {
		return &hostReport{Message: noHostStatus}
	}
	s, err := a.hostStatus(ctx)
	if err != nil {
		return &hostReport{Message: err.Error()}
	}
	return &hostReport{Available: true, Status: s}
}

func nodeStatuses(nodes []*resources.Node, ix *endpointIndex) []nodeStatus {
	count := map[string]int{}
	for _, w := range ix.weps {
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
	t := table{header: []string{"NODE", "VERSION", "LAST STARTED", "ENDPOINTS"}}
	for _, n := range rep.Nodes {
		t.rows = append(t.rows, []string{n.Name, n.Version, n.LastStarted, strconv.Itoa(n.Endpoints)})
	}
	return t.write(w)
}
