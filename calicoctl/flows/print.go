package flows

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/calico-docker/calico-libnetwork/flows"
)

// printer prints flows as a table (columns as the API's fields), wide
// table or JSON (the API's document; one flow per line when following).
type printer struct {
	w      io.Writer
	format cli.OutputFormat
	tw     *tabwriter.Writer
	follow bool // flush each row (columns then align per row)
}

var (
	tableCols = []string{"SRC", "", "DST", "PROTO/PORT", "ACTION", "POLICY", "RULE", "PACKETS", "BYTES"}
	wideCols  = []string{"NODE", "REPORTER", "SRC IP", "DST IP", "NETWORK", "FLOWS", "END", "STAGED"}
)

func (p *printer) list(rows []flows.Flow, dropped uint64, nodes []string) error {
	if p.format == cli.FormatJSON {
		return cli.WriteStructured(p.w, cli.FormatJSON, map[string]any{"flows": rows, "dropped": dropped, "nodes": nodes})
	}
	p.header()
	for i := range rows {
		if err := p.row(&rows[i]); err != nil {
			return err
		}
	}
	if err := p.tw.Flush(); err != nil {
		return err
	}
	if dropped > 0 {
		_, err := fmt.Fprintf(p.w, "(%d flows were not kept to stay within flow_logs_max)\n", dropped)
		return err
	}
	return nil
}

func (p *printer) header() {
	if p.format == cli.FormatJSON {
		return
	}
	p.tw = tabwriter.NewWriter(p.w, 0, 4, 2, ' ', 0)
	cols := tableCols
	if p.format == cli.FormatWide {
		cols = append(append([]string{}, cols...), wideCols...)
	}
	fmt.Fprintln(p.tw, strings.Join(cols, "\t"))
}

// row prints one flow (flushed at once when following).
func (p *printer) row(f *flows.Flow) error {
	if p.format == cli.FormatJSON {
		js, err := json.Marshal(f)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(p.w, "%s\n", js)
		return err
	}
	port := f.Proto
	if f.DstPort != 0 {
		port += "/" + strconv.Itoa(int(f.DstPort))
	}
	cells := []string{endpointCell(f.Src), "→", endpointCell(f.Dst), port, f.Action, policyCell(f.Policy), ruleCell(f.Policy),
		strconv.FormatUint(f.Packets, 10), strconv.FormatUint(f.Bytes, 10)}
	if p.format == cli.FormatWide {
		cells = append(cells, f.Node, f.Reporter, f.Src.IP, f.Dst.IP, networkCell(f), strconv.FormatUint(f.Flows, 10),
			f.End.Local().Format(time.TimeOnly), stagedCell(f.Staged))
	}
	fmt.Fprintln(p.tw, strings.Join(cells, "\t"))
	if p.follow {
		return p.tw.Flush()
	}
	return nil
}

func endpointCell(e flows.Endpoint) string {
	if e.Kind == "net" {
		return e.Name + ":" + e.IP
	}
	if e.Namespace != "" && e.Namespace != "default" {
		return e.Namespace + "/" + e.Name
	}
	return e.Name
}

func policyCell(p flows.PolicyRef) string {
	switch {
	case p.Trigger == "default-deny":
		return "(no policy or profile allowed)"
	case p.Trigger == "end-of-tier":
		return "tier " + p.Tier + " (end of tier)"
	case p.Kind == "Profile":
		return "profile " + p.Name
	}
	name := p.Name
	if p.Kind == "NetworkPolicy" {
		name = p.Namespace + "/" + name
	}
	if p.Tier != "" && p.Tier != "default" {
		name = p.Tier + ":" + name
	}
	return name
}

func ruleCell(p flows.PolicyRef) string {
	if p.Rule < 0 {
		return p.Direction
	}
	return p.Direction + " " + strconv.Itoa(p.Rule)
}

func networkCell(f *flows.Flow) string {
	return cli.OrDash(cli.FirstSet(f.Dst.Network, f.Src.Network))
}

func stagedCell(st []flows.Staged) string {
	if len(st) == 0 {
		return "-"
	}
	parts := make([]string, len(st))
	for i, s := range st {
		parts[i] = s.Name + "=" + s.Action
	}
	return strings.Join(parts, ",")
}
