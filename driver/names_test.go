package driver

import "testing"

func TestNames(t *testing.T) {
	if got := HostIface(testEPID); got != "calica604582ea2" || len(got) > 15 {
		t.Errorf("HostIface = %q", got)
	}
	if got := tmpIface(testEPID); got != "tmpca604582ea2" {
		t.Errorf("tmpIface = %q", got)
	}
	if got := WorkloadEndpointName("Host1", testEPID); got != "host1-libnetwork-libnetwork-"+testEPID {
		t.Errorf("WorkloadEndpointName = %q", got)
	}
	a, b := macFor(testEPID), macFor(testEPID)
	if a.String() != b.String() {
		t.Errorf("macFor is not stable: %s vs %s", a, b)
	}
	if a[0]&1 != 0 || a[0]&2 == 0 {
		t.Errorf("macFor(%s) = %s is not unicast and locally administered", testEPID, a)
	}
	if macFor(testNetID).String() == a.String() {
		t.Errorf("two IDs gave the same MAC %s", a)
	}
	for id, ok := range map[string]bool{testEPID: true, "abc": false, "0123456789A": false, "0123456789a": true, "": false} {
		if err := checkID("id", id); (err == nil) != ok {
			t.Errorf("checkID(%q) = %v, want ok=%v", id, err, ok)
		}
	}
}
