package resources

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/internal/seeds"
)

var seedPolicy = seeds.BookstorePolicy

func TestDecodeSeedPolicy(t *testing.T) {
	objs, err := DecodeBytes([]byte(seedPolicy))
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 {
		t.Fatalf("got %d objects", len(objs))
	}
	np, ok := objs[0].(*NetworkPolicy)
	if !ok {
		t.Fatalf("got %T", objs[0])
	}
	if err := np.Validate(); err != nil {
		t.Fatal(err)
	}
	if np.Namespace != "default" || len(np.Spec.Ingress) != 2 || np.Spec.Ingress[0].Protocol.Number != 6 ||
		np.Spec.Ingress[0].Destination.Ports[0] != (Port{80, 80}) || np.Spec.Ingress[1].Action != ActionDeny {
		t.Fatalf("decoded wrongly: %+v", np)
	}
}

func TestDecodeMultiAndList(t *testing.T) {
	in := `
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: p1}
spec: {cidr: 10.1.0.0/16, natOutgoing: true}
---
# a comment-only document is skipped
---
{"apiVersion": "projectcalico.org/v3", "kind": "List", "items": [
  {"apiVersion": "projectcalico.org/v3", "kind": "Profile", "metadata": {"name": "dev"}, "spec": {"labelsToApply": {"calico": ""}}},
  {"apiVersion": "projectcalico.org/v3", "kind": "BGPPeer", "metadata": {"name": "rr"}, "spec": {"peerIP": "10.0.0.9", "asNumber": 64511}}
]}
`
	objs, err := DecodeBytes([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, o := range objs {
		kinds = append(kinds, o.GetTypeMeta().Kind)
		if err := o.Validate(); err != nil {
			t.Errorf("%s: %v", o.Meta().Name, err)
		}
	}
	if strings.Join(kinds, ",") != "IPPool,Profile,BGPPeer" {
		t.Fatalf("kinds = %v", kinds)
	}
	if p := objs[0].(*IPPool); p.Spec.BlockSize != 26 || p.Spec.IPIPMode != EncapNever {
		t.Fatalf("defaults not applied: %+v", p.Spec)
	}
}

func TestDecodeErrors(t *testing.T) {
	cases := map[string]string{
		"unknown field":   "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: p}\nspec: {cidr: 10.0.0.0/8, natOutgoin: true}\n",
		"unknown nested":  "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: g}\nspec: {ingress: [{action: Allow, sorce: {nets: [10.0.0.0/8]}}]}\n",
		"bad apiVersion":  "apiVersion: v1\nkind: IPPool\nmetadata: {name: p}\n",
		"unknown kind":    "apiVersion: projectcalico.org/v3\nkind: Pod\nmetadata: {name: p}\n",
		"no kind":         "apiVersion: projectcalico.org/v3\nmetadata: {name: p}\n",
		"bad yaml":        "apiVersion: [\n",
		"bad protocol":    "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: g}\nspec: {ingress: [{action: Allow, protocol: TCPP}]}\n",
		"bad port":        "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: g}\nspec: {ingress: [{action: Allow, protocol: TCP, destination: {ports: [http]}}]}\n",
		"wrong type":      "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: p}\nspec: {cidr: 10.0.0.0/8, blockSize: big}\n",
		"empty":           "\n---\n",
		"scalar document": "42\n",
	}
	wantIn := map[string]string{"unknown field": `IPPool "p": spec.natOutgoin: is not a field of IPPool`, "unknown nested": "spec.ingress[0].sorce", "bad apiVersion": "apiVersion", "unknown kind": "kind",
		"no kind": "kind", "bad protocol": "TCPP", "bad port": "named ports", "wrong type": "blockSize", "empty": "empty"}
	for name, in := range cases {
		_, err := DecodeBytes([]byte(in))
		if err == nil {
			t.Errorf("%s: want error", name)
			continue
		}
		if w := wantIn[name]; w != "" && !strings.Contains(err.Error(), w) {
			t.Errorf("%s: error %q does not mention %q", name, err, w)
		}
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	objs, err := DecodeBytes([]byte(seedPolicy))
	if err != nil {
		t.Fatal(err)
	}
	y, err := EncodeYAML(objs[0])
	if err != nil {
		t.Fatal(err)
	}
	again, err := DecodeBytes(y)
	if err != nil {
		t.Fatalf("re-decode %s: %v", y, err)
	}
	y2, _ := EncodeYAML(again[0])
	if string(y) != string(y2) {
		t.Fatalf("round trip differs:\n%s\n---\n%s", y, y2)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(seedPolicy))
	f.Add([]byte("apiVersion: projectcalico.org/v3\nkind: List\nitems: [{kind: IPPool}]\n"))
	f.Add([]byte(`{"apiVersion":"projectcalico.org/v3","kind":"IPPool","metadata":{"name":"p"},"spec":{"cidr":"10.0.0.0/8"}}`))
	f.Add([]byte(`[{"apiVersion":"projectcalico.org/v3","kind":"Tier","metadata":{"name":"t"},"spec":{"order":1}}]`))
	f.Add([]byte("apiVersion: projectcalico.org/v3\nkind: FelixConfiguration\nmetadata: {name: default}\nspec: {routeRefreshInterval: 90s, failsafeInboundHostPorts: [{protocol: tcp, port: 22}]}\n"))
	f.Add([]byte("apiVersion: projectcalico.org/v3\nkind: FelixConfiguration\nmetadata: {name: node.h1}\nspec: {bpfLogLevel: Debug, wireguardMTU: 1400, flowLogsFlushInterval: 10s, ipv6Support: true}\n"))
	f.Add([]byte("apiVersion: projectcalico.org/v3\nkind: BGPFilter\nmetadata: {name: f}\nspec: {exportV4: [{action: Accept, matchOperator: In, cidr: 10.0.0.0/8, operations: [{prependASPath: {prefix: [1]}}]}]}\n"))
	f.Add([]byte("apiVersion: projectcalico.org/v3\nkind: HostEndpoint\nmetadata: {name: h}\nspec: {node: h1, interfaceName: eth0, ports: [{name: web, port: 99999, protocol: TCP}]}\n"))
	f.Add([]byte("apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: p}\nspec: {Selector: all(), selector: all(), ingress: [{action: Allow, destination: {Ports: [1], ports: [2]}}]}\n"))
	f.Add([]byte("apiVersion: projectcalico.org/v3\nkind: BGPFilter\nmetadata: {name: f}\nspec: {importV4: [{action: Accept, communities: {values: ['65000:100:7']}, asPathPrefix: [65000], interface: 'cali*', source: RemotePeers, priority: 9, operations: [{addCommunity: {value: '1:2'}}, {setPriority: {value: 20}}]}]}\n"))
	if files, err := filepath.Glob("testdata/calico-docs/*.yaml"); err == nil {
		for _, name := range files {
			if b, err := os.ReadFile(name); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		objs, err := DecodeBytes(b)
		if err != nil {
			return
		}
		for _, o := range objs {
			if o.Validate() != nil {
				continue
			}
			y, err := EncodeYAML(o)
			if err != nil {
				t.Fatalf("encode valid object: %v", err)
			}
			back, err := DecodeBytes(y)
			if err != nil {
				t.Fatalf("re-decode of encoded valid object failed: %v\n%s", err, y)
			}
			if err := back[0].Validate(); err != nil {
				t.Fatalf("valid object invalid after round trip: %v\n%s", err, y)
			}
		}
	})
}
