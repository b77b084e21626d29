package daemon

import (
	"strconv"
	"time"
)

// settingTypes gives the type of settings whose default does not show it
// (an empty default); the others are inferred from their default.
var settingTypes = map[string]string{
	"as": "int",
}

// settingType is the type --help shows for a setting: bool, duration, int
// or string. parseConfig does the validation; the type is for people.
func settingType(s Setting) string {
	if t, ok := settingTypes[s.Key]; ok {
		return t
	}
	if _, err := strconv.ParseBool(s.Default); err == nil && s.Default != "0" && s.Default != "1" {
		return "bool"
	}
	if _, err := strconv.Atoi(s.Default); err == nil {
		return "int"
	}
	if _, err := time.ParseDuration(s.Default); err == nil {
		return "duration"
	}
	return "string"
}

// settingValue is a flag holding a setting's text, typed for --help.
type settingValue struct {
	val, typ string
}

func (v *settingValue) String() string     { return v.val }
func (v *settingValue) Set(s string) error { v.val = s; return nil }
func (v *settingValue) Type() string       { return v.typ }
