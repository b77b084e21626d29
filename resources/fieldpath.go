package resources

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
)

// unknownFieldPath finds the JSON path (e.g. "spec.ingress[0].sorce") of
// the first field in js that t has no place for, or "" if there is none.
// encoding/json reports only the field's own name.
func unknownFieldPath(js []byte, t reflect.Type) string {
	var v any
	if json.Unmarshal(js, &v) != nil {
		return ""
	}
	return walkUnknown(v, t, "")
}

func walkUnknown(v any, t reflect.Type, path string) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch x := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			var ft reflect.Type
			switch t.Kind() {
			case reflect.Map:
				ft = t.Elem()
			case reflect.Struct:
				var ok bool
				if acceptsExtra(t, k) {
					continue
				}
				if ft, ok = jsonField(t, k); !ok {
					return joinPath(path, k)
				}
			default:
				return ""
			}
			if p := walkUnknown(x[k], ft, joinPath(path, k)); p != "" {
				return p
			}
		}
	case []any:
		if t.Kind() != reflect.Slice {
			return ""
		}
		for i, e := range x {
			if p := walkUnknown(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); p != "" {
				return p
			}
		}
	}
	return ""
}

// jsonField finds the type of the struct field encoding/json would decode
// key into (case-insensitively, through embedded structs).
func jsonField(t reflect.Type, key string) (reflect.Type, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && (name == "" || opts == "inline") {
			if ft, ok := jsonField(f.Type, key); ok {
				return ft, true
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		if f.IsExported() && strings.EqualFold(name, key) {
			return f.Type, true
		}
	}
	return nil, false
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// encoding/json matches keys to fields ignoring case, so "Selector" and
// "selector" in one object both set spec.selector and the last silently
// wins: the same field given twice. caseTwin finds such a pair.

// caseTwin returns the path of the first field given twice in js under
// keys that differ only in case, and the two keys; "" when none is.
func caseTwin(js []byte, t reflect.Type) (path, first, second string) {
	var v any
	if json.Unmarshal(js, &v) != nil {
		return "", "", ""
	}
	return walkTwins(v, t, "")
}

func walkTwins(v any, t reflect.Type, path string) (string, string, string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch x := v.(type) {
	case map[string]any:
		seen := map[string]string{}
		for _, k := range slices.Sorted(maps.Keys(x)) {
			ft := t
			switch t.Kind() {
			case reflect.Map:
				ft = t.Elem()
			case reflect.Struct:
				var ok bool
				if ft, ok = jsonField(t, k); !ok {
					continue
				}
				if prev, dup := seen[strings.ToLower(k)]; dup {
					return joinPath(path, strings.ToLower(k[:1])+k[1:]), prev, k
				}
				seen[strings.ToLower(k)] = k
			default:
				return "", "", ""
			}
			if p, a, b := walkTwins(x[k], ft, joinPath(path, k)); p != "" {
				return p, a, b
			}
		}
	case []any:
		if t.Kind() != reflect.Slice {
			return "", "", ""
		}
		for i, e := range x {
			if p, a, b := walkTwins(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); p != "" {
				return p, a, b
			}
		}
	}
	return "", "", ""
}
