package terminalws

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/passerelle/passerelle/drivers/terminalsim"
	"github.com/passerelle/passerelle/gateway"
)

// menuOf makes a menu from bytes: each byte an item, its id from a small
// alphabet (so that lists share ids, and sometimes repeat one), its label
// from the byte.
func menuOf(b []byte) gateway.Screen {
	its := []gateway.MenuItem{}
	for _, c := range b {
		its = append(its, gateway.MenuItem{ID: string(rune('a' + c%12)), Label: string(rune('A' + c/12%4))})
	}
	return gateway.Screen{Type: "screen", Kind: gateway.ScreenMenu, Title: "Sélection", Items: its}
}

// FuzzListDelta: what the writer sends a v1.1 terminal for a menu that
// follows a menu, encoded, decoded and applied as the simulator does,
// gives the new menu; or the writer sends it whole.
func FuzzListDelta(f *testing.F) {
	f.Add([]byte("abc"), []byte("abdc"), true, 0)
	f.Add([]byte("abc"), []byte("cba"), false, 0)
	f.Add([]byte("aab"), []byte("ab"), true, 0)
	f.Add([]byte(""), []byte("xyz"), false, 0)
	f.Add([]byte("xyz"), []byte(""), true, 0)
	f.Add([]byte("abc"), []byte("abc"), true, 0)
	f.Add([]byte("abc"), []byte("abd"), true, 5)
	f.Add([]byte("abc"), []byte("ab"), false, 6)
	var shared deltaCache
	// paged: bit 0, the menus are a page (page 1); bit 1, the first has
	// more; bit 2, the second has.
	f.Fuzz(func(t *testing.T, a, b []byte, share bool, paged int) {
		cache := &shared
		if !share {
			cache = nil
		}
		var l lists
		ma, mb := menuOf(a), menuOf(b)
		ma.ScreenID, mb.ScreenID = "s1", "s2"
		if paged&1 != 0 {
			ma.Page, mb.Page = 1, 1
			ma.More, mb.More = paged&2 != 0, paged&4 != 0
		}
		out, whole := l.next(ma, cache)
		if !whole || l.version != 1 {
			t.Fatalf("the first menu went out as %T (whole %v, version %d)", out, whole, l.version)
		}
		shown := terminalsim.Message{Type: "screen", ScreenID: "s1", Kind: gateway.ScreenMenu, Title: ma.Title,
			Items: ma.Items, Version: 1, Page: ma.Page, More: &ma.More}
		out, whole = l.next(mb, cache)
		if l.version != 2 {
			t.Fatalf("version %d after two menus", l.version)
		}
		if whole {
			return
		}
		data, ok := out.(deltaFrame)
		if !ok {
			t.Fatalf("a menu after a menu went out as %T", out)
		}
		var d terminalsim.Message
		if err := json.Unmarshal(data, &d); err != nil {
			t.Fatal(err)
		}
		got, err := terminalsim.ApplyDelta(&shown, d)
		if err != nil {
			t.Fatalf("%s on %v: %v", data, ma.Items, err)
		}
		if got.More == nil || *got.More != mb.More {
			t.Fatalf("%s: more %v, want %v", data, got.More, mb.More)
		}
		if !slices.Equal(got.Items, mb.Items) || got.ScreenID != "s2" || got.Version != 2 {
			t.Fatalf("%s on %v gives %v (%s v%d), want %v", data, ma.Items, got.Items, got.ScreenID, got.Version, mb.Items)
		}
	})
}

// TestListsReset: a screen other than a menu, or a pay, between two menus
// sends the second whole; an ack or an error does not.
func TestListsReset(t *testing.T) {
	a, b := menuOf([]byte("ab")), menuOf([]byte("abc"))
	for _, tc := range []struct {
		between any
		whole   bool
	}{
		{gateway.Screen{Kind: gateway.ScreenMessage, Title: "x"}, true},
		{gateway.PayRequest{Type: "pay"}, true},
		{gateway.Done{Type: "done"}, true},
		{paymentMsg{Type: "ack"}, false},
		{errorMsg{Type: "error"}, false},
	} {
		var l lists
		l.next(a, nil)
		l.next(tc.between, nil)
		if _, whole := l.next(b, nil); whole != tc.whole {
			t.Errorf("after %T: whole %v, want %v", tc.between, whole, tc.whole)
		}
	}
}
