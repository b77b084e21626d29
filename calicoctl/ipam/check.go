package ipam

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/spf13/cobra"
)

func (a *app) ipamCheckCommand() *cobra.Command {
	var output string
	var grace time.Duration
	cmd := &cobra.Command{
		Use:   "check [--grace 10m] [-o table|yaml|json]",
		Short: "Find leaked addresses, blocks of vanished nodes and endpoints without addresses",
		Long: `Check IPAM against the workload endpoints and nodes, change nothing, and report:

  - leaked addresses: allocated, but no workload endpoint lists the address, owns its
    handle or is named in its attributes, and allocated longer ago than --grace
    (default 10m). Younger ones are counted, not flagged: the IPAM driver allocates
    an address before Docker creates its endpoint. calicoctl ipam release frees leaks.
  - blocks whose affinity names a node that has no Node resource any more
    (calicoctl ipam release frees those that are empty).
  - workload endpoints whose addresses IPAM does not hold for them (another
    container could be given the same address).

Exit status: 0 when nothing is found, 1 when problems are found (or on error).`,
		Example: `  calicoctl ipam check
  calicoctl ipam check --grace 1h -o json`,
		Args: cli.ArgsWith(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := cli.ParseFormatOf(output, "table", "yaml", "json")
			if err != nil {
				return err
			}
			if grace < 0 {
				return cli.Usagef("--grace %s: give a duration of zero or more, e.g. 10m", grace)
			}
			rep, err := a.runAudit(cmd.Context(), grace)
			if err != nil {
				return err
			}
			if format == cli.FormatTable {
				err = writeAudit(a.Out, rep)
			} else {
				err = cli.WriteStructured(a.Out, format, rep)
			}
			if err != nil {
				return err
			}
			if rep.ProblemsTotal > 0 {
				return &cli.ExitCodeError{Code: cli.ExitFailure}
			}
			return nil
		},
	}
	cmd.Flags().DurationVar(&grace, "grace", DefaultGrace, "only addresses allocated longer ago than this are leaks")
	cli.AddOutputFlag(cmd, &output, "table", "yaml", "json")
	return cmd
}

func (a *app) runAudit(ctx context.Context, grace time.Duration) (*Audit, error) {
	s, err := a.ipamState(ctx)
	if err != nil {
		return nil, err
	}
	return audit(s, a.Now(), grace), nil
}

func writeAudit(w io.Writer, r *Audit) error {
	fmt.Fprintf(w, "Checked %d pool(s), %d block(s), %d allocation(s), %d workload endpoint(s), %d node(s) (grace period %s).\n",
		r.Pools, r.Blocks, r.Allocations, r.Endpoints, r.Nodes, r.GracePeriod)
	fmt.Fprintf(w, "\nLeaked addresses: %d\n", len(r.Leaks))
	if err := writeLeaks(w, r.Leaks); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nBlocks affine to vanished nodes: %d\n", len(r.OrphanBlocks))
	if len(r.OrphanBlocks) > 0 {
		t := cli.Table{Header: []string{"BLOCK", "AFFINITY", "IPS IN USE"}}
		for _, b := range r.OrphanBlocks {
			t.Rows = append(t.Rows, []string{b.CIDR, b.Affinity, fmt.Sprint(b.InUse)})
		}
		if err := t.Write(w); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "\nBlocks in no IP pool (their pool was deleted): %d\n", len(r.NoPoolBlocks))
	if len(r.NoPoolBlocks) > 0 {
		t := cli.Table{Header: []string{"BLOCK", "AFFINITY", "IPS IN USE"}}
		for _, b := range r.NoPoolBlocks {
			t.Rows = append(t.Rows, []string{b.CIDR, cli.FirstSet(b.Affinity, "(none)"), fmt.Sprint(b.InUse)})
		}
		if err := t.Write(w); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "\nWorkload endpoints whose addresses are not allocated to them: %d\n", len(r.Unallocated))
	if len(r.Unallocated) > 0 {
		t := cli.Table{Header: []string{"ENDPOINT", "CONTAINER", "IP", "PROBLEM"}}
		for _, u := range r.Unallocated {
			t.Rows = append(t.Rows, []string{u.Endpoint, u.Container, u.IP, u.Problem})
		}
		if err := t.Write(w); err != nil {
			return err
		}
	}
	if n := len(r.WithinGrace); n > 0 {
		fmt.Fprintf(w, "\nNot flagged: %d address(es) without an endpoint allocated within the grace period (an endpoint may be being created).\n", n)
	}
	fmt.Fprintln(w)
	if r.ProblemsTotal == 0 {
		fmt.Fprintln(w, "No problems found.")
		return nil
	}
	fmt.Fprintf(w, "Found %d problem(s).", r.ProblemsTotal)
	if len(r.Leaks) > 0 || len(r.OrphanBlocks) > 0 || len(r.NoPoolBlocks) > 0 {
		fmt.Fprint(w, " calicoctl ipam release frees the leaked addresses, and the blocks of vanished nodes and in no pool once empty.")
	}
	if len(r.NoPoolBlocks) > 0 {
		fmt.Fprint(w, " Addresses in use in a block in no pool belong to running containers: remove them, or create a pool containing the block again.")
	}
	fmt.Fprintln(w)
	return nil
}

func writeLeaks(w io.Writer, leaks []leak) error {
	if len(leaks) == 0 {
		return nil
	}
	t := cli.Table{Header: []string{"IP", "HANDLE", "NODE", "ALLOCATED", "REASON"}}
	for _, l := range leaks {
		t.Rows = append(t.Rows, []string{l.IP, l.Handle, l.Node, l.Allocated, l.Reason})
	}
	return t.Write(w)
}

// errNotConfirmed is returned when the operator did not confirm a release.
var errNotConfirmed = errors.New("not confirmed: nothing was released; answer yes, or pass --yes")
