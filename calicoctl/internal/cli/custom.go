package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/template"

	"github.com/calico-docker/calico-libnetwork/resources"
)

// Custom output formats of get.
const (
	formatCustomColumns OutputFormat = "custom-columns"
	formatGoTemplate    OutputFormat = "go-template"
)

// customOutput is -o custom-columns=... or -o go-template[-file]=...
type customOutput struct {
	columns []customColumn
	tmpl    *template.Template
}

// customColumn is a heading of the kind's table (as calicoctl's
// custom-columns=NAME,CIDR), or HEADER:.json.path (as kubectl's).
type customColumn struct {
	header string
	path   []string // nil: the kind's column of that heading
}

// ParseGetFormat parses get's -o, including the custom formats.
func ParseGetFormat(s string) (OutputFormat, customOutput, error) {
	kind, arg, hasArg := strings.Cut(s, "=")
	switch strings.ToLower(kind) {
	case "custom-columns":
		cols, err := parseCustomColumns(arg)
		return formatCustomColumns, customOutput{columns: cols}, err
	case "go-template", "go-template-file":
		if !hasArg || arg == "" {
			return "", customOutput{}, Usagef("-o %s needs a template: -o %s='{{range .}}{{.ObjectMeta.Name}}{{\"\\n\"}}{{end}}'", kind, kind)
		}
		text := arg
		if strings.EqualFold(kind, "go-template-file") {
			b, err := os.ReadFile(arg)
			if err != nil {
				return "", customOutput{}, Usagef("-o go-template-file: cannot read %s: %v", arg, err)
			}
			text = string(b)
		}
		t, err := template.New("output").Funcs(template.FuncMap{"join": strings.Join}).Parse(text)
		if err != nil {
			return "", customOutput{}, Usagef("-o %s: the template does not parse: %v", kind, err)
		}
		return formatGoTemplate, customOutput{tmpl: t}, nil
	}
	f, err := parseFormat(s)
	if err != nil {
		return "", customOutput{}, Usagef("output format %q is not supported: use -o %s, custom-columns=NAME,... or go-template=...", s, FormatNames)
	}
	return f, customOutput{}, nil
}

func parseCustomColumns(spec string) ([]customColumn, error) {
	if spec == "" {
		return nil, Usagef("-o custom-columns needs columns: -o custom-columns=NAME,CIDR or -o custom-columns=NAME:.metadata.name")
	}
	var cols []customColumn
	for _, c := range strings.Split(spec, ",") {
		header, path, hasPath := strings.Cut(strings.TrimSpace(c), ":")
		if header == "" {
			return nil, Usagef("-o custom-columns: column %q has no heading: use HEADING or HEADING:.json.path", c)
		}
		col := customColumn{header: strings.ToUpper(header)}
		if hasPath {
			if !strings.HasPrefix(path, ".") {
				return nil, Usagef("-o custom-columns: path %q of %s must start with '.', e.g. .spec.cidr", path, header)
			}
			col.header = header
			col.path = strings.Split(strings.TrimPrefix(path, "."), ".")
		}
		cols = append(cols, col)
	}
	return cols, nil
}

// Write prints objs with the template or the custom columns.
func (c customOutput) write(w io.Writer, objs []resources.Resource, single bool) error {
	if c.tmpl != nil {
		var data any = objs
		if single && len(objs) == 1 {
			data = objs[0]
		}
		if err := c.tmpl.Execute(w, data); err != nil {
			return fmt.Errorf("-o go-template: %w", err)
		}
		return nil
	}
	t := Table{}
	for _, col := range c.columns {
		t.Header = append(t.Header, col.header)
	}
	for _, o := range objs {
		row, err := c.row(o)
		if err != nil {
			return err
		}
		t.Rows = append(t.Rows, row)
	}
	return t.Write(w)
}

func (c customOutput) row(o resources.Resource) ([]string, error) {
	var doc any
	row := make([]string, 0, len(c.columns))
	for _, col := range c.columns {
		if col.path == nil {
			v, err := namedCell(o, col.header)
			if err != nil {
				return nil, err
			}
			row = append(row, v)
			continue
		}
		if doc == nil {
			js, err := json.Marshal(o)
			if err != nil {
				return nil, err
			}
			if err := json.Unmarshal(js, &doc); err != nil {
				return nil, err
			}
		}
		row = append(row, cellAt(doc, col.path))
	}
	return row, nil
}

// namedCell is the value of the kind's column called header (any column,
// wide or not, and NAMESPACE).
func namedCell(o resources.Resource, header string) (string, error) {
	kind := o.GetTypeMeta().Kind
	if header == "NAMESPACE" {
		return o.Meta().Namespace, nil
	}
	var names []string
	for _, c := range columnsFor(kind) {
		if c.name == header {
			return c.value(o, &tableContext{}), nil
		}
		names = append(names, c.name)
	}
	return "", Usagef("-o custom-columns: %s has no column %s: use one of %s, NAMESPACE, or HEADING:.json.path", kind, header, strings.Join(names, ", "))
}

// cellAt walks a JSON document along path ("spec", "ports[0]"); a missing
// value prints as <none>, as kubectl does.
func cellAt(doc any, path []string) string {
	cur := doc
	for _, seg := range path {
		key, idx, hasIdx := strings.Cut(seg, "[")
		if key != "" {
			m, ok := cur.(map[string]any)
			if !ok {
				return "<none>"
			}
			cur = m[key]
		}
		if hasIdx {
			n, err := strconv.Atoi(strings.TrimSuffix(idx, "]"))
			l, ok := cur.([]any)
			if err != nil || !ok || n < 0 || n >= len(l) {
				return "<none>"
			}
			cur = l[n]
		}
	}
	switch v := cur.(type) {
	case nil:
		return "<none>"
	case string:
		return v
	}
	b, _ := json.Marshal(cur)
	return string(b)
}
