package ipsets

import (
	"bytes"
	"log"
	"slices"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
)

// Names lists the namespace's sets over netlink, names only, and prints
// nothing: the library's IpsetListAll, which parses every set's header,
// is what printed "unknown ipset data attribute" for the hash sets.
func TestNames(t *testing.T) {
	n := newNS(t)
	for _, name := range []string{"cali40s:a", "cali60s:b", "other"} {
		family := "inet"
		if strings.HasPrefix(name, "cali60") {
			family = "inet6"
		}
		run(t, n, "ipset", "create", name, "hash:net", "family", family)
	}
	var logged bytes.Buffer
	prev := log.Writer()
	log.SetOutput(&logged)
	defer log.SetOutput(prev)
	var names []string
	if err := n.Do(func() (err error) { names, err = Names(); return err }); err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	if want := []string{"cali40s:a", "cali60s:b", "other"}; !slices.Equal(names, want) {
		t.Errorf("names %v, want %v", names, want)
	}
	if logged.Len() > 0 {
		t.Errorf("Names logged:\n%s", logged.String())
	}
	// What it replaces: on kernels whose hash sets report attributes the
	// library does not know, its full dump logs them.
	_ = n.Do(func() error {
		h, err := netlink.NewHandle()
		if err == nil {
			_, err = h.IpsetListAll()
			h.Close()
		}
		return err
	})
	t.Logf("IpsetListAll printed %d bytes through the log package", logged.Len())
}
