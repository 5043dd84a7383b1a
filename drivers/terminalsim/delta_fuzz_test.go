package terminalsim

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/passerelle/passerelle/gateway"
)

// FuzzApplyDelta decodes a gateway frame as the terminal does and applies
// it to a menu: it never panics, a delta refused changes nothing, and one
// applied gives a menu of the delta's version whose ids are unique.
func FuzzApplyDelta(f *testing.F) {
	for _, s := range []string{
		`{"type":"list_delta","screen_id":"s3","from":1,"version":2,"added":[{"after":"b","id":"c","label":"C"}]}`,
		`{"type":"list_delta","screen_id":"s3","from":1,"version":2,"removed":["a"],"changed":[{"id":"b","label":"B2"}]}`,
		`{"type":"list_delta","screen_id":"s3","from":1,"version":2,"added":[{"after":"","id":"z","label":"Z"},{"after":"z","id":"y","label":"Y"}]}`,
		`{"type":"list_delta","screen_id":"s3","from":2,"version":3}`,
		`{"type":"list_delta","screen_id":"s3","from":1,"version":2,"removed":["a","a"]}`,
		`{"type":"list_delta","screen_id":"s3","from":1,"version":2,"added":[{"after":"x","id":"a","label":"A"}]}`,
		`{"version":1,"type":"screen","screen_id":"s2","kind":"menu","title":"T","items":[]}`,
	} {
		f.Add([]byte(s))
	}
	var cache MenuCache
	f.Fuzz(func(t *testing.T, data []byte) {
		shown := &Message{Type: "screen", ScreenID: "s2", Kind: gateway.ScreenMenu, Title: "T", Version: 1,
			Items: []gateway.MenuItem{{ID: "a", Label: "A"}, {ID: "b", Label: "B"}}}
		before := slices.Clone(shown.Items)
		for _, c := range []*MenuCache{nil, &cache} {
			m, err := c.decode(data)
			if err != nil || m.Type != "list_delta" {
				continue
			}
			got, err := ApplyDelta(shown, m)
			if !slices.Equal(shown.Items, before) {
				t.Fatalf("the menu shown was changed: %v", shown.Items)
			}
			if err != nil {
				if errors.Is(err, ErrGap) && m.From == 1 && m.Version == 2 {
					t.Fatalf("a delta from the version shown taken for a gap")
				}
				continue
			}
			if got.Version != m.Version || got.ScreenID != m.ScreenID || got.Kind != gateway.ScreenMenu {
				t.Fatalf("applied %s: %+v", data, got)
			}
			seen := map[string]bool{}
			for _, it := range got.Items {
				if seen[it.ID] {
					t.Fatalf("applied %s: id %q twice in %v", data, it.ID, got.Items)
				}
				seen[it.ID] = true
			}
			if _, err := json.Marshal(got); err != nil {
				t.Fatal(err)
			}
		}
	})
}
