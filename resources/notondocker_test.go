package resources

import (
	"strings"
	"testing"
)

// TestNotOnDockerSaysWhyAndWhatInstead: the Calico fields that cannot
// apply on Docker are refused with the field, why it does not apply and
// what to use instead (not "fix its spelling": they are real fields).
func TestNotOnDockerSaysWhyAndWhatInstead(t *testing.T) {
	cases := []struct {
		name, doc string
		want      []string
	}{
		{"serviceAccountSelector", "kind: GlobalNetworkPolicy\nmetadata: {name: p}\nspec: {serviceAccountSelector: 'role == \"x\"'}\n",
			[]string{"spec.serviceAccountSelector", "service accounts, which Docker containers do not have", "docker run --label", "spec.selector"}},
		{"http", "kind: NetworkPolicy\nmetadata: {name: p, namespace: production}\nspec: {ingress: [{action: Allow, http: {methods: [GET], paths: [{exact: /x}]}}]}\n",
			[]string{"spec.ingress[0].http", "application-layer policy", "protocol TCP and destination ports"}},
		{"services", "kind: GlobalNetworkPolicy\nmetadata: {name: p}\nspec: {egress: [{action: Allow, destination: {services: {name: kubernetes, namespace: default}}}]}\n",
			[]string{"spec.egress[0].destination.services", "Kubernetes Services, which do not exist on Docker", "selector", "nets"}},
		{"serviceAccounts", "kind: StagedNetworkPolicy\nmetadata: {name: p}\nspec: {ingress: [{action: Allow, source: {serviceAccounts: {selector: all()}}}]}\n",
			[]string{"spec.ingress[0].source.serviceAccounts", "service accounts", "docker run --label"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := decodeAndValidate(hdr + tc.doc)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "spelling") {
				t.Errorf("error %q calls a real Calico field a typo", err)
			}
		})
	}
}

// TestKindsNotOnDockerSayWhyAndWhatInstead: a real Calico kind this
// project does not store is refused as such, not as a typo, in a file
// and on the command line (any calicoctl spelling).
func TestKindsNotOnDockerSayWhyAndWhatInstead(t *testing.T) {
	doc := hdr + "kind: StagedKubernetesNetworkPolicy\nmetadata: {name: p, namespace: default}\nspec: {podSelector: {matchLabels: {app: web}}}\n"
	err := decodeAndValidate(doc)
	if err == nil || !strings.Contains(err.Error(), "StagedKubernetesNetworkPolicy is a Calico kind that does not apply on Docker") ||
		!strings.Contains(err.Error(), "StagedNetworkPolicy") || strings.Contains(err.Error(), "not a known kind") {
		t.Fatalf("file: %v", err)
	}
	for _, name := range []string{"sknp", "kubecontrollersconfig", "ipamconfig", "blockaffinities", "CalicoNodeStatus"} {
		_, err := Lookup(name)
		if err == nil || !strings.Contains(err.Error(), "does not apply on Docker") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := Lookup("ipools"); err == nil || !strings.Contains(err.Error(), "unknown resource kind") {
		t.Errorf("a typo: %v", err)
	}
}
