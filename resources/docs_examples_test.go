package resources

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCalicoDocsExamples decodes and validates every example kept from
// Calico's documentation: a Calico user's YAML must apply unchanged.
func TestCalicoDocsExamples(t *testing.T) {
	files, err := filepath.Glob("testdata/calico-docs/*.yaml")
	if err != nil || len(files) < 15 {
		t.Fatalf("examples: %v (%d files)", err, len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			objs, err := DecodeBytes(b)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			for _, o := range objs {
				if err := o.Validate(); err != nil {
					t.Errorf("validate: %v", err)
				}
			}
		})
	}
}

func TestDocsExampleDetailsKept(t *testing.T) {
	b, err := os.ReadFile("testdata/calico-docs/networkpolicy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := DecodeBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	np := objs[0].(*NetworkPolicy)
	if np.Namespace != "production" || np.Spec.Tier != DefaultTierName {
		t.Fatalf("namespace %q tier %q", np.Namespace, np.Spec.Tier)
	}
	if md := np.Spec.Ingress[0].Metadata; md == nil || md.Annotations["from"] != "frontend" || md.Annotations["to"] != "database" {
		t.Fatalf("rule metadata lost: %+v", md)
	}
	out, err := EncodeYAML(np)
	if err != nil {
		t.Fatal(err)
	}
	again, err := DecodeBytes(out)
	if err != nil {
		t.Fatalf("re-decode: %v\n%s", err, out)
	}
	if again[0].(*NetworkPolicy).Spec.Ingress[0].Metadata.Annotations["to"] != "database" {
		t.Fatalf("round trip lost the annotations:\n%s", out)
	}
}
