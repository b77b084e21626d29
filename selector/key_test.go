package selector

import (
	"strings"
	"testing"
)

func TestValidateKey(t *testing.T) {
	tests := []struct {
		key     string
		wantErr string
	}{
		{"a", ""},
		{"role", ""},
		{"A_b-c.D9", ""},
		{"com.docker.compose.project", ""},
		{"projectcalico.org/orchestrator", ""},
		{"a-b.c/x", ""},
		{"0/0", ""},
		{strings.Repeat("n", 63), ""},
		{strings.Repeat("p", 253) + "/n", ""},
		{"", "must not be empty"},
		{strings.Repeat("n", 64), "at most 63 bytes"},
		{strings.Repeat("p", 254) + "/n", "at most 253 bytes"},
		{"_a", "start and end with a letter or digit"},
		{"a.", "start and end with a letter or digit"},
		{"a b", "only letters, digits"},
		{"a/", `name "": must not be empty`},
		{"/a", `prefix "": must not be empty`},
		{"a/b/c", "at most one '/'"},
		{"Calico.org/a", "DNS subdomain"},
		{"a..b/c", "DNS subdomain"},
		{"-a.b/c", "DNS subdomain"},
		{"a_b/c", "DNS subdomain"},
		{"a.b-/c", "DNS subdomain"},
	}
	for _, tt := range tests {
		err := ValidateKey(tt.key)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("ValidateKey(%q) = %v, want nil", tt.key, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("ValidateKey(%q) = %v, want error containing %q", tt.key, err, tt.wantErr)
		}
	}
}
