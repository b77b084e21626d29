package resources

import (
	"errors"
	"fmt"
	"strings"
)

// FieldError says which field of which object is wrong and how to fix it.
type FieldError struct {
	Kind  string // e.g. "IPPool"
	Name  string // object name, may be empty while decoding
	Field string // JSON path, e.g. "spec.cidr"
	Value any    // the offending value, nil when absent
	Msg   string // what is wrong and what to do
}

func (e *FieldError) Error() string {
	var b strings.Builder
	if e.Kind != "" {
		b.WriteString(e.Kind)
		if e.Name != "" {
			fmt.Fprintf(&b, " %q", e.Name)
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Field)
	if e.Value != nil {
		fmt.Fprintf(&b, " (%v)", e.Value)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// ValidationErrors collects every field error of one object.
type ValidationErrors []*FieldError

func (v ValidationErrors) Error() string {
	msgs := make([]string, len(v))
	for i, e := range v {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

// IsValidationError reports whether err came from validation.
func IsValidationError(err error) bool {
	var fe *FieldError
	var ve ValidationErrors
	return errors.As(err, &fe) || errors.As(err, &ve)
}

// validator accumulates field errors for one object.
type validator struct {
	kind, objName string
	errs          ValidationErrors
}

func newValidator(r Resource) *validator {
	return &validator{kind: r.GetTypeMeta().Kind, objName: r.Meta().Name}
}

func (v *validator) add(field string, value any, format string, args ...any) {
	v.errs = append(v.errs, &FieldError{Kind: v.kind, Name: v.objName, Field: field, Value: value, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) err() error {
	switch len(v.errs) {
	case 0:
		return nil
	case 1:
		return v.errs[0]
	}
	return v.errs
}
