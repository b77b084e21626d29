package metrics

import (
	"testing"

	dto "github.com/prometheus/client_model/go"
)

// series returns the gathered series of the metric family name.
func series(t *testing.T, m *Metrics, name string) []*dto.Metric {
	t.Helper()
	mfs, err := m.Gatherer().Gather()
	if err != nil {
		t.Logf("gather: %v", err) // a failing source; the rest is still there
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()
		}
	}
	return nil
}

// value returns the value of the one series of name whose labels include
// the given name/value pairs: a counter's or gauge's value, a histogram's
// or summary's sample count. It fails unless exactly one series matches.
func value(t *testing.T, m *Metrics, name string, labels ...string) float64 {
	t.Helper()
	var found []*dto.Metric
	for _, s := range series(t, m, name) {
		if hasLabels(s, labels) {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s%v: %d series match, want 1", name, labels, len(found))
	}
	s := found[0]
	switch {
	case s.Counter != nil:
		return s.Counter.GetValue()
	case s.Gauge != nil:
		return s.Gauge.GetValue()
	case s.Histogram != nil:
		return float64(s.Histogram.GetSampleCount())
	case s.Summary != nil:
		return float64(s.Summary.GetSampleCount())
	}
	t.Fatalf("%s: unsupported metric type", name)
	return 0
}

func hasLabels(s *dto.Metric, kv []string) bool {
	for i := 0; i+1 < len(kv); i += 2 {
		ok := false
		for _, l := range s.GetLabel() {
			ok = ok || l.GetName() == kv[i] && l.GetValue() == kv[i+1]
		}
		if !ok {
			return false
		}
	}
	return true
}
