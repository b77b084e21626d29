package resources

import (
	"slices"
	"strings"
	"testing"
)

// A Calico field this daemon has no counterpart for is kept, shown and
// reported; a typo is still refused, naming the field.
func TestFelixCalicoOnlyFields(t *testing.T) {
	doc := hdr + "kind: FelixConfiguration\nmetadata: {name: default}\nspec: {bpfLogLevel: Debug, wireguardMTU: 1400, logSeverityScreen: Info}\n"
	objs, err := DecodeBytes([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	fc := objs[0].(*FelixConfiguration)
	if err := fc.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := fc.Spec.NotApplicable(); !slices.Equal(got, []string{"bpfLogLevel", "wireguardMTU"}) {
		t.Fatalf("not applicable: %v", got)
	}
	if fc.Spec.LogSeverityScreen != "Info" {
		t.Fatalf("own field lost: %+v", fc.Spec)
	}
	y, err := EncodeYAML(fc)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"bpfLogLevel: Debug", "wireguardMTU: 1400", "logSeverityScreen: Info"} {
		if !strings.Contains(string(y), want) {
			t.Errorf("encoded YAML lacks %q:\n%s", want, y)
		}
	}
	for doc, want := range map[string]string{
		"spec: {bpfLogLevel: Debug, logSeverityScren: Info}\n": "spec.logSeverityScren: is not a field of FelixConfiguration",
		"spec: {vxlanMTU: big}\n":                              "vxlanMTU",
	} {
		_, err := DecodeBytes([]byte(hdr + "kind: FelixConfiguration\nmetadata: {name: default}\n" + doc))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", doc, err, want)
		}
	}
}
