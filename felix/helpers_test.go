package felix

import (
	"github.com/calico-docker/calico-libnetwork/felix/internal/felixtest"
)

// testNS is a network namespace made for one test (felixtest.NS, shared
// with felix/policy's tests).
type testNS = felixtest.NS
