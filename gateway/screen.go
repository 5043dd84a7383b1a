package gateway

import "encoding/json"

// What a scenario sends to its terminal. The JSON shapes are those of the
// terminal protocol; the driver sends them as they are.

// Message is one message to a terminal.
type Message interface{ MessageType() string }

// MenuItem is an entry of a menu or a choice of a ticket screen.
type MenuItem struct {
	ID    string `json:"id"`
	Label string `json:"label"`
}

// Screen kinds.
const (
	ScreenMenu    = "menu"
	ScreenInput   = "input"
	ScreenTicket  = "ticket"
	ScreenMessage = "message"
)

// Screen is one screen for the terminal to show; it answers with the
// screen's ID. A field a kind does not use is left out of its JSON; a
// field it uses is always there, even empty or zero (see MarshalJSON).
type Screen struct {
	Type     string `json:"type"`
	ScreenID string `json:"screen_id"`
	Kind     string `json:"kind"`
	Title    string `json:"title"`
	// Page and More page a menu for a terminal that shows a few rows
	// (protocol v1.1): the page shown, from 1, and whether a page follows.
	// They come before the items, which a menu's JSON ends with.
	Page     int        `json:"page,omitempty"`
	More     bool       `json:"more,omitempty"`
	Items    []MenuItem `json:"items,omitempty"`
	Input    string     `json:"input,omitempty"`
	Min      int        `json:"min,omitempty"`
	Max      int        `json:"max,omitempty"`
	Lines    []string   `json:"lines,omitempty"`
	Total    *int64     `json:"total,omitempty"`
	Due      *int64     `json:"due,omitempty"`
	Choices  []MenuItem `json:"choices,omitempty"`
	TimeoutS int        `json:"timeout_s,omitempty"`
}

// MessageType implements Message.
func (Screen) MessageType() string { return "screen" }

// screenJSON is a Screen as sent. Its fields below the embedded one shadow
// theirs, for the kinds that always carry them.
type screenJSON struct {
	plainScreen
	Items    *[]MenuItem `json:"items,omitempty"`
	TimeoutS *int        `json:"timeout_s,omitempty"`
}

type plainScreen Screen // without MarshalJSON

// MarshalJSON writes a menu with its items, "items":[] when it has none
// (a list emptied by a change is still the list, and a ticket posted next
// shows on it), and a message screen with its timeout_s, 0 included: 0
// waits for a key, which a missing field would not say.
func (s Screen) MarshalJSON() ([]byte, error) {
	w := screenJSON{plainScreen: plainScreen(s)}
	switch s.Kind {
	case ScreenMenu:
		items := s.Items
		if items == nil {
			items = []MenuItem{}
		}
		w.Items = &items
	case ScreenMessage:
		w.TimeoutS = &s.TimeoutS
	}
	return json.Marshal(w)
}

// PayRequest asks the terminal to run a card payment.
type PayRequest struct {
	Type      string `json:"type"`
	PaymentID string `json:"payment_id"`
	Amount    int64  `json:"amount"`
	Tip       int64  `json:"tip,omitempty"`
	Currency  string `json:"currency"`
	TicketRef string `json:"ticket_ref"`
	Label     string `json:"label"`
}

// MessageType implements Message.
func (PayRequest) MessageType() string { return "pay" }

// PrintJob asks the terminal to print lines already laid out for its printer.
type PrintJob struct {
	Type  string   `json:"type"`
	JobID string   `json:"job_id"`
	Lines []string `json:"lines"`
	Cut   bool     `json:"cut"`
}

// MessageType implements Message.
func (PrintJob) MessageType() string { return "print" }

// Done ends the scenario: the terminal shows Title (and Lines under it,
// as on a message screen) for TimeoutS seconds, 0 until a key is pressed,
// then returns to idle. It is not answered.
type Done struct {
	Type     string   `json:"type"`
	ScreenID string   `json:"screen_id"`
	Title    string   `json:"title"`
	Lines    []string `json:"lines,omitempty"`
	TimeoutS int      `json:"timeout_s"`
}

// MessageType implements Message.
func (Done) MessageType() string { return "done" }
