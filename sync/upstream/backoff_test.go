package upstream

import (
	"net/http"
	"testing"
	"time"
)

// TestBackoffFullJitter: the ceiling doubles from MinBackoff at each
// failure in a row up to MaxBackoff, the wait is drawn below it, and a
// Retry-After replaces the draw.
func TestBackoffFullJitter(t *testing.T) {
	var ceilings []time.Duration
	c := New(Config{MinBackoff: time.Second, MaxBackoff: 5 * time.Minute,
		Jitter: func(d time.Duration) time.Duration { ceilings = append(ceilings, d); return d / 2 }})
	for range 12 {
		c.backoff(0)
	}
	want := []time.Duration{1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300}
	for i, w := range want {
		if ceilings[i] != w*time.Second {
			t.Fatalf("failure %d: ceiling %v, want %v (all: %v)", i+1, ceilings[i], w*time.Second, ceilings)
		}
	}
	if got := c.backoff(42 * time.Second); got != 42*time.Second {
		t.Fatalf("Retry-After 42 s: waits %v", got)
	}
	if got := c.backoff(48 * time.Hour); got != MaxRetryAfter {
		t.Fatalf("Retry-After 48 h: waits %v, want at most %v", got, MaxRetryAfter)
	}
	for range 100 { // no overflow however long it fails
		if d := c.backoff(0); d < 0 || d > 5*time.Minute {
			t.Fatalf("wait %v", d)
		}
	}
	// The default draw is within [0, ceiling).
	d := New(Config{})
	for range 1000 {
		if w := d.c.Jitter(time.Second); w < 0 || w >= time.Second {
			t.Fatalf("jitter %v", w)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		v    string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"120", 2 * time.Minute},
		{"-5", 0},
		{"soon", 0},
		{"999999999", MaxRetryAfter},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
	} {
		if got := retryAfter(tc.v, now); got != tc.want {
			t.Errorf("Retry-After %q: %v, want %v", tc.v, got, tc.want)
		}
	}
}
