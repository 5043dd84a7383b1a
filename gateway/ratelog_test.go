package gateway_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

// A kind writes its burst of lines, then is held back, and the next line
// it writes says how many were; kinds are counted apart.
func TestLogLimiter(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	l := gateway.NewLogLimiter(3, time.Hour)
	for range 10 {
		l.Warn(log, "a", "refused a")
	}
	l.Warn(log, "b", "refused b")
	if n := strings.Count(buf.String(), "refused a"); n != 3 {
		t.Errorf("%d lines of kind a, want 3:\n%s", n, buf.String())
	}
	if !strings.Contains(buf.String(), "refused b") {
		t.Errorf("kind b was held back with kind a:\n%s", buf.String())
	}
	if ok, held := l.Allow("a"); ok || held != 0 {
		t.Errorf("Allow after the burst: %v, %d", ok, held)
	}
	l = gateway.NewLogLimiter(1, time.Nanosecond) // every call a new window
	l.Allow("a")
	if ok, held := l.Allow("a"); !ok || held != 0 {
		t.Errorf("a new window: %v, %d held", ok, held)
	}
}
