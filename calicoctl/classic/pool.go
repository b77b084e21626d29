package classic

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/ipam"
	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/spf13/cobra"
)

func (a *app) poolCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pool",
		Short: "Classic IP pool commands (show, add, remove)",
		Long: `The pool commands of the original calicoctl, working on v3 IPPool resources. A pool
added here is named from its CIDR: 10.1.0.0/16 becomes pool-10-1-0-0-16.`,
		Example: `  calicoctl pool show
  calicoctl pool add 10.1.0.0/16 --nat-outgoing
  calicoctl pool remove 192.168.0.0/16`,
	}
	cmd.AddCommand(a.poolShowCommand(), a.poolAddCommand(), a.poolRemoveCommand())
	return cmd
}

// poolName is the name pool add gives a pool: "pool-" and the CIDR with
// '.', ':' and '/' as '-' (as the IPAM driver names pools "docker-...").
func poolName(cidr netip.Prefix) string {
	return "pool-" + strings.NewReplacer(".", "-", ":", "-", "/", "-").Replace(cidr.String())
}

// parsePoolCIDR parses a CIDR argument; host bits are cleared (as v0 did)
// and reported in note.
func parsePoolCIDR(s string) (cidr netip.Prefix, note string, err error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return p, "", cli.Usagef("%q is not a CIDR: give one such as 10.1.0.0/16 or fd00:10::/64", s)
	}
	if p.Masked() != p {
		note = fmt.Sprintf("using %s (the network of %s)", p.Masked(), s)
	}
	return p.Masked(), note, nil
}

func (a *app) poolShowCommand() *cobra.Command {
	var output string
	var v4, v6 bool
	cmd := &cobra.Command{
		Use:   "show [--ipv4|--ipv6] [-o table|wide|yaml|json]",
		Short: "List IP pools",
		Long: `List the IP pools. Columns: CIDR, NAME, OPTIONS (ipip, nat-outgoing, disabled);
-o wide adds BLOCKSIZE and SELECTOR; -o yaml|json prints the IPPool resources.`,
		Example: `  calicoctl pool show
  calicoctl pool show --ipv4 -o wide`,
		Args: cli.ArgsWith(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := cli.ParseFormatOf(output, "table", "wide", "yaml", "json")
			if err != nil {
				return err
			}
			if v4 && v6 {
				return cli.Usagef("give --ipv4 or --ipv6, not both")
			}
			return a.runPoolShow(cmd.Context(), format, v4, v6)
		},
	}
	cmd.Flags().BoolVar(&v4, "ipv4", false, "only IPv4 pools")
	cmd.Flags().BoolVar(&v6, "ipv6", false, "only IPv6 pools")
	cli.AddOutputFlag(cmd, &output, "table", "wide", "yaml", "json")
	return cmd
}

func (a *app) runPoolShow(ctx context.Context, format cli.OutputFormat, v4, v6 bool) error {
	st, err := a.Store(ctx)
	if err != nil {
		return err
	}
	pools, err := cli.SortedPools(ctx, st)
	if err != nil {
		return err
	}
	var objs []resources.Resource
	for _, p := range pools {
		cidr, err := resources.ParseCIDR(p.Spec.CIDR)
		if err == nil && (v4 && !cidr.Addr().Is4() || v6 && !cidr.Addr().Is6()) {
			continue
		}
		objs = append(objs, p)
	}
	if format == cli.FormatYAML || format == cli.FormatJSON {
		info, _ := resources.Lookup(resources.KindIPPool)
		return cli.Printer{Out: a.Out, Format: format, Store: st}.Print(ctx, info, objs, false)
	}
	t := cli.Table{Header: []string{"CIDR", "NAME", "OPTIONS"}}
	if format == cli.FormatWide {
		t.Header = append(t.Header, "BLOCKSIZE", "SELECTOR")
	}
	for _, o := range objs {
		p := o.(*resources.IPPool)
		row := []string{p.Spec.CIDR, p.Name, poolOptions(p)}
		if format == cli.FormatWide {
			row = append(row, strconv.Itoa(p.Spec.BlockSize), p.Spec.NodeSelector)
		}
		t.Rows = append(t.Rows, row)
	}
	return t.Write(a.Out)
}

func poolOptions(p *resources.IPPool) string {
	var opts []string
	if p.Spec.IPIPMode != "" && p.Spec.IPIPMode != resources.EncapNever {
		opts = append(opts, "ipip")
	}
	if p.Spec.VXLANMode != "" && p.Spec.VXLANMode != resources.EncapNever {
		opts = append(opts, "vxlan")
	}
	if p.Spec.NATOutgoing {
		opts = append(opts, "nat-outgoing")
	}
	if p.Spec.Disabled {
		opts = append(opts, "disabled")
	}
	return strings.Join(opts, ",")
}

