package resources

import (
	"strings"
	"testing"
)

// TestWrongTypeNamesFieldAndFix: a value of the wrong type is refused
// with its full path (list indexes included), the value and what the
// field takes, in the API's terms rather than Go's.
func TestWrongTypeNamesFieldAndFix(t *testing.T) {
	cases := []struct {
		name, doc, want string
	}{
		{"port too big", "kind: HostEndpoint\nmetadata: {name: h}\nspec: {node: host1, interfaceName: eth0, ports: [{name: a, port: 80, protocol: TCP}, {name: web, port: 99999, protocol: TCP}]}\n",
			`HostEndpoint "h": spec.ports[1].port (99999): must be a whole number from 0 to 65535`},
		{"duration", "kind: FelixConfiguration\nmetadata: {name: default}\nspec: {routeRefreshInterval: fast}\n",
			`FelixConfiguration "default": spec.routeRefreshInterval ("fast"): duration "fast": use a number with a unit`},
		{"bool", "kind: IPPool\nmetadata: {name: p}\nspec: {cidr: 10.0.0.0/16, disableBGPExport: maybe}\n",
			`IPPool "p": spec.disableBGPExport ("maybe"): must be true or false`},
		{"failsafe port", "kind: FelixConfiguration\nmetadata: {name: default}\nspec: {failsafeInboundHostPorts: [{protocol: tcp, port: 22}, {protocol: tcp, port: 70000}]}\n",
			`spec.failsafeInboundHostPorts[1].port (70000): must be a whole number from 0 to 65535`},
		{"object for text", "kind: GlobalNetworkSet\nmetadata: {name: g}\nspec: {nets: [{cidr: 10.0.0.0/8}]}\n",
			`spec.nets[0]: must be text`},
		{"text for object", "kind: BGPPeer\nmetadata: {name: b}\nspec: {peerIP: 10.0.0.1, asNumber: 64512, password: hunter2}\n",
			`spec.password ("hunter2"): must be an object of fields`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeBytes([]byte(hdr + tc.doc))
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q\nwant it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "Go struct") || strings.Contains(err.Error(), "(object)") {
				t.Fatalf("error %q speaks Go, not the API", err)
			}
		})
	}
}

// TestFieldTwiceInAnotherCase: encoding/json matches keys ignoring case,
// so a field given twice in two spellings is a key given twice: refused.
func TestFieldTwiceInAnotherCase(t *testing.T) {
	_, err := DecodeBytes([]byte(hdr + "kind: GlobalNetworkPolicy\nmetadata: {name: p}\nspec:\n  ingress:\n  - {action: Allow, destination: {Ports: [80], ports: [443]}}\n"))
	if err == nil || !strings.Contains(err.Error(), `spec.ingress[0].destination.ports: is given twice (as "Ports" and "ports"`) {
		t.Fatalf("got %v", err)
	}
	if _, err := DecodeBytes([]byte(hdr + "kind: GlobalNetworkSet\nmetadata: {name: s, labels: {A: one, a: two}}\nspec: {nets: [10.0.0.0/8]}\n")); err != nil {
		t.Fatalf("label keys differing in case are two labels: %v", err)
	}
}
