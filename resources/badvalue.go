package resources

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
)

// A value of the wrong type (a string where a number belongs, a port above
// 65535, a duration without a unit) fails encoding/json, which names the
// field without list indexes (or not at all, for a type's own
// UnmarshalJSON) and in Go's terms. badValue finds the path of the first
// such value and says in the API's terms what the field takes.

var jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()

// badValue returns the error for the first value in js that t cannot
// hold, or nil when it finds none.
func badValue(js []byte, t reflect.Type, kind, name string) *FieldError {
	var v any
	if json.Unmarshal(js, &v) != nil {
		return nil
	}
	path, val, err := walkBadValue(v, t, "")
	if err == nil {
		return nil
	}
	return &FieldError{Kind: kind, Name: name, Field: path, Value: val, Msg: valueMsg(err)}
}

func walkBadValue(v any, t reflect.Type, path string) (string, any, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	// Children first, so the error names the innermost field.
	switch x := v.(type) {
	case map[string]any:
		if t.Kind() == reflect.Struct || t.Kind() == reflect.Map {
			if p, val, err := walkBadMap(x, t, path); err != nil {
				return p, val, err
			}
		}
	case []any:
		if t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
			for i, e := range x {
				if p, val, err := walkBadValue(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return p, val, err
				}
			}
		}
	}
	return tryValue(v, t, path)
}

// tryValue decodes v alone into a new t.
func tryValue(v any, t reflect.Type, path string) (string, any, error) {
	b, _ := json.Marshal(v)
	err := json.Unmarshal(b, reflect.New(t).Interface())
	if err == nil {
		return "", nil, nil
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Type != t && !reflect.PointerTo(t).Implements(jsonUnmarshaler) {
		return "", nil, nil // a child's problem, already reported (or unknown)
	}
	var shown any
	switch v.(type) {
	case map[string]any, []any:
	default:
		shown = string(b)
	}
	return path, shown, err
}

func walkBadMap(x map[string]any, t reflect.Type, path string) (string, any, error) {
	for _, k := range slices.Sorted(maps.Keys(x)) {
		ft := t
		if t.Kind() == reflect.Map {
			ft = t.Elem()
		} else {
			var ok bool
			if ft, ok = jsonField(t, k); !ok {
				continue // unknownFieldPath reports it
			}
		}
		if p, val, err := walkBadValue(x[k], ft, joinPath(path, k)); err != nil {
			return p, val, err
		}
	}
	return "", nil, nil
}

// valueMsg says what a field of the type encoding/json wanted takes.
func valueMsg(err error) string {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		return err.Error()
	}
	t := te.Type
	switch t.Kind() {
	case reflect.Bool:
		return "must be true or false (without quotes)"
	case reflect.String:
		return "must be text: quote it"
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uint:
		max := uint64(1)<<(t.Bits()) - 1
		if t.Bits() == 64 {
			max = ^uint64(0)
		}
		return fmt.Sprintf("must be a whole number from 0 to %d (without quotes)", max)
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Int:
		return "must be a whole number (without quotes)"
	case reflect.Float32, reflect.Float64:
		return "must be a number (without quotes)"
	case reflect.Slice, reflect.Array:
		return "must be a list, e.g. [a, b]"
	case reflect.Struct, reflect.Map:
		return "must be an object of fields (key: value)"
	}
	return "has the wrong type: " + te.Error()
}
