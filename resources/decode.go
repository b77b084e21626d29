package resources

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"sigs.k8s.io/yaml"
)

// MaxDocumentSize bounds one decoded document (fuzz and abuse safety).
const MaxDocumentSize = 4 << 20

// Decode reads a stream of YAML documents (separated by ---) or JSON and
// returns every resource in it, expanding `kind: List`. Each object is
// decoded strictly (unknown fields are errors) and defaulted, not validated:
// the caller validates before storing. Errors name the document number and
// the field.
func Decode(r io.Reader) ([]Resource, error) {
	docs, err := splitDocuments(r)
	if err != nil {
		return nil, err
	}
	var out []Resource
	for i, doc := range docs {
		js, err := yaml.YAMLToJSONStrict(doc)
		if err != nil {
			if strings.Contains(err.Error(), "already set in map") {
				return nil, fmt.Errorf("document %d: a key is given twice (%s): keep only one of them", i+1, strings.TrimSpace(strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:")))
			}
			return nil, fmt.Errorf("document %d: not valid YAML or JSON: %w", i+1, err)
		}
		if bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
			continue
		}
		objs, err := decodeJSON(js)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
		out = append(out, objs...)
	}
	if len(out) == 0 {
		return nil, ErrNoResources
	}
	return out, nil
}

// ErrNoResources is Decode's error for input without any object (empty,
// or only comments and "---"); calicoctl's --skip-empty skips such files.
var ErrNoResources = errors.New("no resources found: the input is empty")

// DecodeBytes is Decode over a byte slice.
func DecodeBytes(b []byte) ([]Resource, error) { return Decode(bytes.NewReader(b)) }

func splitDocuments(r io.Reader) ([][]byte, error) {
	var docs [][]byte
	var cur bytes.Buffer
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), MaxDocumentSize)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimRight(line, " \t\r") == "---" {
			docs = append(docs, bytes.Clone(cur.Bytes()))
			cur.Reset()
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if cur.Len() > MaxDocumentSize {
			return nil, fmt.Errorf("document %d is larger than %d bytes", len(docs)+1, MaxDocumentSize)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading input: %w", err)
	}
	docs = append(docs, cur.Bytes())
	nonEmpty := docs[:0]
	for _, d := range docs {
		if len(bytes.TrimSpace(d)) > 0 {
			nonEmpty = append(nonEmpty, d)
		}
	}
	return nonEmpty, nil
}

type header struct {
	Kind       string            `json:"kind"`
	APIVersion string            `json:"apiVersion"`
	Items      []json.RawMessage `json:"items"`
}

func decodeJSON(js []byte) ([]Resource, error) {
	if t := bytes.TrimSpace(js); len(t) > 0 && t[0] == '[' {
		var items []json.RawMessage
		if err := json.Unmarshal(t, &items); err != nil {
			return nil, fmt.Errorf("expected a list of resources: %w", err)
		}
		return decodeItems(items, "[%d]")
	}
	var h header
	if err := json.Unmarshal(js, &h); err != nil {
		return nil, fmt.Errorf("expected an object with apiVersion and kind: %w", err)
	}
	if h.Kind == "List" || strings.HasSuffix(h.Kind, "List") && h.Items != nil {
		return decodeItems(h.Items, "items[%d]")
	}
	obj, err := DecodeObject(js)
	if err != nil {
		return nil, err
	}
	return []Resource{obj}, nil
}

// decodeItems decodes the elements of a list; where names an element in
// errors ("items[%d]").
func decodeItems(items []json.RawMessage, where string) ([]Resource, error) {
	var out []Resource
	for i, item := range items {
		objs, err := decodeJSON(item)
		if err != nil {
			return nil, fmt.Errorf(where+": %w", i, err)
		}
		out = append(out, objs...)
	}
	return out, nil
}

// DecodeObject strictly decodes one JSON object of a registered kind.
func DecodeObject(js []byte) (Resource, error) {
	var h header
	if err := json.Unmarshal(js, &h); err != nil {
		return nil, fmt.Errorf("expected an object with apiVersion and kind: %w", err)
	}
	if h.Kind == "" {
		return nil, &FieldError{Field: "kind", Msg: "is required: set kind, e.g. kind: IPPool"}
	}
	if h.APIVersion != APIVersion {
		return nil, &FieldError{Kind: h.Kind, Field: "apiVersion", Value: h.APIVersion, Msg: "must be " + APIVersion}
	}
	k, ok := kinds[h.Kind]
	if why := elsewhere(h.Kind); !ok && why != "" {
		return nil, &FieldError{Field: "kind", Value: h.Kind, Msg: why}
	}
	if !ok {
		return nil, &FieldError{Field: "kind", Value: h.Kind, Msg: "is not a known kind: use one of " + strings.Join(KindNames(), ", ")}
	}
	obj := k.New()
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(obj); err != nil {
		if path := unknownFieldPath(js, reflect.TypeOf(obj)); path != "" {
			msg := "is not a field of " + h.Kind + ": remove it or fix its spelling"
			if note := calicoFieldNote(h.Kind, path); note != "" {
				msg = note
			}
			return nil, &FieldError{Kind: h.Kind, Name: nameOf(js), Field: path, Msg: msg}
		}
		if fe := badValue(js, reflect.TypeOf(obj), h.Kind, nameOf(js)); fe != nil {
			return nil, fe
		}
		return nil, &FieldError{Kind: h.Kind, Name: nameOf(js), Field: fieldOfJSONError(err), Msg: strings.TrimPrefix(err.Error(), "json: ")}
	}
	if path, a, b := caseTwin(js, reflect.TypeOf(obj)); path != "" {
		return nil, &FieldError{Kind: h.Kind, Name: nameOf(js), Field: path,
			Msg: fmt.Sprintf("is given twice (as %q and %q, which differ only in case): keep only one of them", a, b)}
	}
	obj.Default()
	return obj, nil
}

func fieldOfJSONError(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return te.Field
	}
	if s := err.Error(); strings.HasPrefix(s, "json: unknown field ") {
		return strings.Trim(strings.TrimPrefix(s, "json: unknown field "), `"`)
	}
	return "(object)"
}

// Encode writes r as JSON (indent) with its TypeMeta set.
func EncodeJSON(r Resource) ([]byte, error) { return json.MarshalIndent(r, "", "  ") }

// EncodeYAML writes r as YAML.
func EncodeYAML(r Resource) ([]byte, error) {
	js, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	return yaml.JSONToYAML(js)
}

// nameOf returns metadata.name of a JSON object, for error messages.
func nameOf(js []byte) string {
	var m struct {
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	_ = json.Unmarshal(js, &m)
	return m.Metadata.Name
}
