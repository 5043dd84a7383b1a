package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// Event types, as the till API names them.
const (
	EventTicketCreated    = "ticket.created"
	EventTicketUpdated    = "ticket.updated"
	EventTicketCancelled  = "ticket.cancelled"
	EventTicketPaid       = "ticket.paid"
	EventPaymentStarted   = "payment.started"
	EventPaymentApproved  = "payment.approved"
	EventPaymentDeclined  = "payment.declined"
	EventPaymentCancelled = "payment.cancelled"
	EventPaymentUnknown   = "payment.unknown"
	EventPaymentError     = "payment.error"
	EventPaymentResolved  = "payment.resolved"

	// Terminal events are for upstream sync and the terminal connections,
	// not for tills: they carry no ticket.
	EventTerminalPaired  = "terminal.paired"
	EventTerminalRevoked = "terminal.revoked"
)

// ForTills reports whether tills receive events of this type.
func ForTills(typ string) bool {
	return typ != EventTerminalPaired && typ != EventTerminalRevoked
}

// Event is one entry of the append-only event log. Seq is gapless and
// gateway-wide; it is assigned by the store inside the transaction that makes
// the change the event tells of.
type Event struct {
	Seq       int64
	Type      string
	At        time.Time
	TillID    string
	TicketID  string
	TicketRef string
	PaymentID string
	Data      json.RawMessage // the payload sent to tills, verbatim
}

// eventPayload is the JSON tills receive (SSE data and webhook body).
type eventPayload struct {
	Type      string  `json:"type"`
	TicketID  string  `json:"ticket_id"`
	TicketRef string  `json:"ticket_ref"`
	PaymentID string  `json:"payment_id,omitempty"`
	At        string  `json:"at"`
	Ticket    *Ticket `json:"ticket"`
}

// NewTicketEvent builds the event of type typ about t (and payment, if any).
func NewTicketEvent(typ string, t *Ticket, paymentID string, at time.Time) (Event, error) {
	data, err := json.Marshal(eventPayload{Type: typ, TicketID: t.ID, TicketRef: t.Ref,
		PaymentID: paymentID, At: at.UTC().Format(time.RFC3339Nano), Ticket: t})
	if err != nil {
		return Event{}, fmt.Errorf("gateway: encode event: %w", err)
	}
	return Event{Type: typ, At: at, TillID: t.TillID, TicketID: t.ID, TicketRef: t.Ref,
		PaymentID: paymentID, Data: data}, nil
}

type terminalEventPayload struct {
	Type       string `json:"type"`
	TerminalID string `json:"terminal_id"`
	Name       string `json:"name"`
	Serial     string `json:"serial"`
	At         string `json:"at"`
}

func appendTerminalEvent(ctx context.Context, tx Tx, typ string, t *Terminal, at time.Time) error {
	data, err := json.Marshal(terminalEventPayload{Type: typ, TerminalID: t.ID, Name: t.Name,
		Serial: t.Serial, At: at.UTC().Format(time.RFC3339Nano)})
	if err != nil {
		return fmt.Errorf("gateway: encode event: %w", err)
	}
	return tx.AppendEvent(ctx, &Event{Type: typ, At: at, Data: data})
}

// EventBus keeps the most recent committed events in memory and wakes
// whoever waits for new ones. It is fed by the store, in seq order, right
// after each commit; readers that fall behind its window read the store.
type EventBus struct {
	mu     sync.Mutex
	ring   []Event // ring[0] has the lowest seq kept
	max    int
	last   int64         // highest seq published
	notify chan struct{} // closed and replaced at each publish
}

// NewEventBus returns a bus that keeps at least the last window events
// (and at most twice as many).
func NewEventBus(window int) *EventBus {
	return &EventBus{max: window, notify: make(chan struct{})}
}

// Publish appends committed events, which must come in seq order. A gap
// (events written by another process, such as a CLI command) empties the
// window so that readers fetch the missing ones from the store.
func (b *EventBus) Publish(evs []Event) {
	if len(evs) == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if evs[0].Seq != b.last+1 {
		b.ring = b.ring[:0]
	}
	b.ring = append(b.ring, evs...)
	// Trimmed only when twice the window: copying the window down on every
	// publish would cost O(window) per commit.
	if over := len(b.ring) - b.max; over > b.max {
		b.ring = append(b.ring[:0:0], b.ring[over:]...)
	}
	b.last = evs[len(evs)-1].Seq
	close(b.notify)
	b.notify = make(chan struct{})
}

// Start sets the highest seq already in the store, before any Publish.
func (b *EventBus) Start(last int64) {
	b.mu.Lock()
	b.last = last
	b.mu.Unlock()
}

// Since returns the events after seq that the window holds, whether the
// window covers seq+1 (if not, the caller must read the store), and a
// channel closed when more events are published.
func (b *EventBus) Since(after int64) (evs []Event, covered bool, wait <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	wait = b.notify
	if after >= b.last {
		return nil, true, wait
	}
	if len(b.ring) == 0 || b.ring[0].Seq > after+1 {
		return nil, false, wait
	}
	i := int(after + 1 - b.ring[0].Seq)
	return append([]Event(nil), b.ring[i:]...), true, wait
}

// Last returns the highest published seq.
func (b *EventBus) Last() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.last
}

// EventLog reads the event log for whoever follows it: the SSE stream, the
// webhooks, upstream sync. Recent events come from the bus's memory, older
// ones from the store.
type EventLog struct {
	store Store
	bus   *EventBus
}

// NewEventLog returns the event log reader.
func NewEventLog(store Store, bus *EventBus) *EventLog {
	return &EventLog{store: store, bus: bus}
}

// Wait returns up to limit events after seq `after` that belong to tillID
// ("" for all), waiting until there is at least one or ctx is done.
func (l *EventLog) Wait(ctx context.Context, after int64, tillID string, limit int) ([]Event, error) {
	for {
		evs, covered, wait := l.bus.Since(after)
		if !covered {
			fromStore, err := l.store.EventsAfter(ctx, EventQuery{After: after, TillID: tillID, Limit: limit})
			if err != nil || len(fromStore) > 0 {
				return fromStore, err
			}
		} else if len(evs) > 0 {
			out := evs[:0]
			for _, e := range evs {
				if (tillID == "" || e.TillID == tillID) && len(out) < limit {
					out = append(out, e)
				}
			}
			if len(out) > 0 {
				return out, nil
			}
			// None of them is for this till: skip them all.
			after = evs[len(evs)-1].Seq
			continue
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Last returns the seq of the newest event this process has seen committed.
func (l *EventLog) Last() int64 { return l.bus.Last() }
