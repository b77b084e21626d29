package testenv

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestEventuallySucceedsOnceFnDoes(t *testing.T) {
	calls := 0
	Eventually(t, time.Second, time.Millisecond, func() error {
		calls++
		if calls < 3 {
			return fmt.Errorf("call %d", calls)
		}
		return nil
	})
	if calls != 3 {
		t.Fatalf("fn called %d times, want 3", calls)
	}
}

// recordingTB captures Fatalf instead of stopping the test.
type recordingTB struct {
	testing.TB
	fatal string
}

func (r *recordingTB) Helper() {}
func (r *recordingTB) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
}

func TestEventuallyFailsWithLastError(t *testing.T) {
	rec := &recordingTB{TB: t}
	calls := 0
	start := time.Now()
	Eventually(rec, 50*time.Millisecond, 10*time.Millisecond, func() error {
		calls++
		return errors.New("still " + fmt.Sprint(calls))
	})
	if took := time.Since(start); took < 50*time.Millisecond || took > time.Second {
		t.Errorf("gave up after %v, want about 50ms", took)
	}
	if want := fmt.Sprintf("still %d", calls); !strings.Contains(rec.fatal, want) {
		t.Errorf("failure %q does not carry the last error %q", rec.fatal, want)
	}
	if calls < 3 {
		t.Errorf("fn called %d times, want several", calls)
	}
}
