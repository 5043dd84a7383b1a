package terminalws

import (
	"encoding/json"
	"slices"
	"strconv"
	"sync"

	"github.com/gorilla/websocket"

	"github.com/passerelle/passerelle/gateway"
)

// SubprotocolV11 is version 1.1 of the terminal protocol: a v1 protocol in
// which a menu that follows a menu goes out as the changes to its items
// (list_delta), and the terminal may ask for the whole menu again
// (snapshot). docs/terminal-protocol.md, "Version 1.1", has the rules.
const SubprotocolV11 = "passerelle.v1.1"

// listDelta turns the menu a v1.1 terminal shows into the next one. It is
// encoded in two parts: its items' changes once for every connection
// (deltaCache), its screen_id and versions for each.
type listDelta struct {
	Type     string             `json:"type"` // "list_delta"
	ScreenID string             `json:"screen_id"`
	From     int64              `json:"from"`
	Version  int64              `json:"version"`
	More     *bool              `json:"more,omitempty"`
	Removed  []string           `json:"removed,omitempty"`
	Changed  []gateway.MenuItem `json:"changed,omitempty"`
	Added    []addedItem        `json:"added,omitempty"`
}

// addedItem is an item added after the item of ID After ("" for first).
type addedItem struct {
	After string `json:"after"`
	ID    string `json:"id"`
	Label string `json:"label"`
}

// snapshotMsg is a v1.1 terminal asking for the menu it should show.
type snapshotMsg struct {
	Type     string `json:"type"`
	ScreenID string `json:"screen_id"`
}

// pageMsg is a v1.1 terminal turning the page of the menu it shows.
type pageMsg struct {
	Type     string `json:"type"`
	ScreenID string `json:"screen_id"`
	Page     int    `json:"page"`
}

// snapshotReq tells the writer to send the menu shown whole again.
type snapshotReq struct{}

// menuGone tells the writer that the terminal no longer shows the menu
// it sent last (a cancel, which nothing answers): a delta queued behind
// it goes whole, and a snapshot asked finds no menu.
type menuGone struct{}

// lists is what the writer of a v1.1 connection knows of the menu the
// terminal shows: only the writer touches it.
type lists struct {
	version int64
	shown   *gateway.Screen // the last menu sent, nil after any other screen
}

// deltaFrame is a list_delta, encoded.
type deltaFrame []byte

// next returns what to send for m, as a v1.1 terminal reads it: a delta
// (deltaFrame), a menu to send whole with its version (whole), or m
// itself. It records the menu sent. cache, if not nil, shares the diffs
// between connections.
func (l *lists) next(m any, cache *deltaCache) (out any, whole bool) {
	sc, ok := m.(gateway.Screen)
	switch {
	case ok && sc.Kind == gateway.ScreenMenu:
	case ok:
		l.shown = nil
		return m, false
	default:
		switch m.(type) {
		case errorMsg, paymentMsg, gateway.PrintJob, welcomeMsg:
		default:
			l.shown = nil // the terminal shows something else
		}
		return m, false
	}
	prev := l.shown
	l.version++
	l.shown = &sc
	if prev == nil || prev.ScreenID != sc.ScreenID || !sameShape(*prev, sc) {
		// A new screen (a page turned, a step shown again) goes whole:
		// only a list refreshed in place goes as its changes.
		return sc, true
	}
	tail, ok := cache.get(prev.Items, sc.Items)
	if !ok {
		return sc, true
	}
	id, _ := json.Marshal(sc.ScreenID)
	f := make([]byte, 0, 64+len(tail))
	f = append(f, `{"type":"list_delta","screen_id":`...)
	f = append(f, id...)
	f = append(f, `,"from":`...)
	f = strconv.AppendInt(f, l.version-1, 10)
	f = append(f, `,"version":`...)
	f = strconv.AppendInt(f, l.version, 10)
	if prev.More != sc.More {
		f = append(f, `,"more":`...)
		f = strconv.AppendBool(f, sc.More)
	}
	return deltaFrame(append(f, tail...)), false
}

