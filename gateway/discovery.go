package gateway

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
)

// Discovery limits. Anyone on the LAN can announce terminals: what is kept
// of them is bounded.
const (
	MaxDiscovered       = 256                 // terminals kept; beyond, the longest unseen are forgotten
	DiscoveredRetention = 30 * 24 * time.Hour // a terminal not seen for this long is forgotten
	MaxDiscoveredAddrs  = 16
	// DiscoveryWriteEvery is how often a terminal that announces itself
	// again unchanged has its last_seen written.
	DiscoveryWriteEvery = 30 * time.Second
)

// DiscoveredTerminal is a terminal seen on the LAN through mDNS
// (_passerelle-tpe._tcp), paired or not.
type DiscoveredTerminal struct {
	Serial    string    `json:"serial"`
	Model     string    `json:"model"`
	Instance  string    `json:"instance"` // its mDNS service instance name
	Host      string    `json:"host"`     // its mDNS host name
	Port      int       `json:"port"`
	Addrs     []string  `json:"addrs"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`

	// Set by List: the paired terminal with this serial, if any (a revoked
	// one does not count), and whether it is connected now.
	Paired     bool   `json:"paired"`
	TerminalID string `json:"terminal_id,omitempty"`
	Name       string `json:"name,omitempty"`
	Online     bool   `json:"online"`
}

// DiscoveryStore is what Discovery needs from persistence.
type DiscoveryStore interface {
	// SaveDiscovered inserts or updates t by serial (keeping its first
	// FirstSeen), then forgets the terminals last seen before forgetBefore
	// and all but the keep most recently seen.
	SaveDiscovered(ctx context.Context, t DiscoveredTerminal, keep int, forgetBefore time.Time) error
	// Discovered returns the terminals kept, most recently seen first.
	Discovered(ctx context.Context) ([]DiscoveredTerminal, error)
	Terminals(ctx context.Context) ([]Terminal, error)
}

// Discovery keeps the terminals seen on the LAN and tells which are
// paired and connected: what `passerelle terminal list --discovered` and
// the admin page show.
type Discovery struct {
	store  DiscoveryStore
	online func(terminalID string) bool
	now    func() time.Time

	mu      sync.Mutex
	written map[string]sighting // by serial: what was last written, and when
}

type sighting struct {
	at  time.Time
	key string
}

// NewDiscovery returns the discovery service. online reports whether a
// paired terminal is connected; nil means it is not known (a command run
// beside the gateway), and every terminal is reported offline.
func NewDiscovery(store DiscoveryStore, online func(terminalID string) bool, now func() time.Time) *Discovery {
	if online == nil {
		online = func(string) bool { return false }
	}
	return &Discovery{store: store, online: online, now: now, written: map[string]sighting{}}
}

// Validate checks what a terminal announced before it is kept.
func (t DiscoveredTerminal) Validate() error {
	var fe fieldErrors
	if msg := CheckText(t.Serial, 1, MaxTerminalField); msg != "" {
		fe.add("serial", "%s", msg)
	}
	if msg := CheckText(t.Model, 0, MaxTerminalField); msg != "" {
		fe.add("model", "%s", msg)
	}
	if msg := CheckText(t.Instance, 0, 63); msg != "" {
		fe.add("instance", "%s", msg)
	}
	if t.Host != "" && !isHostName(t.Host) {
		fe.add("host", "is not a host name")
	}
	if t.Port < 0 || t.Port > 65535 {
		fe.add("port", "must be between 0 and 65535")
	}
	if len(t.Addrs) > MaxDiscoveredAddrs {
		fe.add("addrs", "at most %d", MaxDiscoveredAddrs)
	}
	for i, a := range t.Addrs {
		if _, err := netip.ParseAddr(a); err != nil {
			fe.add(fmt.Sprintf("addrs[%d]", i), "is not an IP address")
		}
	}
	return fe.err()
}

// Seen records that a terminal announced itself. A terminal that says the
// same again within DiscoveryWriteEvery costs no write.
func (d *Discovery) Seen(ctx context.Context, t DiscoveredTerminal) error {
	if err := t.Validate(); err != nil {
		return err
	}
	now := d.now()
	t.FirstSeen, t.LastSeen = now, now
	t.Paired, t.TerminalID, t.Name, t.Online = false, "", "", false
	key := strings.Join(append([]string{t.Model, t.Instance, t.Host, fmt.Sprint(t.Port)}, t.Addrs...), "\x00")
	d.mu.Lock()
	last, ok := d.written[t.Serial]
	d.mu.Unlock()
	if ok && last.key == key && now.Sub(last.at) < DiscoveryWriteEvery {
		return nil
	}
	if err := d.store.SaveDiscovered(ctx, t, MaxDiscovered, now.Add(-DiscoveredRetention)); err != nil {
		return err
	}
	d.mu.Lock()
	if len(d.written) >= 4*MaxDiscovered { // a LAN full of fake serials must not grow this without end
		clear(d.written)
	}
	d.written[t.Serial] = sighting{at: now, key: key}
	d.mu.Unlock()
	return nil
}

// List returns the terminals seen, most recently seen first, each with its
// paired terminal and whether that one is connected.
func (d *Discovery) List(ctx context.Context) ([]DiscoveredTerminal, error) {
	found, err := d.store.Discovered(ctx)
	if err != nil {
		return nil, err
	}
	paired, err := d.store.Terminals(ctx)
	if err != nil {
		return nil, err
	}
	bySerial := map[string]Terminal{}
	for _, t := range paired {
		if t.RevokedAt == nil && t.Serial != "" {
			bySerial[t.Serial] = t
		}
	}
	for i := range found {
		if t, ok := bySerial[found[i].Serial]; ok {
			found[i].Paired, found[i].TerminalID, found[i].Name = true, t.ID, t.Name
			found[i].Online = d.online(t.ID)
		}
	}
	slices.SortStableFunc(found, func(a, b DiscoveredTerminal) int { return b.LastSeen.Compare(a.LastSeen) })
	return found, nil
}

// MetaStore keeps facts about the gateway itself.
type MetaStore interface {
	// EnsureMeta stores value under key unless the key has one already,
	// and returns the value stored.
	EnsureMeta(ctx context.Context, key, value string) (string, error)
}

// GatewayID returns the gateway's id, made the first time: the id= of its
// mDNS announcement, by which a terminal recognises the gateway whatever
// its address.
func GatewayID(ctx context.Context, s MetaStore, now func() time.Time) (string, error) {
	id, err := s.EnsureMeta(ctx, "gateway_id", NewID("gw", now()))
	if err != nil {
		return "", fmt.Errorf("gateway id: %w", err)
	}
	return id, nil
}
