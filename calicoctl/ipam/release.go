package ipam

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/ipam"
	"github.com/spf13/cobra"
)

func (a *app) ipamReleaseCommand() *cobra.Command {
	var yes bool
	var grace time.Duration
	var ip string
	cmd := &cobra.Command{
		Use:   "release [--ip ADDR] [--yes] [--grace 10m]",
		Short: "Free the leaked addresses ipam check finds, or one address",
		Long: `Without --ip: run the checks of calicoctl ipam check again, list the leaked
addresses and the blocks affine to vanished nodes that are (or will be, once the leaks
are freed) empty, and, once confirmed (answer yes on stdin, or pass --yes), free them.
Each address is freed only if the handle that leaked it still holds it, so an address
re-allocated meanwhile is never taken from its new owner. A block is freed (its record
and its node's affinity deleted, so any node may claim it again) only while it is
empty: a block of a vanished node that still holds addresses a workload endpoint uses
is listed and left alone. Endpoints without addresses are reported by ipam check and
left alone.

With --ip ADDR: free that one address, after confirmation. An address a workload
endpoint uses is refused: remove its container instead.

Exit status: 0 when everything listed was freed (or nothing needed freeing), 1 when
not confirmed or on error.`,
		Example: `  calicoctl ipam release
  calicoctl ipam release --yes
  calicoctl ipam release --ip 10.0.0.9 --yes`,
		Args: cli.ArgsWith(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if grace < 0 {
				return cli.Usagef("--grace %s: give a duration of zero or more, e.g. 10m", grace)
			}
			if ip != "" {
				addr, err := parseIPFlag(ip)
				if err != nil {
					return err
				}
				return a.releaseOne(cmd.Context(), addr, yes, grace)
			}
			return a.releaseLeaks(cmd.Context(), yes, grace)
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	cmd.Flags().DurationVar(&grace, "grace", DefaultGrace, "only addresses allocated longer ago than this are leaks")
	cmd.Flags().StringVar(&ip, "ip", "", "release only this address")
	return cmd
}

// confirm asks on stderr and reads the answer from stdin.
func (a *app) confirm(yes bool, question string) error {
	if yes {
		return nil
	}
	fmt.Fprintf(a.Err, "%s [y/N] ", question)
	line, _ := bufio.NewReader(a.In).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	fmt.Fprintln(a.Err)
	return errNotConfirmed
}

func (a *app) releaseLeaks(ctx context.Context, yes bool, grace time.Duration) error {
	rep, err := a.runAudit(ctx, grace)
	if err != nil {
		return err
	}
	blocks, kept := freeableBlocks(rep.OrphanBlocks, rep.Leaks)
	writeKeptBlocks(a, kept, "of vanished node")
	noPool, keptNP := freeableBlocks(rep.NoPoolBlocks, rep.Leaks)
	writeKeptBlocks(a, keptNP, "in no pool, affine to")
	if len(rep.Leaks) == 0 && len(blocks) == 0 && len(noPool) == 0 {
		fmt.Fprintln(a.Out, "No leaked addresses and no empty blocks of vanished nodes or in no pool: nothing to release.")
		return nil
	}
	if err := a.confirm(yes, a.planRelease(rep, blocks, noPool)); err != nil {
		return err
	}
	st, err := a.Store(ctx)
	if err != nil {
		return err
	}
	alloc := cli.NewAllocator(st)
	errs := []error{a.releaseAllLeaks(ctx, alloc, rep.Leaks)}
	errs = append(errs, a.releaseBlocks(ctx, alloc, blocks), a.releaseNoPoolBlocks(ctx, alloc, noPool))
	return errors.Join(errs...)
}

// planRelease prints what will be freed and returns the question to confirm it.
func (a *app) planRelease(rep *Audit, blocks, noPool []orphanBlock) string {
	var what []string
	if len(rep.Leaks) > 0 {
		fmt.Fprintf(a.Out, "Leaked addresses (grace period %s):\n", rep.GracePeriod)
		_ = writeLeaks(a.Out, rep.Leaks)
		what = append(what, fmt.Sprintf("these %d address(es)", len(rep.Leaks)))
	}
	if len(blocks) > 0 {
		fmt.Fprintln(a.Out, "Blocks affine to vanished nodes, empty once the leaks are freed:")
		t := cli.Table{Header: []string{"BLOCK", "AFFINITY", "IPS IN USE"}}
		for _, b := range blocks {
			t.Rows = append(t.Rows, []string{b.CIDR, b.Affinity, fmt.Sprint(b.InUse)})
		}
		_ = t.Write(a.Out)
		what = append(what, fmt.Sprintf("%d block(s) of vanished nodes", len(blocks)))
	}
	if len(noPool) > 0 {
		fmt.Fprintln(a.Out, "Blocks in no IP pool, empty once the leaks are freed:")
		t := cli.Table{Header: []string{"BLOCK", "AFFINITY", "IPS IN USE"}}
		for _, b := range noPool {
			t.Rows = append(t.Rows, []string{b.CIDR, cli.FirstSet(b.Affinity, "(none)"), fmt.Sprint(b.InUse)})
		}
		_ = t.Write(a.Out)
		what = append(what, fmt.Sprintf("%d block(s) in no pool", len(noPool)))
	}
	return "Release " + strings.Join(what, " and ") + "?"
}

func (a *app) releaseAllLeaks(ctx context.Context, alloc *ipam.Allocator, leaks []leak) error {
	if len(leaks) == 0 {
		return nil
	}
	var errs []error
	released := 0
	done := map[string]bool{}
	for _, l := range leaks {
		if l.Handle != "" && done[l.Handle] {
			continue
		}
		n, err := a.releaseLeak(ctx, alloc, l, leaks)
		released += n
		done[l.Handle] = true
		if err != nil {
			errs = append(errs, err)
		}
	}
	fmt.Fprintf(a.Out, "Released %d of %d leaked address(es).\n", released, len(leaks))
	return errors.Join(errs...)
}

// freeableBlocks splits the blocks of vanished nodes into those every
// address of which is a leak (empty once the leaks are freed) and the
// others.
func freeableBlocks(list []orphanBlock, leaks []leak) (free, kept []orphanBlock) {
	for _, b := range list {
		cidr, err := netip.ParsePrefix(b.CIDR)
		if err != nil {
			continue
		}
		leaked := 0
		for _, l := range leaks {
			if cidr.Contains(l.addr) {
				leaked++
			}
		}
		if leaked == b.InUse {
			free = append(free, b)
		} else {
			b.InUse -= leaked
			kept = append(kept, b)
		}
	}
	return free, kept
}

func writeKeptBlocks(a *app, kept []orphanBlock, what string) {
	for _, b := range kept {
		fmt.Fprintf(a.Out, "Keeping block %s %s %s: %d address(es) in it are not leaked "+
			"(calicoctl ipam show --show-blocks; remove their containers, then run this again).\n", b.CIDR, what, cli.FirstSet(b.Affinity, "no node"), b.InUse)
	}
}

// releaseNoPoolBlocks frees each block in no pool, only while it is empty.
func (a *app) releaseNoPoolBlocks(ctx context.Context, alloc *ipam.Allocator, blocks []orphanBlock) error {
	return a.freeBlocks(blocks, "in no pool", func(b orphanBlock, cidr netip.Prefix) (string, error) {
		return "in no pool", alloc.FreeEmptyBlock(ctx, cidr)
	})
}

// releaseBlocks frees each block's affinity, only while it is empty.
func (a *app) releaseBlocks(ctx context.Context, alloc *ipam.Allocator, blocks []orphanBlock) error {
	return a.freeBlocks(blocks, "of vanished nodes", func(b orphanBlock, cidr netip.Prefix) (string, error) {
		return "of vanished node " + b.Affinity, alloc.ReleaseAffinity(ctx, b.Affinity, cidr)
	})
}

// freeBlocks frees each block with free, reporting each and a total.
func (a *app) freeBlocks(blocks []orphanBlock, what string, free func(orphanBlock, netip.Prefix) (string, error)) error {
	if len(blocks) == 0 {
		return nil
	}
	var errs []error
	released := 0
	for _, b := range blocks {
		cidr, _ := netip.ParsePrefix(b.CIDR)
		desc, err := free(b, cidr)
		if err != nil {
			errs = append(errs, fmt.Errorf("free block %s %s: %w", b.CIDR, desc, err))
			continue
		}
		released++
		fmt.Fprintf(a.Out, "Released block %s %s\n", b.CIDR, desc)
	}
	fmt.Fprintf(a.Out, "Released %d of %d block(s) %s.\n", released, len(blocks), what)
	return errors.Join(errs...)
}

// releaseLeak frees one leaked handle (all its addresses, only while the
// handle holds them), or one address that has no handle.
func (a *app) releaseLeak(ctx context.Context, alloc *ipam.Allocator, l leak, all []leak) (int, error) {
	if l.Handle == "" {
		missing, err := alloc.ReleaseIPs(ctx, l.addr)
		if err != nil {
			return 0, fmt.Errorf("release %s: %w", l.IP, err)
		}
		if len(missing) > 0 {
			fmt.Fprintf(a.Out, "%s was already released\n", l.IP)
			return 0, nil
		}
		fmt.Fprintf(a.Out, "Released %s\n", l.IP)
		return 1, nil
	}
	err := alloc.ReleaseByHandle(ctx, l.Handle)
	if errors.Is(err, ipam.ErrHandleNotFound) {
		fmt.Fprintf(a.Out, "Handle %s was already released\n", l.Handle)
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("release handle %s: %w", l.Handle, err)
	}
	n := 0
	for _, o := range all {
		if o.Handle == l.Handle {
			fmt.Fprintf(a.Out, "Released %s (handle %s)\n", o.IP, o.Handle)
			n++
		}
	}
	return n, nil
}

func (a *app) releaseOne(ctx context.Context, ip netip.Addr, yes bool, grace time.Duration) error {
	st, err := a.Store(ctx)
	if err != nil {
		return err
	}
	s, err := readIPAMState(ctx, st)
	if err != nil {
		return err
	}
	h := holderOf(s, ip)
	switch {
	case !h.Allocated:
		return fmt.Errorf("%s is not allocated: nothing to release", ip)
	case h.Endpoint != "":
		return fmt.Errorf("%s belongs to workload endpoint %s (container %s): nothing was released; remove the container to free it",
			ip, h.Endpoint, cli.FirstSet(h.Container, "unknown"))
	}
	question := fmt.Sprintf("Release %s (handle %s)?", ip, cli.FirstSet(h.Handle, "none"))
	if t, ok := allocationTime(h.Attributes); ok && a.Now().Sub(t) < grace {
		question = fmt.Sprintf("%s was allocated %s ago, within the grace period: a container may be being created with it. Release it anyway?",
			ip, a.Now().Sub(t).Round(time.Second))
	}
	if err := a.confirm(yes, question); err != nil {
		return err
	}
	return a.releaseAddress(ctx, st, ip)
}

func allocationTime(attrs map[string]string) (time.Time, bool) {
	return allocatedAt(ipam.Allocation{Attrs: attrs})
}

func (a *app) releaseAddress(ctx context.Context, st *datastore.Store, ip netip.Addr) error {
	missing, err := cli.NewAllocator(st).ReleaseIPs(ctx, ip)
	if err != nil {
		return fmt.Errorf("release %s: %w", ip, err)
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s was released meanwhile: nothing to do", ip)
	}
	fmt.Fprintf(a.Out, "Released %s\n", ip)
	return nil
}
