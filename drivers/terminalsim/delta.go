package terminalsim

import (
	"errors"
	"fmt"
	"slices"

	"github.com/passerelle/passerelle/gateway"
)

// SubprotocolV11 is version 1.1 of the terminal protocol: a menu that
// follows a menu may come as a list_delta, the changes to its items, and
// the terminal asks for a snapshot when it cannot apply one. A terminal
// offers it before v1 unless Options.V1Only says not to.
const SubprotocolV11 = "passerelle.v1.1"

// AddedItem is an item a list_delta adds after the item of ID After, or
// first when After is "".
type AddedItem struct {
	After string `json:"after"`
	ID    string `json:"id"`
	Label string `json:"label"`
}

// ErrGap is a list_delta that does not follow the menu shown: the
// terminal asks for a snapshot.
var ErrGap = errors.New("terminalsim: the delta does not follow the menu shown")

// ApplyDelta returns the menu that delta d makes of shown, the menu the
// terminal shows (nil for none): a screen message, as if the gateway had
// sent it whole. It fails, changing nothing, when d does not follow shown
// (ErrGap) or does not apply to its items.
func ApplyDelta(shown *Message, d Message) (Message, error) {
	if shown == nil || shown.Type != "screen" || shown.Kind != gateway.ScreenMenu || shown.Version == 0 ||
		shown.Version != d.From || d.Version != d.From+1 {
		return Message{}, ErrGap
	}
	items := slices.Clone(shown.Items)
	index := func(id string) int {
		return slices.IndexFunc(items, func(it gateway.MenuItem) bool { return it.ID == id })
	}
	for _, id := range d.Removed {
		i := index(id)
		if i < 0 {
			return Message{}, fmt.Errorf("terminalsim: list_delta removes %q, which is not shown", id)
		}
		items = slices.Delete(items, i, i+1)
	}
	for _, it := range d.Changed {
		i := index(it.ID)
		if i < 0 {
			return Message{}, fmt.Errorf("terminalsim: list_delta changes %q, which is not shown", it.ID)
		}
		items[i] = it
	}
	for _, a := range d.Added {
		if index(a.ID) >= 0 {
			return Message{}, fmt.Errorf("terminalsim: list_delta adds %q, which is shown", a.ID)
		}
		at := 0
		if a.After != "" {
			i := index(a.After)
			if i < 0 {
				return Message{}, fmt.Errorf("terminalsim: list_delta adds after %q, which is not shown", a.After)
			}
			at = i + 1
		}
		items = slices.Insert(items, at, gateway.MenuItem{ID: a.ID, Label: a.Label})
	}
	m := *shown
	m.ScreenID, m.Version, m.Items = d.ScreenID, d.Version, items
	if d.More != nil {
		m.More = d.More
	}
	return m, nil
}

// snapshotMsg asks the gateway for the menu whole.
type snapshotMsg struct {
	Type     string `json:"type"`
	ScreenID string `json:"screen_id,omitempty"`
}
