package resource

import (
	"bytes"
	"errors"
	"testing"

	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// A write can still fail after the checks (another writer got in between);
// the summary then says what was written and lists each error.
func TestReportPartialFailure(t *testing.T) {
	objs := []resources.Resource{resources.NewIPPool("a"), resources.NewIPPool("b"), resources.NewIPPool("c")}
	act := &writeAction{verb: "apply", past: "applied"}
	var out, errb bytes.Buffer
	a := &app{&cli.App{Stdio: cli.Stdio{Out: &out, Err: &errb}}}
	err := a.report(act, objs, 0, []error{errors.New(`update IPPool "b": update conflict`)})
	if err == nil || out.String() != "Partial success: applied 2 out of 3 'IPPool' resource(s)\n" ||
		errb.String() != "Hit error: update IPPool \"b\": update conflict\n" {
		t.Errorf("err %v, stdout %q, stderr %q", err, out.String(), errb.String())
	}
	out.Reset()
	errb.Reset()
	err = a.report(act, objs[:1], 0, []error{errors.New("boom")})
	if err == nil || out.Len() != 0 || errb.String() != "Failed to apply 1 'IPPool' resource(s)\nHit error: boom\n" {
		t.Errorf("err %v, stdout %q, stderr %q", err, out.String(), errb.String())
	}
}
