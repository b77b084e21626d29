package calicoctl

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

// outputFormat is the value of -o.
type outputFormat string

// Output formats every command that prints objects accepts.
const (
	formatTable outputFormat = "table"
	formatWide  outputFormat = "wide"
	formatYAML  outputFormat = "yaml"
	formatJSON  outputFormat = "json"
	formatName  outputFormat = "name"
)

var formatList = []string{string(formatTable), string(formatWide), string(formatYAML), string(formatJSON), string(formatName)}

const formatNames = "table|wide|yaml|json|name"

// emptyCell stands for an unset value, so every row has every column.
const emptyCell = "-"

func parseFormat(s string) (outputFormat, error) {
	if s == "" {
		return formatTable, nil
	}
	for _, f := range formatList {
		if strings.EqualFold(s, f) {
			return outputFormat(f), nil
		}
	}
	return "", usagef("output format %q is not supported: use -o %s", s, formatNames)
}

// objectList is how several objects print as YAML or JSON, as calicoctl
// prints them (kind IPPoolList etc., List when kinds are mixed); Decode
// reads it back.
type objectList struct {
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

// printer prints objects in one format.
type printer struct {
	w      io.Writer
	format outputFormat
	st     *datastore.Store // for columns that need more than the object
	// allNamespaces prepends a NAMESPACE column to namespaced kinds (-A).
	allNamespaces bool
	// revision is the datastore revision a list was read at (0: unknown).
	revision int64
	// custom is -o custom-columns or go-template (custom.go).
	custom customOutput
}

// print writes objs; info names the kind when objs may be empty (a list),
// single prints a lone object bare in yaml/json instead of as a List.
func (p printer) print(ctx context.Context, info *resources.KindInfo, objs []resources.Resource, single bool) error {
	switch p.format {
	case formatYAML, formatJSON:
		if single && len(objs) == 1 {
			return writeStructured(p.w, p.format, objs[0])
		}
		if objs == nil {
			objs = []resources.Resource{}
		}
		l := objectList{APIVersion: resources.APIVersion, Kind: listKind(info, objs), Items: objs}
		if p.revision > 0 {
			l.Metadata = &listMeta{ResourceVersion: strconv.FormatInt(p.revision, 10)}
		}
		return writeStructured(p.w, p.format, l)
	case formatCustomColumns, formatGoTemplate:
		return p.custom.write(p.w, objs, single)
	case formatName:
		for _, o := range objs {
			fmt.Fprintf(p.w, "%s/%s\n", strings.ToLower(o.GetTypeMeta().Kind), o.Meta().Name)
		}
		return nil
	}
	return p.tables(ctx, info, objs)
}

// tables prints one table per run of objects of the same kind.
func (p printer) tables(ctx context.Context, info *resources.KindInfo, objs []resources.Resource) error {
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
			fmt.Fprintln(p.w)
		}
		if err := p.table(ctx, objs[start].GetTypeMeta().Kind, objs[start:i]); err != nil {
			return err
		}
		start = i
	}
	return nil
}

func (p printer) table(ctx context.Context, kind string, objs []resources.Resource) error {
	wide := p.format == formatWide
	tc := &tableContext{ctx: ctx, st: p.st}
	var t table
	cols := columnsFor(kind)
	if info, _ := resources.Lookup(kind); p.allNamespaces && info != nil && info.Namespaced {
		cols = append([]column{{name: "NAMESPACE", value: func(r resources.Resource, _ *tableContext) string { return r.Meta().Namespace }}}, cols...)
	}
	for _, c := range cols {
		if wide || !c.wide {
			t.header = append(t.header, c.name)
		}
	}
	for _, o := range objs {
		var row []string
		for _, c := range cols {
			if wide || !c.wide {
				row = append(row, c.value(o, tc))
			}
		}
		t.rows = append(t.rows, row)
	}
	return t.write(p.w)
}

// table is a header and rows printed in aligned columns.
type table struct {
	header []string
	rows   [][]string
}

func (t *table) write(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	for _, row := range append([][]string{t.header}, t.rows...) {
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

// writeStructured prints any value as indented JSON or as YAML.
func writeStructured(w io.Writer, format outputFormat, v any) error {
	js, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	if format == formatJSON {
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
