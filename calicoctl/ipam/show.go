package ipam

import (
	"context"
	"fmt"
	"io"
	"maps"
	"math/big"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/calico-docker/calico-libnetwork/ipam"
	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/spf13/cobra"
)

func (a *app) ipamCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ipam",
		Short: "Show and audit IP address management (show, check, release)",
		Example: `  calicoctl ipam show --show-blocks
  calicoctl ipam show --ip 10.0.0.5
  calicoctl ipam check
  calicoctl ipam release --yes`,
	}
	cmd.AddCommand(a.ipamShowCommand(), a.ipamCheckCommand(), a.ipamReleaseCommand())
	return cmd
}

// showFlags are ipam show's choices; at most one of them is given.
type showFlags struct {
	output, ip                      string
	blocks, borrowed, configuration bool
}

func (a *app) ipamShowCommand() *cobra.Command {
	var f showFlags
	cmd := &cobra.Command{
		Use:   "show [--ip ADDR | --show-blocks | --show-borrowed | --show-configuration] [-o table|wide|yaml|json]",
		Short: "Address usage per pool and block, or who holds an address",
		Long: `Per IP pool: NAME, CIDR, IPS TOTAL, IPS IN USE, IPS RESERVED (held by IPReservations),
IPS FREE (neither in use nor reserved) (-o wide adds BLOCKS, the number of blocks claimed,
and DISABLED). --show-blocks adds one row per block: BLOCK, POOL, AFFINITY (the node that
claimed it), IPS TOTAL, IPS IN USE, IPS RESERVED, IPS FREE.

--ip ADDR tells who holds an address: its pool and block, the IPAM handle and
attributes, and the workload endpoint and container it belongs to.

--show-borrowed lists the addresses a node took from a block affine to another
node (when its own blocks were full and no block was free): IP, BORROWING-NODE,
BLOCK, BLOCK OWNER, TYPE and ALLOCATED-TO (namespace/container).

--show-configuration prints the IPAM configuration as Calico's PROPERTY/VALUE
table: StrictAffinity, AutoAllocateBlocks, MaxBlocksPerHost (0: no limit). This
allocator's behaviour is fixed: no IPAMConfiguration is stored.`,
		Example: `  calicoctl ipam show
  calicoctl ipam show --show-blocks
  calicoctl ipam show --show-borrowed
  calicoctl ipam show --show-configuration
  calicoctl ipam show --ip 10.0.0.5 -o json`,
		Args: cli.ArgsWith(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runShowFlags(cmd.Context(), &f) },
	}
	cmd.Flags().BoolVar(&f.blocks, "show-blocks", false, "also list every block with its affinity and usage")
	cmd.Flags().BoolVar(&f.borrowed, "show-borrowed", false, "list the addresses borrowed from other nodes' blocks")
	cmd.Flags().BoolVar(&f.configuration, "show-configuration", false, "show the IPAM configuration")
	cmd.Flags().StringVar(&f.ip, "ip", "", "show who holds this address")
	cli.AddOutputFlag(cmd, &f.output, "table", "wide", "yaml", "json")
	return cmd
}

func (a *app) runShowFlags(ctx context.Context, f *showFlags) error {
	format, err := cli.ParseFormatOf(f.output, "table", "wide", "yaml", "json")
	if err != nil {
		return err
	}
	var given []string
	for _, o := range []struct {
		name string
		set  bool
	}{{"--ip", f.ip != ""}, {"--show-blocks", f.blocks}, {"--show-borrowed", f.borrowed}, {"--show-configuration", f.configuration}} {
		if o.set {
			given = append(given, o.name)
		}
	}
	if len(given) > 1 {
		return cli.Usagef("%s cannot be combined: give one of --ip, --show-blocks, --show-borrowed, --show-configuration", strings.Join(given, " and "))
	}
	switch {
	case f.ip != "":
		addr, err := parseIPFlag(f.ip)
		if err != nil {
			return err
		}
		return a.runIPAMShowIP(ctx, addr, format)
	case f.borrowed:
		return a.runShowBorrowed(ctx, format)
	case f.configuration:
		return a.runShowConfiguration(format)
	}
	return a.runIPAMShow(ctx, format, f.blocks)
}

