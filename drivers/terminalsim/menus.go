package terminalsim

import (
	"bytes"
	"encoding/json"
	"sync"

	"github.com/passerelle/passerelle/gateway"
)

// MenuCache decodes the items of menu screens once for the terminals of a
// fleet. While a till posts and terminals pay, every terminal on a list is
// sent the same items at each change: decoding them once per fleet rather
// than once per terminal keeps a fleet of hundreds, which shares the
// gateway's machine, from taking most of its CPU. Items it returns are
// shared: read-only.
type MenuCache struct {
	mu    sync.Mutex
	menus []cachedMenu // newest last
}

// cachedMenu is a menu's items and how a message that carries them ends:
// the gateway writes the items last.
type cachedMenu struct {
	tail  []byte // `,"items":[...]}`
	items []gateway.MenuItem
}

// menuCacheSize bounds the menus remembered: the few lists terminals show
// at once.
const menuCacheSize = 8

// decode decodes one message from the gateway. A nil cache decodes the
// whole message.
func (c *MenuCache) decode(data []byte) (Message, error) {
	var m Message
	if c == nil {
		err := json.Unmarshal(data, &m)
		return m, err
	}
	// The gateway's encoder ends each message with a newline.
	data = bytes.TrimRight(data, " \t\r\n")
	if items, n, ok := c.lookup(data); ok {
		// The rest of the message, closed where the items began.
		head := append(data[:n:n], '}')
		err := json.Unmarshal(head, &m)
		m.Items = items
		return m, err
	}
	var w struct {
		Message
		Items json.RawMessage `json:"items,omitempty"` // shadows Message.Items
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return m, err
	}
	m = w.Message
	if len(w.Items) == 0 {
		return m, nil
	}
	if err := json.Unmarshal(w.Items, &m.Items); err != nil {
		return m, err
	}
	c.remember(data, w.Items, m.Items)
	return m, nil
}

// lookup finds a menu whose tail ends data, and where that tail begins.
func (c *MenuCache) lookup(data []byte) ([]gateway.MenuItem, int, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := len(c.menus) - 1; i >= 0; i-- {
		if t := c.menus[i].tail; bytes.HasSuffix(data, t) {
			return c.menus[i].items, len(data) - len(t), true
		}
	}
	return nil, 0, false
}

// remember keeps items if the message ends with them, as the gateway
// writes a menu.
func (c *MenuCache) remember(data, raw []byte, items []gateway.MenuItem) {
	tail := append(append([]byte(`,"items":`), raw...), '}')
	if !bytes.HasSuffix(data, tail) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.menus) == menuCacheSize {
		c.menus = append(c.menus[:0], c.menus[1:]...)
	}
	c.menus = append(c.menus, cachedMenu{tail: tail, items: items})
}
