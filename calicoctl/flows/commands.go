// Package flows is calicoctl flows: the flow logs of one node's daemon
// (its flows API on the local status socket by default), of another node
// (--node: the URL its daemon records on its Node resource, annotation
// projectcalico.org/flows-api, when its metrics_addr is set) or of every
// node that records one (--node all). See docs/flows.md.
package flows

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"time"

	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/calico-docker/calico-libnetwork/flows"
	"github.com/spf13/cobra"
)

// Commands is calicoctl flows.
func Commands(c *cli.App) []*cobra.Command { return []*cobra.Command{Command(c)} }

type options struct {
	endpoint, network, selector, action, policy, node, since string
	limit                                                    int
	follow                                                   bool
	output, api                                              string
}

// Command returns calicoctl flows.
func Command(a *cli.App) *cobra.Command {
	var o options
	cmd := &cobra.Command{
		Use:   "flows",
		Short: "Show recent flows with the policy that allowed or denied them",
		Long: `Show the connections Calico policy decided on, aggregated per interval (default 15s)
by source and destination endpoint, protocol, destination port, action and deciding rule,
with their packets and bytes, newest first.

Sources: this host's daemon through its status socket (<data_dir>/status.sock, root
only) unless --node or --api says otherwise. --node NAME asks that node's daemon at the
flows API URL it records on its Node resource (set metrics_addr on it to an address
reachable from here); --node all asks every node that records one.`,
		Example: `  calicoctl flows
  calicoctl flows --action deny --follow
  calicoctl flows --selector "role == 'db'" -o wide
  calicoctl flows --node all -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return run(cmd.Context(), a, &o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.endpoint, "endpoint", "", "only flows with an endpoint whose name contains this")
	f.StringVar(&o.network, "network", "", "only flows with an endpoint on this Docker network")
	f.StringVar(&o.selector, "selector", "", "only flows with an endpoint these labels select (Calico selector)")
	f.StringVar(&o.action, "action", "", "allow or deny")
	f.StringVar(&o.policy, "policy", "", "tier/name of the deciding policy, or part of its name")
	f.StringVar(&o.node, "node", "", "the node whose flows to show, or all (default: this host)")
	f.StringVar(&o.since, "since", "", "only intervals ending after this (RFC 3339 time or duration such as 5m)")
	f.IntVar(&o.limit, "limit", flows.DefaultLimit, "at most this many rows per node (1 to 10000)")
	f.BoolVarP(&o.follow, "follow", "f", false, "keep printing flows as intervals close (Ctrl-C stops)")
	f.StringVar(&o.api, "api", "", "URL of a daemon's flows API (http://host:port of its metrics_addr) instead")
	f.StringVar(&a.StatusSocket, "status-socket", "", "this host's daemon's status socket (default <data_dir>/status.sock)")
	cli.AddOutputFlag(cmd, &o.output, "table", "wide", "json")
	return cmd
}

// query turns the options into the API's query parameters, refusing bad
// ones with the flag's name and the fix.
func (o *options) query(now time.Time) (url.Values, error) {
	q := url.Values{}
	for k, v := range map[string]string{"endpoint": o.endpoint, "network": o.network, "selector": o.selector,
		"action": o.action, "policy": o.policy, "since": o.since} {
		if v != "" {
			q.Set(k, v)
		}
	}
	q.Set("limit", strconv.Itoa(o.limit))
	if _, err := flows.ParseFilter(q, now); err != nil {
		var fe *flows.FilterError
		if errors.As(err, &fe) {
			return nil, cli.Usagef("--%s: %s; %s", fe.Field, fe.Problem, fe.Fix)
		}
		return nil, err
	}
	return q, nil
}

func run(ctx context.Context, a *cli.App, o *options) error {
	format, err := cli.ParseFormatOf(o.output, "table", "wide", "json")
	if err != nil {
		return err
	}
	q, err := o.query(a.Now())
	if err != nil {
		return err
	}
	srcs, err := sources(ctx, a, o)
	if err != nil {
		return err
	}
	p := &printer{w: a.Out, format: format, follow: o.follow}
	if o.follow {
		return follow(ctx, a, srcs, q, p)
	}
	return list(ctx, a, srcs, q, p)
}