func parseIPFlag(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, cli.Usagef("--ip %q is not an IP address: give one such as 10.0.0.5", s)
	}
	return a.Unmap(), nil
}

// poolUsage is one pool's address usage.
type poolUsage struct {
	Name     string `json:"name"`
	CIDR     string `json:"cidr"`
	Total    string `json:"ipsTotal"` // decimal; IPv6 pools exceed 64 bits
	InUse    int    `json:"ipsInUse"`
	Reserved string `json:"ipsReserved"`
	Free     string `json:"ipsFree"`
	Blocks   int    `json:"blocks"`
	Disabled bool   `json:"disabled,omitempty"`
}

// blockUsage is one block's usage.
type blockUsage struct {
	CIDR     string `json:"cidr"`
	Pool     string `json:"pool,omitempty"`
	Affinity string `json:"affinity,omitempty"`
	Total    int    `json:"ipsTotal"`
	InUse    int    `json:"ipsInUse"`
	Reserved int    `json:"ipsReserved"`
	Free     int    `json:"ipsFree"`
}

type ipamUsage struct {
	Pools  []poolUsage  `json:"pools"`
	Blocks []blockUsage `json:"blocks,omitempty"`
}

func (a *app) runIPAMShow(ctx context.Context, format cli.OutputFormat, showBlocks bool) error {
	return show(ctx, a, format, func(s *ipamState) *ipamUsage { return usageOf(s, showBlocks) },
		func(w io.Writer, u *ipamUsage) error { return writeUsage(w, u, format == cli.FormatWide, showBlocks) })
}

// show prints what answer makes of the IPAM state: as YAML or JSON, else
// with write.
func show[T any](ctx context.Context, a *app, format cli.OutputFormat, answer func(*ipamState) T, write func(io.Writer, T) error) error {
	s, err := a.ipamState(ctx)
	if err != nil {
		return err
	}
	v := answer(s)
	if format == cli.FormatYAML || format == cli.FormatJSON {
		return cli.WriteStructured(a.Out, format, v)
	}
	return write(a.Out, v)
}

func usageOf(s *ipamState, withBlocks bool) *ipamUsage {
	u := &ipamUsage{Pools: []poolUsage{}}
	for _, p := range s.pools {
		cidr, err := resources.ParseCIDR(p.Spec.CIDR)
		if err != nil {
			continue
		}
		pu := poolUsage{Name: p.Name, CIDR: cidr.String(), Disabled: p.Spec.Disabled}
		var allocs []ipam.Allocation
		for _, b := range s.blocks {
			if b.Pool == p.Name {
				pu.Blocks++
				allocs = append(allocs, b.Allocations...)
			}
		}
		pu.InUse = len(allocs)
		reserved, reservedInUse := reservedUsage(s.reserved, cidr.Masked(), allocs)
		total := new(big.Int).Lsh(big.NewInt(1), uint(cidr.Addr().BitLen()-cidr.Bits()))
		free := new(big.Int).Sub(total, big.NewInt(int64(pu.InUse-reservedInUse)))
		pu.Total, pu.Reserved, pu.Free = total.String(), reserved.String(), free.Sub(free, reserved).String()
		u.Pools = append(u.Pools, pu)
	}
	if withBlocks {
		u.Blocks = []blockUsage{}
		for _, b := range s.blocks {
			reserved, reservedInUse := reservedUsage(s.reserved, b.CIDR, b.Allocations)
			r := int(reserved.Int64())
			u.Blocks = append(u.Blocks, blockUsage{CIDR: b.CIDR.String(), Pool: b.Pool, Affinity: b.Affinity,
				Total: b.Size, InUse: len(b.Allocations), Reserved: r, Free: b.Size - len(b.Allocations) + reservedInUse - r})
		}
	}
	return u
}

