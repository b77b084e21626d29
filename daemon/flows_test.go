package daemon

import (
	"io"
	"strings"
	"testing"
	"time"
)

// TestFlowLogSettings: defaults (on, 15s, 10000 rows, 20 intervals) and
// bad values refused naming the setting and the fix.
func TestFlowLogSettings(t *testing.T) {
	clearEnv(t)
	t.Setenv("NODENAME", "host1")
	c, err := LoadConfig(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if want := (FlowLogSettings{true, 15 * time.Second, 10000, 20}); c.FlowLogSettings != want {
		t.Errorf("defaults %+v, want %+v", c.FlowLogSettings, want)
	}
	for _, bad := range [][2]string{{"--flow-logs=maybe", "flow_logs"}, {"--flow-logs-interval=0s", "flow_logs_interval"},
		{"--flow-logs-interval=1h", "flow_logs_interval"}, {"--flow-logs-max=5", "flow_logs_max"},
		{"--flow-logs-intervals=0", "flow_logs_intervals"}} {
		_, err := LoadConfig([]string{bad[0]}, io.Discard)
		if err == nil || !strings.Contains(err.Error(), bad[1]) {
			t.Errorf("%s: err %v, want one naming %s", bad[0], err, bad[1])
		}
	}
}

func TestFlowsAPIURL(t *testing.T) {
	for _, c := range [][3]string{
		{"localhost:9091", "10.0.0.1", "http://localhost:9091"},
		{"0.0.0.0:9091", "10.0.0.1", "http://10.0.0.1:9091"},
		{":9091", "10.0.0.1", "http://10.0.0.1:9091"},
		{":9091", "", ""},
		{"[::]:9091", "10.0.0.1", "http://10.0.0.1:9091"},
	} {
		if got := flowsAPIURL(c[0], c[1]); got != c[2] {
			t.Errorf("flowsAPIURL(%q, %q) = %q, want %q", c[0], c[1], got, c[2])
		}
	}
}
