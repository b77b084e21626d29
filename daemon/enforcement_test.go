package daemon

import (
	"testing"
	"time"
)

func TestEnforcementSettings(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want Enforcement
		err  string
	}{
		{"defaults", nil, Enforcement{EndpointToHostAction: "Drop", IPAMGCInterval: 5 * time.Minute, IPAMGCGrace: 10 * time.Minute}, ""},
		{"accept", map[string]string{"CALICO_ENDPOINT_TO_HOST_ACTION": "accept"},
			Enforcement{EndpointToHostAccept: true, EndpointToHostAction: "Accept", IPAMGCInterval: 5 * time.Minute, IPAMGCGrace: 10 * time.Minute}, ""},
		{"return", map[string]string{"CALICO_ENDPOINT_TO_HOST_ACTION": "Return"},
			Enforcement{EndpointToHostAction: "Return", IPAMGCInterval: 5 * time.Minute, IPAMGCGrace: 10 * time.Minute}, ""},
		{"gc off", map[string]string{"CALICO_IPAM_GC_INTERVAL": "0", "CALICO_IPAM_GC_GRACE": "1h"},
			Enforcement{EndpointToHostAction: "Drop", IPAMGCGrace: time.Hour}, ""},
		{"bad action", map[string]string{"CALICO_ENDPOINT_TO_HOST_ACTION": "Allow"}, Enforcement{},
			`invalid endpoint_to_host_action "Allow" (--endpoint-to-host-action, $CALICO_ENDPOINT_TO_HOST_ACTION`},
		{"grace too short", map[string]string{"CALICO_IPAM_GC_GRACE": "5s"}, Enforcement{}, "at least 1m0s"},
		{"grace zero", map[string]string{"CALICO_IPAM_GC_GRACE": "0"}, Enforcement{}, "ipam_gc_grace"},
		{"bad interval", map[string]string{"CALICO_IPAM_GC_INTERVAL": "often"}, Enforcement{}, "or 0 to turn it off"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := loadFromEnv(t, tc.env, tc.err)
			if c == nil {
				return
			}
			if c.Enforcement != tc.want {
				t.Errorf("Enforcement = %+v, want %+v", c.Enforcement, tc.want)
			}
		})
	}
}

func TestCollectableHandles(t *testing.T) {
	for h, want := range map[string]bool{
		"docker-ipam-0123456789abcdef": true,
		"libnetwork.0123456789ab":      true,
		"k8s-pod-network.x":            false,
		"calicoctl-reserved":           false,
	} {
		if got := collectableHandle(h); got != want {
			t.Errorf("collectableHandle(%q) = %v, want %v", h, got, want)
		}
	}
}
