package calicoctl

import (
	"os"
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/calicoctl/resource"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// sampleObjects decodes testdata/all-kinds.yaml: the first object of each kind.
func sampleObjects(t *testing.T) map[string]resources.Resource {
	t.Helper()
	f, err := os.Open("testdata/all-kinds.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	objs, err := resources.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]resources.Resource{}
	for _, o := range objs {
		if _, ok := out[o.GetTypeMeta().Kind]; !ok {
			out[o.GetTypeMeta().Kind] = o
		}
	}
	if len(out) != len(resources.Kinds()) {
		t.Fatalf("all-kinds.yaml covers %d of %d kinds", len(out), len(resources.Kinds()))
	}
	return out
}

func encodeYAML(t *testing.T, r resources.Resource) string {
	t.Helper()
	b, err := resources.EncodeYAML(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func wantOK(t *testing.T, r result, stdout string) {
	t.Helper()
	if r.code != 0 || !strings.Contains(r.stdout, stdout) {
		t.Fatalf("want exit 0 and %q on stdout; got %v", stdout, r)
	}
}

func wantFail(t *testing.T, r result, stderr string) {
	t.Helper()
	if r.code != 1 || !strings.Contains(r.stderr, stderr) {
		t.Fatalf("want exit 1 and %q on stderr; got %v", stderr, r)
	}
}

func TestRoundTripEveryKind(t *testing.T) {
	e := startEtcd(t)
	for kind, obj := range sampleObjects(t) {
		t.Run(kind, func(t *testing.T) {
			e.clear(t)
			plural := resources.InfoOf(obj).Plural
			name := obj.Meta().Name
			js, err := resources.EncodeJSON(obj)
			if err != nil {
				t.Fatal(err)
			}
			tier := ""
			if spec := resource.PolicySpecOf(obj); spec != nil && spec.TierName() != resources.DefaultTierName {
				tier = spec.Tier // a policy's tier must exist first
				e.mustRun(t, "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: "+tier+"}\n", "apply", "-f", "-")
				defer e.mustRun(t, "", "delete", "tier", tier)
			}
			wantOK(t, e.run(t, string(js), "create", "-f", "-"), "Successfully created 1 '"+kind+"' resource(s)")

			before := e.snapshot(t)
			wantFail(t, e.run(t, string(js), "create", "-f", "-"), "already exists")
			e.assertUnchanged(t, before)

			obj.Meta().Labels = map[string]string{"changed": "yes"}
			wantOK(t, e.run(t, encodeYAML(t, obj), "replace", "-f", "-"), "Successfully replaced 1 '"+kind+"' resource(s)")
			ns := []string{}
			if resources.InfoOf(obj).Namespaced {
				ns = []string{"-n", obj.Meta().Namespace}
			}
			got := e.mustRun(t, "", append([]string{"get", plural, name, "-o", "yaml"}, ns...)...).stdout
			if !strings.Contains(got, "changed: \"yes\"") {
				t.Fatalf("replace did not store the label:\n%s", got)
			}

			// What get prints applies back (with its resourceVersion: a CAS).
			wantOK(t, e.run(t, got, "apply", "-f", "-"), "Successfully applied 1 '"+kind+"' resource(s)")
			before = e.snapshot(t)
			wantFail(t, e.run(t, got, "replace", "-f", "-"), "changed since resourceVersion")
			wantFail(t, e.run(t, got, "apply", "-f", "-"), "changed since resourceVersion")
			e.assertUnchanged(t, before)

			deleted := "2"
			switch kind {
			case resources.KindClusterInformation: // one per cluster, and kept
			case resources.KindFelixConfiguration: // "default" or "node.<name>"
				wantOK(t, e.run(t, strings.Replace(string(js), `"name": "`+name+`"`, `"name": "node.other"`, 1), "apply", "-f", "-"), "Successfully applied 1")
			default:
				js2 := strings.Replace(string(js), `"name": "`+name+`"`, `"name": "other-`+strings.ToLower(kind)+`"`, 1)
				if p, ok := obj.(*resources.IPPool); ok { // pools may not overlap
					js2 = strings.Replace(js2, `"`+p.Spec.CIDR+`"`, `"10.77.0.0/16"`, 1)
				}
				wantOK(t, e.run(t, js2, "apply", "-f", "-"), "Successfully applied 1")
			}

			// A List as printed by get, with current resourceVersions, deletes both.
			all := e.mustRun(t, "", append([]string{"get", plural, "-o", "yaml"}, ns...)...).stdout
			if kind == resources.KindClusterInformation { // calicoctl refuses to delete it
				wantFail(t, e.run(t, all, "delete", "-f", "-"), "cannot be deleted")
				return
			}
			wantOK(t, e.run(t, all, "delete", "-f", "-"), "Successfully deleted "+deleted+" '"+kind+"' resource(s)")
			wantFail(t, e.run(t, "", append([]string{"get", plural, name}, ns...)...), "not found")
			if s := e.snapshot(t); len(s) != 0 && tier == "" || len(s) > 1 {
				t.Errorf("store not empty after delete: %v", s)
			}
		})
	}
}
