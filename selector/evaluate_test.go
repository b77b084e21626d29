package selector

import "testing"

func TestEvaluate(t *testing.T) {
	labels := map[string]string{
		"role":                           "db",
		"tier":                           "backend",
		"env":                            "prod-eu",
		"empty":                          "",
		"projectcalico.org/orchestrator": "docker",
	}
	tests := []struct {
		sel  string
		want bool
	}{
		{"", true},
		{"all()", true},
		{"!all()", false},
		{"global()", false},
		{"!global()", true},
		{"has(role)", true},
		{"has(empty)", true},
		{"has(absent)", false},
		{"!has(absent)", true},
		{"role == 'db'", true},
		{"role == 'web'", false},
		{"absent == ''", false},
		{"empty == ''", true},
		{"role != 'web'", true},
		{"role != 'db'", false},
		{"absent != 'db'", true},
		{"role in {'web','db'}", true},
		{"role in {'web'}", false},
		{"role in {}", false},
		{"absent in {'db'}", false},
		{"role not in {'web','db'}", false},
		{"role not in {'web','api'}", true},
		{"absent not in {'db','x'}", true},
		{"absent not in {}", true},
		{"env contains 'od-e'", true},
		{"env contains 'us'", false},
		{"absent contains ''", false},
		{"env starts with 'prod'", true},
		{"env starts with 'eu'", false},
		{"absent starts with ''", false},
		{"env ends with '-eu'", true},
		{"env ends with 'prod'", false},
		{"absent ends with ''", false},
		{"!env contains 'us'", true},
		{"projectcalico.org/orchestrator == 'docker'", true},
		// Precedence: ! binds tighter than &&, which binds tighter than ||.
		{"role == 'web' && tier == 'x' || env == 'prod-eu'", true},
		{"role == 'web' && (tier == 'x' || env == 'prod-eu')", false},
		{"env == 'prod-eu' || role == 'web' && tier == 'x'", true},
		{"(env == 'prod-eu' || role == 'web') && tier == 'x'", false},
		{"!has(role) || has(tier)", true},
		{"!(has(role) || has(tier))", false},
		{"!has(role) && has(tier)", false},
		{"!(has(role) && has(absent))", true},
		{"has(role) && has(tier) && has(env) && !has(absent)", true},
		{"has(absent) || has(x) || role == 'db'", true},
	}
	for _, tt := range tests {
		t.Run(tt.sel, func(t *testing.T) {
			sel := MustParse(tt.sel)
			if got := sel.Evaluate(labels); got != tt.want {
				t.Errorf("Evaluate = %v, want %v", got, tt.want)
			}
			if got := sel.EvaluateLabels(Map(labels)); got != tt.want {
				t.Errorf("EvaluateLabels(Map) = %v, want %v", got, tt.want)
			}
			// The canonical form must mean the same thing.
			if got := MustParse(sel.String()).Evaluate(labels); got != tt.want {
				t.Errorf("canonical %s evaluates to %v, want %v", sel, got, tt.want)
			}
		})
	}
}

func TestEvaluateGlobal(t *testing.T) {
	tests := []struct {
		sel    string
		labels Labels
		want   bool
	}{
		{"global()", Map{"a": "1"}, false},
		{"global()", GlobalMap{"a": "1"}, true},
		{"global()", nil, false},
		{"global() && a == '1'", GlobalMap{"a": "1"}, true},
		{"!global() && a == '1'", GlobalMap{"a": "1"}, false},
		{"!global() && a == '1'", Map{"a": "1"}, true},
		{"has(a)", nil, false},
		{"a != 'x'", nil, true},
		{"global()", declared{global: false}, false},
		{"global()", declared{global: true}, true},
	}
	for _, tt := range tests {
		if got := MustParse(tt.sel).EvaluateLabels(tt.labels); got != tt.want {
			t.Errorf("%q on %#v = %v, want %v", tt.sel, tt.labels, got, tt.want)
		}
	}
	if MustParse("has(a)").Evaluate(nil) {
		t.Error("has(a) matched a nil map")
	}
}

// declared is a GlobalLabels whose globalness is a field.
type declared struct{ global bool }

func (declared) Get(string) (string, bool) { return "", false }
func (d declared) IsGlobal() bool          { return d.global }
