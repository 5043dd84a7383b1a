package gateway

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// ConfigFile is the configuration file's name in the data directory.
const ConfigFile = "passerelle.yaml"

// Config is the gateway's configuration: embedded defaults, then the file in
// the data directory, then environment and flags (applied by the caller).
type Config struct {
	Listen       string           `yaml:"listen"`
	TLS          bool             `yaml:"tls"`
	AllowedHosts []string         `yaml:"allowed_hosts"` // host names the box answers to, besides IPs and localhost
	Shop         Shop             `yaml:"shop"`
	MDNS         MDNS             `yaml:"mdns"`
	Upstream     Upstream         `yaml:"upstream"`
	Metrics      Metrics          `yaml:"metrics"`
	Retention    Retention        `yaml:"retention"`
	Capture      []CapturePrinter `yaml:"capture"` // print capture (docs/capture.md)
}

// Retention is what the gateway keeps (docs/operations.md). Tickets and
// payments are kept for good; an event loses its copy of the ticket once
// it is older than CompactEventsAfterDays and every till's webhook and the
// upstream hub have it.
type Retention struct {
	CompactEventsAfterDays int `yaml:"compact_events_after_days"` // 0: never compact
}

// DefaultCompactEventsAfterDays leaves a till a month to resume its stream.
const DefaultCompactEventsAfterDays = 30

// MaxCompactEventsAfterDays is ten years, past any need.
const MaxCompactEventsAfterDays = 3660

// Metrics configures GET /metrics (docs/operations.md). The main listener
// serves it to an admin till key; Listen adds a listener of its own that
// serves it without a key, for a Prometheus on a trusted network.
type Metrics struct {
	Listen string `yaml:"listen"` // "" for none, else host:port
}

// MDNS is how the gateway announces itself to the terminals and finds them
// (docs/discovery.md). It is on by default; a gateway that listens on
// loopback only never announces itself, whatever this says.
type MDNS struct {
	Enabled bool `yaml:"enabled"`
	// Interfaces limits mDNS to these network interfaces, by name (eth0,
	// "Ethernet 2"); empty means every interface that is up, not loopback
	// and multicast-capable.
	Interfaces []string `yaml:"interfaces"`
	// HostName is the name the gateway's addresses are announced under,
	// without .local; empty means the box's host name.
	HostName string `yaml:"host_name"`
}

// Shop describes the shop: its receipts' header, money and time.
type Shop struct {
	Name     string  `yaml:"name"`
	Address  string  `yaml:"address"`
	Phone    string  `yaml:"phone"`
	TimeZone string  `yaml:"time_zone"`
	Currency string  `yaml:"currency"`
	VATRates []int64 `yaml:"vat_rates"` // basis points: 550, 1000, 2000
}

// DefaultConfig is what a gateway runs with when nothing is configured.
func DefaultConfig() Config {
	return Config{
		Listen:    ":8420",
		TLS:       true,
		MDNS:      MDNS{Enabled: true},
		Retention: Retention{CompactEventsAfterDays: DefaultCompactEventsAfterDays},
		Shop: Shop{
			Name:     "Mon Restaurant",
			TimeZone: "Europe/Paris",
			Currency: DefaultCurrency,
			VATRates: []int64{0, 210, 550, 1000, 2000},
		},
	}
}

// LoadConfig reads path over the defaults. A missing file is not an error.
// Unknown keys are: a typo must not be silently ignored.
func LoadConfig(path string) (Config, error) {
	c := DefaultConfig()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return c, c.Validate()
	}
	if err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Validate checks the configuration.
func (c Config) Validate() error {
	var fe fieldErrors
	if c.Listen == "" {
		fe.add("listen", "is required")
	}
	if msg := CheckText(c.Shop.Name, 1, MaxNameLen); msg != "" {
		fe.add("shop.name", "%s", msg)
	}
	if _, err := time.LoadLocation(c.Shop.TimeZone); err != nil {
		fe.add("shop.time_zone", "unknown time zone %q", c.Shop.TimeZone)
	}
	if len(c.Shop.Currency) != 3 {
		fe.add("shop.currency", "must be an ISO 4217 code such as EUR")
	}
	if l := c.Metrics.Listen; l != "" {
		if _, _, err := net.SplitHostPort(l); err != nil {
			fe.add("metrics.listen", "must be host:port, such as 127.0.0.1:9420 (or empty for none)")
		}
	}
	if d := c.Retention.CompactEventsAfterDays; d < 0 || d > MaxCompactEventsAfterDays {
		fe.add("retention.compact_events_after_days", "must be between 0 (never) and %d", MaxCompactEventsAfterDays)
	}
	if len(c.Shop.VATRates) == 0 {
		fe.add("shop.vat_rates", "at least one rate is required")
	}
	for i, r := range c.Shop.VATRates {
		if r < 0 || r > 10000 {
			fe.add(fmt.Sprintf("shop.vat_rates[%d]", i), "must be between 0 and 10000 basis points")
		}
	}
	for i, n := range c.MDNS.Interfaces {
		if msg := CheckText(n, 1, MaxNameLen); msg != "" {
			fe.add(fmt.Sprintf("mdns.interfaces[%d]", i), "an interface's name %s", msg)
		}
	}
	c.Upstream.validate(&fe)
	validateCapture(&fe, c.Capture)
	if h := c.MDNS.HostName; h != "" && !IsHostLabel(strings.TrimSuffix(strings.TrimSuffix(h, "."), ".local")) {
		fe.add("mdns.host_name", "must be a host name: letters, digits and hyphens, at most 63, without dots")
	}
	return fe.err()
}

// IsHostLabel reports whether s is one DNS label as host names use them:
// 1 to 63 letters, digits and hyphens, not starting or ending with a
// hyphen.
func IsHostLabel(s string) bool {
	return s != "" && !strings.Contains(s, ".") && isHostName(s)
}

// Rules returns the ticket rules this configuration sets.
func (c Config) Rules() Rules {
	return Rules{Currency: c.Shop.Currency, VATRates: c.Shop.VATRates}
}

// Location is the shop's time zone (UTC if it cannot be loaded).
func (c Config) Location() *time.Location {
	loc, err := time.LoadLocation(c.Shop.TimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}
