package gateway_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/passerelle/passerelle/gateway"
)

// TestConfigMetricsAndRetention: the sections' defaults and limits.
func TestConfigMetricsAndRetention(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		days       int
		listen     string
		bad        string // a field the error names, "" if valid
	}{
		{"defaults", "", gateway.DefaultCompactEventsAfterDays, "", ""},
		{"set", "metrics:\n  listen: 127.0.0.1:9420\nretention:\n  compact_events_after_days: 365\n", 365, "127.0.0.1:9420", ""},
		{"never", "retention:\n  compact_events_after_days: 0\n", 0, "", ""},
		{"negative", "retention:\n  compact_events_after_days: -1\n", 0, "", "retention.compact_events_after_days"},
		{"too long", "retention:\n  compact_events_after_days: 3661\n", 0, "", "retention.compact_events_after_days"},
		{"no port", "metrics:\n  listen: localhost\n", 0, "", "metrics.listen"},
		{"a typo", "metrics:\n  listem: :9420\n", 0, "", "listem"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "passerelle.yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := gateway.LoadConfig(path)
			if tc.bad != "" {
				if err == nil || !strings.Contains(err.Error(), tc.bad) {
					t.Fatalf("err = %v, want one about %s", err, tc.bad)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Retention.CompactEventsAfterDays != tc.days || cfg.Metrics.Listen != tc.listen {
				t.Errorf("retention %d, metrics.listen %q; want %d, %q", cfg.Retention.CompactEventsAfterDays, cfg.Metrics.Listen, tc.days, tc.listen)
			}
		})
	}
}
