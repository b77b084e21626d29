package flows

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzParseFilter: any query either parses into a filter within bounds or
// fails naming a parameter; never panics.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"action=deny", "limit=10&since=5m", "selector=role%20%3D%3D%20'db'", "policy=t/x",
		"since=2026-12-06T09:00:00Z", "limit=0", "selector=(((", "x=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		flt, err := ParseFilter(q, time.Now())
		if err != nil {
			if fe, ok := err.(*FilterError); !ok || fe.Field == "" || !strings.Contains(err.Error(), ";") {
				t.Fatalf("error %v is not a FilterError naming a field and a fix", err)
			}
			return
		}
		if flt.Limit < 1 || flt.Limit > MaxLimit {
			t.Fatalf("limit %d out of bounds", flt.Limit)
		}
		fl := Flow{Action: "deny"}
		flt.Match(&fl)
	})
}
