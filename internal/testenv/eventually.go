package testenv

import (
	"testing"
	"time"
)

// Eventually calls fn until it returns nil, every interval, for up to
// timeout (fn always runs at least once). If fn never succeeds the test
// fails with fn's last error. Use it for state that converges: routes a
// dataplane programs, a key a watcher writes, a container that starts.
func Eventually(t testing.TB, timeout, interval time.Duration, fn func() error) {
	t.Helper()
	if err := poll(timeout, interval, fn); err != nil {
		t.Fatalf("not true after %v: %v", timeout, err)
	}
}

// poll is Eventually without the test: it returns fn's last error, or nil.
func poll(timeout, interval time.Duration, fn func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := fn()
		if err == nil {
			return nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return err
		}
		time.Sleep(min(interval, left))
	}
}
