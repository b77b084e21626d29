package ipam

import (
	"io"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/jedib0t/go-pretty/v6/text"
)

// bordered is a table as calicoctl's ipam commands print it: ASCII
// borders (+---+, | a | b |), the named columns aligned right. calicoctl
// renders these with go-pretty's default style; so does this, so the
// borders and padding are the same byte for byte.
type bordered struct {
	Header []string
	Right  []string // names of the columns aligned right
	Rows   [][]string
}

func (b *bordered) Write(w io.Writer) error {
	t := table.NewWriter()
	t.AppendHeader(rowOf(b.Header))
	var cfgs []table.ColumnConfig
	for _, name := range b.Right {
		cfgs = append(cfgs, table.ColumnConfig{Name: name, Align: text.AlignRight})
	}
	t.SetColumnConfigs(cfgs)
	for _, r := range b.Rows {
		t.AppendRow(rowOf(r))
	}
	_, err := io.WriteString(w, t.Render()+"\n")
	return err
}

func rowOf(cells []string) table.Row {
	r := make(table.Row, len(cells))
	for i, c := range cells {
		r[i] = c
	}
	return r
}
