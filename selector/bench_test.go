package selector

import "testing"

const benchSelector = `projectcalico.org/orchestrator == "docker" && role in {"db", "cache", "queue"} && ` +
	`!has(quarantine) && (env starts with "prod" || tier != "frontend")`

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(benchSelector); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEvaluate(b *testing.B) {
	sel := MustParse(benchSelector)
	labels := map[string]string{
		"projectcalico.org/orchestrator": "docker",
		"projectcalico.org/namespace":    "default",
		"role":                           "cache",
		"env":                            "prod-eu",
		"tier":                           "backend",
		"com.docker.compose.project":     "shop",
	}
	if !sel.Evaluate(labels) {
		b.Fatal("benchmark selector does not match")
	}
	b.ReportAllocs()
	for b.Loop() {
		sel.Evaluate(labels)
	}
}
