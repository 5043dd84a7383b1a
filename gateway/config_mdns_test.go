package gateway_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/passerelle/passerelle/gateway"
)

func TestMDNSConfig(t *testing.T) {
	if c := gateway.DefaultConfig(); !c.MDNS.Enabled || c.MDNS.HostName != "" || len(c.MDNS.Interfaces) != 0 {
		t.Fatalf("default mdns %+v: on, every interface, the box's name", c.MDNS)
	}
	load := func(yaml string) (gateway.Config, error) {
		t.Helper()
		p := filepath.Join(t.TempDir(), gateway.ConfigFile)
		if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		return gateway.LoadConfig(p)
	}
	c, err := load("mdns:\n  enabled: false\n  interfaces: [eth0, \"Ethernet 2\"]\n  host_name: caisse-1.local\n")
	if err != nil || c.MDNS.Enabled || !slices.Equal(c.MDNS.Interfaces, []string{"eth0", "Ethernet 2"}) || c.MDNS.HostName != "caisse-1.local" {
		t.Fatalf("%+v, %v", c.MDNS, err)
	}
	for yaml, field := range map[string]string{
		"mdns:\n  host_name: a.b\n":                             "mdns.host_name",
		"mdns:\n  host_name: -x\n":                              "mdns.host_name",
		"mdns:\n  host_name: mon caisse\n":                      "mdns.host_name",
		"mdns:\n  interfaces: [\"\"]\n":                         "mdns.interfaces[0]",
		"mdns:\n  interface: eth0\n":                            "interface",
		"mdns:\n  host_name: " + strings.Repeat("a", 64) + "\n": "mdns.host_name",
	} {
		if _, err := load(yaml); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%q: %v, want an error about %s", yaml, err, field)
		}
	}
}
