package resource

import (
	"testing"

	"github.com/calico-docker/calico-libnetwork/resources"
)

// FuzzPatch: any patch text either fails with an error or yields an object
// that is still of its kind and name (the identity cannot be patched).
func FuzzPatch(f *testing.F) {
	for _, s := range []string{`{"spec":{"natOutgoing":true}}`, `spec: {cidr: null}`, `{"metadata":{"labels":{"a":"b"}}}`, `[]`, `{"kind":"Tier"}`, "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, patch string) {
		p := resources.NewIPPool("p1")
		p.Spec.CIDR = "10.1.0.0/16"
		p.Default()
		if err := applyPatch(p, patch); err != nil {
			return
		}
		if p.Kind != resources.KindIPPool || p.Name != "p1" {
			t.Fatalf("patch %q changed the identity: %s %s", patch, p.Kind, p.Name)
		}
	})
}
