package terminalsim

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
)

// A cache decodes a message as a plain decode does, and the same items
// once.
func TestMenuCacheDecode(t *testing.T) {
	msgs := []string{
		`{"type":"screen","screen_id":"s1","kind":"menu","title":"Sélection du ticket","items":[{"id":"tkt_1","label":"TICKET 1 - T5 - 53,50"},{"id":"tkt_2","label":"TICKET 2 - 15,00"}]}`,
		`{"type":"screen","screen_id":"s2","kind":"ticket","title":"Table 5","lines":["1 X PLAT"],"total":5350,"due":5350,"choices":[{"id":"full","label":"Payer 53,50"}]}`,
		`{"type":"pay","payment_id":"pay_1","amount":1000,"currency":"EUR","ticket_ref":"1","label":"DÉBIT"}`,
		`{"type":"screen","screen_id":"s3","kind":"menu","title":"Table 5","items":[]}`,
	}
	c := &MenuCache{}
	for _, raw := range msgs {
		var want Message
		if err := json.Unmarshal([]byte(raw), &want); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			got, err := c.decode([]byte(raw))
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("decode %s:\n got %+v, %v\nwant %+v", raw, got, err, want)
			}
		}
	}
	a, _ := c.decode([]byte(msgs[0]))
	// As the gateway sends it: with a newline.
	b, _ := c.decode([]byte(`{"type":"screen","screen_id":"s9","kind":"menu","title":"Autre","items":[{"id":"tkt_1","label":"TICKET 1 - T5 - 53,50"},{"id":"tkt_2","label":"TICKET 2 - 15,00"}]}` + "\n"))
	if b.ScreenID != "s9" || b.Title != "Autre" {
		t.Errorf("the head of a menu decoded as %+v", b)
	}
	if &a.Items[0] != &b.Items[0] {
		t.Error("the same items were decoded twice")
	}
	if _, err := c.decode([]byte(`{"type":"screen","items":[{"id":1}]}`)); err == nil {
		t.Error("items of the wrong shape decoded without an error")
	}
}

// The cache keeps a few menus, never more.
func TestMenuCacheBounded(t *testing.T) {
	c := &MenuCache{}
	for i := range 100 {
		raw := fmt.Sprintf(`{"type":"screen","kind":"menu","items":[{"id":"tkt_%d","label":"TICKET %d"}]}`, i, i)
		if _, err := c.decode([]byte(raw)); err != nil {
			t.Fatal(err)
		}
		if n := len(c.menus); n > menuCacheSize {
			t.Fatalf("%d menus cached, at most %d", n, menuCacheSize)
		}
	}
}
