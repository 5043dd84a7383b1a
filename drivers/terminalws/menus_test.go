package terminalws

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/passerelle/passerelle/gateway"
)

// A menu written from the cache is the screen json.Marshal writes, items
// and all; the items of one slice are encoded once.
func TestMenuCacheWrite(t *testing.T) {
	items := []gateway.MenuItem{{ID: "tkt_1", Label: `TICKET 1 - T5 - 53,50`}, {ID: "tkt_2", Label: `TICKET "2" <b> é`}}
	total := int64(5350)
	screens := []gateway.Screen{
		{Type: "screen", ScreenID: "s1", Kind: gateway.ScreenMenu, Title: "Sélection du ticket", Items: items},
		{Type: "screen", ScreenID: "s2", Kind: gateway.ScreenMenu, Title: "Table 5", Items: items, Total: &total},
		{Type: "screen", ScreenID: "s3", Kind: gateway.ScreenMenu, Title: "Autre", Items: append([]gateway.MenuItem(nil), items[:1]...)},
	}
	var cache menuCache
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		for _, sc := range screens {
			if err := cache.writeMenu(ws, sc); err != nil {
				t.Error(err)
				return
			}
		}
		ws.ReadMessage() // until the client closes
	}))
	defer srv.Close()
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	for _, sc := range screens {
		_, data, err := ws.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(sc)
		var a, b map[string]any
		if err := json.Unmarshal(data, &a); err != nil {
			t.Fatalf("%s: %v", data, err)
		}
		json.Unmarshal(want, &b)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("wrote %s\nwant  %s", data, want)
		}
	}
	first, _ := cache.encode(items)
	again, _ := cache.encode(items)
	if &first[0] != &again[0] {
		t.Error("the same items were encoded twice")
	}
	same := append([]gateway.MenuItem(nil), items...)
	same[0].Label = "TICKET 1 - T5 - 0,00"
	if other, _ := cache.encode(same); string(other) == string(first) {
		t.Error("another slice was taken for the cached one")
	}
}