func writeUsage(w io.Writer, u *ipamUsage, wide, showBlocks bool) error {
	t := cli.Table{Header: []string{"NAME", "CIDR", "IPS TOTAL", "IPS IN USE", "IPS RESERVED", "IPS FREE"}}
	if wide {
		t.Header = append(t.Header, "BLOCKS", "DISABLED")
	}
	for _, p := range u.Pools {
		row := []string{p.Name, p.CIDR, p.Total, strconv.Itoa(p.InUse), p.Reserved, p.Free}
		if wide {
			row = append(row, strconv.Itoa(p.Blocks), strconv.FormatBool(p.Disabled))
		}
		t.Rows = append(t.Rows, row)
	}
	if err := t.Write(w); err != nil {
		return err
	}
	if !showBlocks {
		return nil
	}
	fmt.Fprintln(w)
	bt := cli.Table{Header: []string{"BLOCK", "POOL", "AFFINITY", "IPS TOTAL", "IPS IN USE", "IPS RESERVED", "IPS FREE"}}
	for _, b := range u.Blocks {
		pool := b.Pool
		if pool == "" {
			pool = "(none)"
		}
		bt.Rows = append(bt.Rows, []string{b.CIDR, pool, b.Affinity, strconv.Itoa(b.Total), strconv.Itoa(b.InUse), strconv.Itoa(b.Reserved), strconv.Itoa(b.Free)})
	}
	return bt.Write(w)
}

// addressHolder is the answer of ipam show --ip.
type addressHolder struct {
	IP         string            `json:"ip"`
	Allocated  bool              `json:"allocated"`
	Pool       string            `json:"pool,omitempty"`
	Block      string            `json:"block,omitempty"`
	Affinity   string            `json:"affinity,omitempty"`
	Handle     string            `json:"handle,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
	Endpoint   string            `json:"endpoint,omitempty"`
	Container  string            `json:"container,omitempty"`
	Node       string            `json:"node,omitempty"`
}

func (a *app) runIPAMShowIP(ctx context.Context, ip netip.Addr, format cli.OutputFormat) error {
	return show(ctx, a, format, func(s *ipamState) *addressHolder { return holderOf(s, ip) },
		func(w io.Writer, h *addressHolder) error { writeHolder(w, h); return nil })
}

func holderOf(s *ipamState, ip netip.Addr) *addressHolder {
	h := &addressHolder{IP: ip.String()}
	for _, p := range s.pools {
		if cidr, err := resources.ParseCIDR(p.Spec.CIDR); err == nil && cidr.Contains(ip) {
			h.Pool = p.Name
		}
	}
	for _, b := range s.blocks {
		if !b.CIDR.Contains(ip) {
			continue
		}
		h.Block, h.Affinity = b.CIDR.String(), b.Affinity
		if i := slices.IndexFunc(b.Allocations, func(al ipam.Allocation) bool { return al.IP == ip }); i >= 0 {
			h.Allocated, h.Handle, h.Attributes = true, b.Allocations[i].Handle, b.Allocations[i].Attrs
		}
	}
	l := newLiveness(s.weps)
	w := l.ips[ip]
	if w == nil && h.Allocated {
		for _, c := range s.weps {
			if h.Handle == EndpointHandlePrefix+c.Spec.Endpoint && c.Spec.Endpoint != "" || c.Name == h.Attributes[attrWorkloadEndpoint] {
				w = c
			}
		}
	}
	if w != nil {
		h.Endpoint, h.Container, h.Node = w.Name, cli.ContainerName(w), w.Spec.Node
	}
	return h
}

func writeHolder(w io.Writer, h *addressHolder) {
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "%-12s%s\n", k+":", v)
		}
	}
	line("IP", h.IP)
	switch {
	case h.Pool == "" && !h.Allocated:
		fmt.Fprintf(w, "%s is in no IP pool and is not allocated\n", h.IP)
		return
	case !h.Allocated:
		line("Pool", h.Pool)
		fmt.Fprintf(w, "%s is not allocated\n", h.IP)
		return
	}
	line("Pool", cli.FirstSet(h.Pool, "(none: its pool was removed)"))
	block := h.Block
	if h.Affinity != "" {
		block += " (affinity " + h.Affinity + ")"
	}
	line("Block", block)
	line("Handle", h.Handle)
	var attrs []string
	for _, k := range slices.Sorted(maps.Keys(h.Attributes)) {
		attrs = append(attrs, k+"="+h.Attributes[k])
	}
	line("Attributes", strings.Join(attrs, ", "))
	if h.Endpoint == "" {
		line("Endpoint", "(none: see calicoctl ipam check)")
		return
	}
	line("Endpoint", h.Endpoint)
	line("Container", h.Container)
	line("Node", h.Node)
}
