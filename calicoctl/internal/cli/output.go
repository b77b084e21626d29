package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/resources"
	"sigs.k8s.io/yaml"
)

// OutputFormat is the value of -o.
type OutputFormat string

// Output formats every command that prints objects accepts.
const (
	FormatTable OutputFormat = "table"
	FormatWide  OutputFormat = "wide"
	FormatYAML  OutputFormat = "yaml"
	FormatJSON  OutputFormat = "json"
	formatName  OutputFormat = "name"
)

var FormatList = []string{string(FormatTable), string(FormatWide), string(FormatYAML), string(FormatJSON), string(formatName)}

const FormatNames = "table|wide|yaml|json|name"

// emptyCell stands for an unset value, so every row has every column.
const emptyCell = "-"

func parseFormat(s string) (OutputFormat, error) {
	if s == "" || strings.EqualFold(s, "ps") { // ps: calicoctl's name for the table
		return FormatTable, nil
	}
	for _, f := range FormatList {
		if strings.EqualFold(s, f) {
			return OutputFormat(f), nil
		}
	}
	return "", Usagef("output format %q is not supported: use -o %s", s, FormatNames)
}

// ObjectList is how several objects print as YAML or JSON, as calicoctl
// prints them (kind IPPoolList etc., List when kinds are mixed); Decode
// reads it back.
type ObjectList struct {
	APIVersion string               `json:"apiVersion"`
	Kind       string               `json:"kind"`
	Items      []resources.Resource `json:"items"`
	Metadata   *listMeta            `json:"metadata,omitempty"`
}

// listMeta is a list's metadata: the datastore revision it was read at.
type listMeta struct {
	ResourceVersion string `json:"resourceVersion,omitempty"`
}

// listKind is calicoctl's kind for a list of objs: <Kind>List when every
// object is of kind (or of one kind), List otherwise.
func listKind(info *resources.KindInfo, objs []resources.Resource) string {
	kind := ""
	if info != nil {
		kind = info.Kind
	}
	for _, o := range objs {
		k := o.GetTypeMeta().Kind
		if kind == "" {
			kind = k
		}
		if k != kind {
			return "List"
		}
	}
	if kind == "" {
		return "List"
	}
	return kind + "List"
}

// Printer prints objects in one format.
type Printer struct {
	Out    io.Writer
	Format OutputFormat
	Store  *datastore.Store // for columns that need more than the object
	// AllNamespaces prepends a NAMESPACE column to namespaced kinds (-A).
	AllNamespaces bool
	// Revision is the datastore revision a list was read at (0: unknown).
	Revision int64
	// Custom is -o custom-columns or go-template (custom.go).
	Custom customOutput
}

// Print writes objs; info names the kind when objs may be empty (a list),
// single prints a lone object bare in yaml/json instead of as a List.
func (p Printer) Print(ctx context.Context, info *resources.KindInfo, objs []resources.Resource, single bool) error {
	switch p.Format {
	case FormatYAML, FormatJSON:
		if single && len(objs) == 1 {
			return WriteStructured(p.Out, p.Format, objs[0])
		}
		if objs == nil {
			objs = []resources.Resource{}
		}
		l := ObjectList{APIVersion: resources.APIVersion, Kind: listKind(info, objs), Items: objs}
		if p.Revision > 0 {
			l.Metadata = &listMeta{ResourceVersion: strconv.FormatInt(p.Revision, 10)}
		}
		return WriteStructured(p.Out, p.Format, l)
	case formatCustomColumns, formatGoTemplate:
		return p.Custom.write(p.Out, objs, single)
	case formatName:
		for _, o := range objs {
			fmt.Fprintf(p.Out, "%s/%s\n", strings.ToLower(o.GetTypeMeta().Kind), o.Meta().Name)
		}
		return nil
	}
	return p.tables(ctx, info, objs)
}

// tables prints one table per run of objects of the same kind.
func (p Printer) tables(ctx context.Context, info *resources.KindInfo, objs []resources.Resource) error {
	if len(objs) == 0 {
		if info == nil {
			return nil
		}
		return p.table(ctx, info.Kind, nil)
	}
	start := 0
	for i := 1; i <= len(objs); i++ {
		if i < len(objs) && objs[i].GetTypeMeta().Kind == objs[start].GetTypeMeta().Kind {
			continue
		}
		if start > 0 {
			fmt.Fprintln(p.Out)
		}
		if err := p.table(ctx, objs[start].GetTypeMeta().Kind, objs[start:i]); err != nil {
			return err
		}
		start = i
	}
	return nil
}

func (p Printer) table(ctx context.Context, kind string, objs []resources.Resource) error {
	wide := p.Format == FormatWide
	tc := &tableContext{ctx: ctx, st: p.Store}
	var t Table
	cols := columnsFor(kind)
	if info, _ := resources.Lookup(kind); p.AllNamespaces && info != nil && info.Namespaced {
		cols = append([]column{{name: "NAMESPACE", value: func(r resources.Resource, _ *tableContext) string { return r.Meta().Namespace }}}, cols...)
	}
	for _, c := range cols {
		if wide || !c.wide {
			t.Header = append(t.Header, c.name)
		}
	}
	for _, o := range objs {
		var row []string
		for _, c := range cols {
			if wide || !c.wide {
				row = append(row, c.value(o, tc))
			}
		}
		t.Rows = append(t.Rows, row)
	}
	return t.Write(p.Out)
}

// Table is a header and rows printed in aligned columns.
type Table struct {
	Header []string
	Rows   [][]string
}

func (t *Table) Write(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	for _, row := range append([][]string{t.Header}, t.Rows...) {
		cells := make([]string, len(row))
		for i, c := range row {
			if c == "" {
				c = emptyCell
			}
			cells[i] = c
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// WriteStructured prints any value as indented JSON or as YAML.
func WriteStructured(w io.Writer, format OutputFormat, v any) error {
	js, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	if format == FormatJSON {
		_, err = fmt.Fprintf(w, "%s\n", js)
		return err
	}
	y, err := yaml.JSONToYAML(js)
	if err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	_, err = w.Write(y)
	return err
}