// deltaCache remembers the last diffs between menus. The engine shares one
// menu's items between the sessions that show it, the same slice for each:
// when a change refreshes a list, every terminal on it goes from the same
// slice to the same slice, and the diff is made and encoded once.
type deltaCache struct {
	mu      sync.Mutex
	entries [menuCacheSize]cachedDelta
	next    int
}

type cachedDelta struct {
	a, b []gateway.MenuItem
	ok   bool
	tail []byte // the delta's JSON after "version", closing brace included
}

// get returns the end of the list_delta from a to b, or false when b must
// go whole.
func (c *deltaCache) get(a, b []gateway.MenuItem) ([]byte, bool) {
	shared := c != nil && len(a) > 0 && len(b) > 0
	if shared {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, e := range c.entries {
			if len(e.a) == len(a) && len(e.b) == len(b) && &e.a[0] == &a[0] && &e.b[0] == &b[0] {
				return e.tail, e.ok
			}
		}
	}
	d, ok := diff(a, b)
	var tail []byte
	if ok {
		parts, err := json.Marshal(struct {
			Removed []string           `json:"removed,omitempty"`
			Changed []gateway.MenuItem `json:"changed,omitempty"`
			Added   []addedItem        `json:"added,omitempty"`
		}{d.Removed, d.Changed, d.Added})
		if err != nil {
			return nil, false
		}
		if len(parts) > 2 {
			tail = append([]byte{','}, parts[1:]...)
		} else {
			tail = []byte{'}'}
		}
	}
	if shared {
		c.entries[c.next] = cachedDelta{a: a, b: b, ok: ok, tail: tail}
		c.next = (c.next + 1) % menuCacheSize
	}
	return tail, ok
}

// sameShape reports whether b differs from a by its items, id and more
// only: what a delta can say.
func sameShape(a, b gateway.Screen) bool {
	return a.Title == b.Title && a.Page == b.Page && a.TimeoutS == b.TimeoutS && a.Input == b.Input &&
		slices.Equal(a.Lines, b.Lines) && slices.Equal(a.Choices, b.Choices) &&
		eqPtr(a.Total, b.Total) && eqPtr(a.Due, b.Due) && a.Min == b.Min && a.Max == b.Max
}

func eqPtr(a, b *int64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

// diff returns the delta from items a to b: removed, changed, then added.
// It gives up (false) when ids repeat or the items kept change order: the
// menu then goes out whole.
func diff(a, b []gateway.MenuItem) (listDelta, bool) {
	d := listDelta{Type: "list_delta"} // its screen_id and versions are each connection's
	inB := make(map[string]int, len(b))
	for i, it := range b {
		if _, dup := inB[it.ID]; dup {
			return d, false
		}
		inB[it.ID] = i
	}
	inA := make(map[string]gateway.MenuItem, len(a))
	last := -1
	for _, it := range a {
		if _, dup := inA[it.ID]; dup {
			return d, false
		}
		inA[it.ID] = it
		j, kept := inB[it.ID]
		if !kept {
			d.Removed = append(d.Removed, it.ID)
			continue
		}
		if j < last {
			return d, false
		}
		last = j
		if b[j].Label != it.Label {
			d.Changed = append(d.Changed, b[j])
		}
	}
	after := ""
	for _, it := range b {
		if _, was := inA[it.ID]; !was {
			d.Added = append(d.Added, addedItem{After: after, ID: it.ID, Label: it.Label})
		}
		after = it.ID
	}
	return d, true
}

// writeVersioned writes a menu whole, with its version: the v1 menu's JSON
// with "version" added first, so that the items stay last, where a fleet's
// decoder recognises a menu it has seen (terminalsim.MenuCache).
func (c *menuCache) writeVersioned(ws *websocket.Conn, sc gateway.Screen, version int64) error {
	parts, err := c.menuParts(sc)
	if err != nil {
		return err
	}
	out := append([]byte(`{"version":`), strconv.AppendInt(nil, version, 10)...)
	out = append(out, ',')
	out = append(out, parts[0][1:]...)
	for _, b := range parts[1:] {
		out = append(out, b...)
	}
	return ws.WriteMessage(websocket.TextMessage, out)
}
