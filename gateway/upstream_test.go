package gateway_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/passerelle/passerelle/gateway"
)

func TestCheckUpstreamURL(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"https://hub.example.com", true},
		{"https://hub.example.com:8421/base", true},
		{"http://127.0.0.1:8421", true},
		{"http://localhost:8421", true},
		{"http://[::1]:8421", true},
		{"http://hub.example.com", false}, // a key in clear over the internet
		{"http://192.168.1.10:8421", false},
		{"ftp://hub.example.com", false},
		{"https://user:pw@hub.example.com", false},
		{"https://hub.example.com/?x=1", false},
		{"hub.example.com", false},
		{"", false},
		{"https://" + strings.Repeat("a", gateway.MaxUpstreamURL), false},
	} {
		if msg := gateway.CheckUpstreamURL(tc.url); (msg == "") != tc.ok {
			t.Errorf("%q: %q, want ok=%v", tc.url, msg, tc.ok)
		}
	}
}

func TestConfigUpstreamSection(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		on         bool
		bad        string // a field the error names, "" if valid
	}{
		{"none", "", false, ""},
		{"on", "upstream:\n  url: https://hub.example.com\n  store_id: sto_1\n  key_file: upstream.key\n", true, ""},
		{"off", "upstream:\n  enabled: false\n  url: https://hub.example.com\n  store_id: sto_1\n  key: phs_X\n", false, ""},
		{"no key", "upstream:\n  url: https://hub.example.com\n  store_id: sto_1\n", false, "upstream.key"},
		{"two keys", "upstream:\n  url: https://hub.example.com\n  store_id: sto_1\n  key: a\n  key_file: b\n", false, "upstream.key"},
		{"no store", "upstream:\n  url: https://hub.example.com\n  key: a\n", false, "upstream.store_id"},
		{"http", "upstream:\n  url: http://hub.example.com\n  store_id: s\n  key: a\n", false, "upstream.url"},
		{"two pins", "upstream:\n  url: https://h.example\n  store_id: s\n  key: a\n  ca_file: x\n  ca_fingerprint: y\n", false, "upstream.ca_file"},
		{"a typo", "upstream:\n  urll: https://h.example\n", false, "urll"},
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
			if cfg.Upstream.On() != tc.on {
				t.Fatalf("On() = %v", cfg.Upstream.On())
			}
		})
	}
}
