package driver

import (
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/dockerapi"
	"github.com/calico-docker/calico-libnetwork/resources"
)

func TestParseEnv(t *testing.T) {
	base := func() *resources.WorkloadEndpoint {
		w := resources.NewWorkloadEndpoint("n-libnetwork-libnetwork-e1")
		w.Spec.IPNetworks = []string{"10.1.7.7/32"}
		w.Spec.Profiles = []string{"net1"}
		return w
	}
	tests := []struct {
		name         string
		env, labels  map[string]string
		wantProfiles string
		wantAnn      map[string]string // "" = absent
		changed      bool
	}{
		{"nothing", nil, nil, "net1", map[string]string{AnnotationEnvNotApplied: "", AnnotationApp: ""}, false},
		{"seed app", map[string]string{"CALICO_IP": "auto", "CALICO_PROFILE": "dev", "SERVICE_PORT": "3000", "MARATHON_APP_ID": "/shop/web"}, nil,
			"net1,dev", map[string]string{AnnotationApp: "/shop/web", AnnotationServicePort: "3000", AnnotationEnvNotApplied: ""}, true},
		{"profile already there", map[string]string{"CALICO_PROFILE": "net1"}, nil, "net1", nil, false},
		{"bad profile", map[string]string{"CALICO_PROFILE": "Dev Team"}, nil, "net1",
			map[string]string{AnnotationEnvNotApplied: "CALICO_PROFILE=Dev Team is not a profile name"}, true},
		{"ip given by docker", map[string]string{"CALICO_IP": "10.1.7.7"}, nil, "net1", map[string]string{AnnotationEnvNotApplied: ""}, false},
		{"ip not given", map[string]string{"CALICO_IP": "10.1.7.8"}, nil, "net1",
			map[string]string{AnnotationEnvNotApplied: "CALICO_IP=10.1.7.8 not applied: the endpoint has 10.1.7.7/32"}, true},
		{"ip garbage", map[string]string{"CALICO_IP": "ten"}, nil, "net1",
			map[string]string{AnnotationEnvNotApplied: "CALICO_IP=ten is not an IP address"}, true},
		{"app label", nil, map[string]string{LabelApp: "web"}, "net1", map[string]string{AnnotationApp: "web"}, true},
		{"bad port", map[string]string{"SERVICE_PORT": "http"}, nil, "net1",
			map[string]string{AnnotationServicePort: "", AnnotationEnvNotApplied: "SERVICE_PORT=http is not a port"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := base()
			cfg := dockerapi.ContainerConfig{ID: "c1", Env: tc.env, Labels: tc.labels}
			if changed := parseEnv(cfg, w).applyTo(w); changed != tc.changed {
				t.Errorf("changed = %v, want %v", changed, tc.changed)
			}
			if got := strings.Join(w.Spec.Profiles, ","); got != tc.wantProfiles {
				t.Errorf("profiles %s, want %s", got, tc.wantProfiles)
			}
			for k, want := range tc.wantAnn {
				if got := w.Annotations[k]; (want == "" && got != "") || !strings.Contains(got, want) {
					t.Errorf("annotation %s = %q, want %q", k, got, want)
				}
			}
			if w2 := w; parseEnv(cfg, w2).applyTo(w2) {
				t.Error("applying twice changed the endpoint again")
			}
		})
	}
}
