package ipam

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/calico-docker/calico-libnetwork/ipam"
)

// borrowedIP is an address allocated for one node from a block affine to
// another node (or to none): ipam show --show-borrowed.
type borrowedIP struct {
	IP            string `json:"ip"`
	BorrowingNode string `json:"borrowingNode"`
	Block         string `json:"block"`
	BlockOwner    string `json:"blockOwner,omitempty"`
	Type          string `json:"type,omitempty"`
	AllocatedTo   string `json:"allocatedTo,omitempty"`
}

// borrowedReport is the answer of ipam show --show-borrowed.
type borrowedReport struct {
	Borrowed []borrowedIP `json:"borrowed"`
	// Unclassified counts allocations without a node attribute: whether
	// they are borrowed cannot be told.
	Unclassified int `json:"unclassified"`
}

func (a *app) runShowBorrowed(ctx context.Context, format cli.OutputFormat) error {
	return show(ctx, a, format, borrowedOf, writeBorrowed)
}

// borrowedOf lists, block by block in address order, every allocation
// whose node attribute names another node than the block's affinity.
func borrowedOf(s *ipamState) *borrowedReport {
	rep := &borrowedReport{Borrowed: []borrowedIP{}}
	l := newLiveness(s.weps)
	for _, b := range s.blocks {
		for _, al := range b.Allocations {
			node := al.Attrs[ipam.AttrNode]
			if node == "" {
				rep.Unclassified++
				continue
			}
			if node == b.Affinity {
				continue
			}
			bip := borrowedIP{IP: al.IP.String(), BorrowingNode: node, Block: b.CIDR.String(), BlockOwner: b.Affinity}
			bip.Type, bip.AllocatedTo = allocationOwner(al, l)
			rep.Borrowed = append(rep.Borrowed, bip)
		}
	}
	return rep
}

// allocationOwner is what an allocation is for: a "type" attribute (as
// Calico's tunnel addresses carry), else the container of the
// WorkloadEndpoint holding the address ("container", namespace/name), else
// an address the IPAM driver handed to Docker that no endpoint holds yet.
func allocationOwner(al ipam.Allocation, l *liveness) (typ, to string) {
	if t := al.Attrs["type"]; t != "" {
		return t, ""
	}
	if w := l.ips[al.IP]; w != nil {
		return "container", w.Namespace + "/" + cli.ContainerName(w)
	}
	if w := al.Attrs[attrWorkloadEndpoint]; w != "" {
		return "container", w
	}
	return "", ""
}

func writeBorrowed(w io.Writer, rep *borrowedReport) error {
	t := bordered{Header: []string{"IP", "BORROWING-NODE", "BLOCK", "BLOCK OWNER", "TYPE", "ALLOCATED-TO"}}
	for _, b := range rep.Borrowed {
		t.Rows = append(t.Rows, []string{b.IP, b.BorrowingNode, b.Block, b.BlockOwner, b.Type, b.AllocatedTo})
	}
	if err := t.Write(w); err != nil {
		return err
	}
	if rep.Unclassified > 0 {
		fmt.Fprintf(w, "\nNote: found %d IP allocations without an explicit node association. Unable to determine if they are borrowed.\n", rep.Unclassified)
	}
	return nil
}

// runShowConfiguration prints the IPAM configuration (ipam.CurrentConfig)
// as calicoctl's bordered PROPERTY/VALUE table.
func (a *app) runShowConfiguration(format cli.OutputFormat) error {
	c := ipam.CurrentConfig()
	if format == cli.FormatYAML || format == cli.FormatJSON {
		return cli.WriteStructured(a.Out, format, c)
	}
	t := bordered{Header: []string{"PROPERTY", "VALUE"}, Rows: [][]string{
		{"StrictAffinity", strconv.FormatBool(c.StrictAffinity)},
		{"AutoAllocateBlocks", strconv.FormatBool(c.AutoAllocateBlocks)},
		{"MaxBlocksPerHost", strconv.Itoa(c.MaxBlocksPerHost)},
	}}
	return t.Write(a.Out)
}
