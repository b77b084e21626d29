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

// TestCalicoFieldsNotHereAreNotTypos: a real Calico field this project's
// types lack is refused saying so, never as a spelling mistake.
func TestCalicoFieldsNotHereAreNotTypos(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{"kind: BGPConfiguration\nmetadata: {name: default}\nspec: {serviceClusterIPs: [{cidr: 10.96.0.0/12}]}\n", "spec.serviceClusterIPs: is a Calico field that does not apply on Docker: it advertises Kubernetes Service addresses"},
		{"kind: BGPConfiguration\nmetadata: {name: default}\nspec: {communities: [{name: a, value: '64512:100'}]}\n", "spec.communities: is a Calico field this project does not implement"},
		{"kind: WorkloadEndpoint\nmetadata: {name: w, namespace: default}\nspec: {node: n, interfaceName: cali1, pod: web-1}\n", "spec.pod: is a Calico field that does not apply on Docker"},
		{"kind: Node\nmetadata: {name: n}\nspec: {wireguard: {interfaceIPv4Address: 10.0.0.9}}\n", "spec.wireguard: is a Calico field this project does not implement"},
		{"kind: IPPool\nmetadata: {name: p}\nspec: {cidr: 10.0.0.0/16, ipip: {enabled: true}}\n", "spec.ipip: is the deprecated v1 form of IPIP: use spec.ipipMode"},
	} {
		err := decodeAndValidate(hdr + tc.doc)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "spelling") {
			t.Errorf("%s: got %v\nwant %q", tc.doc, err, tc.want)
		}
	}
	if err := decodeAndValidate(hdr + "kind: BGPConfiguration\nmetadata: {name: default}\nspec: {serviceClusterIP: []}\n"); err == nil || !strings.Contains(err.Error(), "fix its spelling") {
		t.Errorf("a real typo: %v", err)
	}
}
