package terminalws

import (
	"bytes"
	"encoding/json"
	"errors"
	"sync"

	"github.com/gorilla/websocket"

	"github.com/passerelle/passerelle/gateway"
)

// menuCache remembers the JSON of the last menus' items. The engine shares
// one menu between the sessions that show it, the same slice for each, so
// at a change the items are encoded once rather than once per terminal:
// that was most of the cost of refreshing 200 terminals' lists.
type menuCache struct {
	mu      sync.Mutex
	entries [menuCacheSize]encodedMenu
	next    int
}

// menuCacheSize is how many menus are remembered: the lists terminals show
// at once (one per pick_ticket step of the scenarios, most of the time).
const menuCacheSize = 4

type encodedMenu struct {
	items []gateway.MenuItem
	json  []byte
}

// encode returns the JSON of items, from the cache if they are the very
// slice encoded before. Only identity is checked: a menu's items are
// never changed once shown.
func (c *menuCache) encode(items []gateway.MenuItem) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.entries {
		if len(e.items) == len(items) && &e.items[0] == &items[0] {
			return e.json, nil
		}
	}
	b, err := json.Marshal(items)
	if err != nil {
		return nil, err
	}
	c.entries[c.next] = encodedMenu{items: items, json: b}
	c.next = (c.next + 1) % menuCacheSize
	return b, nil
}

// writeMenu writes a menu screen: its JSON, the items from the cache.
func (c *menuCache) writeMenu(ws *websocket.Conn, sc gateway.Screen) error {
	parts, err := c.menuParts(sc)
	if err != nil {
		return err
	}
	w, err := ws.NextWriter(websocket.TextMessage)
	if err != nil {
		return err
	}
	for _, b := range parts {
		if _, err := w.Write(b); err != nil {
			w.Close()
			return err
		}
	}
	return w.Close()
}

// menuParts is a menu screen's JSON in pieces, in order: the screen's own
// fields around its items, which come encoded once from the cache for
// every terminal showing them.
func (c *menuCache) menuParts(sc gateway.Screen) ([][]byte, error) {
	if len(sc.Items) == 0 {
		head, err := json.Marshal(sc)
		return [][]byte{head}, err
	}
	items, err := c.encode(sc.Items)
	if err != nil {
		return nil, err
	}
	sc.Items = nil
	head, err := json.Marshal(sc)
	if err != nil {
		return nil, err
	}
	// A menu without items is written "items":[]. Those bytes can only be
	// that name and its value: in a JSON string a quote is escaped.
	i := bytes.Index(head, emptyItems)
	if i < 0 {
		return nil, errors.New("terminalws: a menu's JSON without its items")
	}
	return [][]byte{head[:i], []byte(`"items":`), items, head[i+len(emptyItems):]}, nil
}

var emptyItems = []byte(`"items":[]`)