func (a *app) poolAddCommand() *cobra.Command {
	var nat, ipip bool
	cmd := &cobra.Command{
		Use:   "add CIDR [--nat-outgoing] [--ipip]",
		Short: "Create an IP pool, or set the options of the pool with that CIDR",
		Long: `Create IPPool pool-<CIDR> (e.g. pool-10-1-0-0-16) for CIDR. If a pool with exactly this
CIDR exists, whatever its name, its options are set to the flags given (as the
original calicoctl did: running the command again is harmless). A CIDR overlapping
another pool is refused. --ipip sets ipipMode Always, --nat-outgoing natOutgoing.`,
		Example: `  calicoctl pool add 10.1.0.0/16
  calicoctl pool add 192.168.0.0/16 --ipip --nat-outgoing`,
		Args: cli.ArgsWith(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			cidr, note, err := parsePoolCIDR(args[0])
			if err != nil {
				return err
			}
			if note != "" {
				fmt.Fprintf(a.Err, "Note: %s\n", note)
			}
			return a.runPoolAdd(cmd.Context(), cidr, nat, ipip)
		},
	}
	cmd.Flags().BoolVar(&nat, "nat-outgoing", false, "masquerade traffic from the pool to destinations outside every pool")
	cmd.Flags().BoolVar(&ipip, "ipip", false, "encapsulate traffic between hosts in IP-in-IP (ipipMode Always)")
	return cmd
}

func (a *app) runPoolAdd(ctx context.Context, cidr netip.Prefix, nat, ipip bool) error {
	st, err := a.Store(ctx)
	if err != nil {
		return err
	}
	pools, err := cli.SortedPools(ctx, st)
	if err != nil {
		return err
	}
	p := resources.NewIPPool(poolName(cidr))
	verb := "Created"
	for _, other := range pools {
		oc, err := resources.ParseCIDR(other.Spec.CIDR)
		switch {
		case err != nil:
			continue
		case oc == cidr:
			p, verb = other, "Updated"
		case oc.Overlaps(cidr):
			return fmt.Errorf("%s overlaps pool %s (%s): nothing was changed; remove that pool first or choose another CIDR", cidr, other.Name, other.Spec.CIDR)
		}
	}
	p.Spec.CIDR = cidr.String()
	p.Spec.NATOutgoing = nat
	p.Spec.IPIPMode = resources.EncapNever
	if ipip {
		p.Spec.IPIPMode = resources.EncapAlways
	}
	p.Default()
	if err := cli.NewAllocator(st).CheckPoolWrite(ctx, p, nil); err != nil {
		return fmt.Errorf("nothing was changed: %w", err)
	}
	if verb == "Created" {
		_, err = st.Create(ctx, p)
	} else {
		_, err = st.Update(ctx, p)
	}
	if err != nil {
		return fmt.Errorf("nothing was changed: %w", err)
	}
	fmt.Fprintf(a.Out, "%s pool %s (%s)\n", verb, p.Name, cidr)
	return nil
}

func (a *app) poolRemoveCommand() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "remove CIDR [--force]",
		Short: "Delete the IP pool with this CIDR",
		Long: `Delete the IPPool whose CIDR is exactly CIDR, whatever its name, with its empty
blocks. While addresses of the pool are allocated to containers the removal is refused:
disable the pool (calicoctl apply with spec.disabled: true), move or remove the
containers using it (calicoctl ipam show --show-blocks lists them), then remove it.
--force is refused: a pool removed under its containers leaves blocks in no pool.`,
		Example: `  calicoctl pool remove 192.168.0.0/16
  calicoctl pool remove 10.1.0.0/16 --force`,
		Args: cli.ArgsWith(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			cidr, _, err := parsePoolCIDR(args[0])
			if err != nil {
				return err
			}
			return a.runPoolRemove(cmd.Context(), cidr, force)
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "remove the pool even while addresses are allocated from it")
	return cmd
}

func (a *app) runPoolRemove(ctx context.Context, cidr netip.Prefix, force bool) error {
	st, err := a.Store(ctx)
	if err != nil {
		return err
	}
	pools, err := cli.SortedPools(ctx, st)
	if err != nil {
		return err
	}
	var pool *resources.IPPool
	for _, p := range pools {
		if pc, err := resources.ParseCIDR(p.Spec.CIDR); err == nil && pc == cidr {
			pool = p
		}
	}
	if pool == nil {
		return fmt.Errorf("no IP pool has CIDR %s: list them with calicoctl pool show", cidr)
	}
	if _, err := cli.NewAllocator(st).DeletePool(ctx, pool.Name, pool.ResourceVersion); err != nil {
		if errors.Is(err, datastore.ErrConflict) {
			return fmt.Errorf("pool %s changed meanwhile: nothing was changed; run the command again", pool.Name)
		}
		if force && errors.Is(err, ipam.ErrPoolRule) {
			return fmt.Errorf("--force no longer removes a pool in use (its blocks would stay in no pool): %w", err)
		}
		return err
	}
	fmt.Fprintf(a.Out, "Removed pool %s (%s)\n", pool.Name, cidr)
	return nil
}
