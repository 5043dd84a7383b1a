package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
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
	// EventPaymentReview: the terminal's own result, arrived after the
	// manager resolved the payment, says otherwise (another amount taken,
	// or none): the manager must check it.
	EventPaymentReview = "payment.review"

	// Terminal events are for upstream sync and the terminal connections,
	// not for tills: they carry no ticket.
	EventTerminalPaired  = "terminal.paired"
	EventTerminalRevoked = "terminal.revoked"

	// EventTillRevoked carries the till's ID, so that the till's own
	// event streams, which follow its events only, see it and end. It is
	// not sent to tills: it carries no ticket.
	EventTillRevoked     = "till.revoked"
	EventTerminalRenamed = "terminal.renamed"
)

// ForTills reports whether tills receive events of this type.
func ForTills(typ string) bool {
	return typ != EventTerminalPaired && typ != EventTerminalRevoked && typ != EventTerminalRenamed && typ != EventTillRevoked
}

// TerminalEvent is what a terminal event says: which terminal, and its
// name as of the event.
type TerminalEvent struct {
	TerminalID string `json:"terminal_id"`
	Name       string `json:"name"`
}

// ParseTerminalEvent reads a terminal event's data.
func ParseTerminalEvent(e Event) (TerminalEvent, error) {
	var v TerminalEvent
	if err := json.Unmarshal(e.Data, &v); err != nil {
		return v, fmt.Errorf("gateway: event %d: %w", e.Seq, err)
	}
	return v, nil
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

// eventHead is the JSON tills receive (SSE data and webhook body) but its
// last field, "ticket": the ticket, encoded once for the event and the
// till API's answer, is spliced in after the head's fields.
type eventHead struct {
	Type      string `json:"type"`
	TicketID  string `json:"ticket_id"`
	TicketRef string `json:"ticket_ref"`
	PaymentID string `json:"payment_id,omitempty"`
	At        string `json:"at"`
}

// NewTicketEvent builds the event of type typ about t (and payment, if
// any), and sets t.Encoded to the ticket's JSON in it.
func NewTicketEvent(typ string, t *Ticket, paymentID string, at time.Time) (Event, error) {
	head, err := json.Marshal(eventHead{Type: typ, TicketID: t.ID, TicketRef: t.Ref,
		PaymentID: paymentID, At: at.UTC().Format(time.RFC3339Nano)})
	if err != nil {
		return Event{}, fmt.Errorf("gateway: encode event: %w", err)
	}
	tj, err := json.Marshal(t)
	if err != nil {
		return Event{}, fmt.Errorf("gateway: encode event: %w", err)
	}
	const key = `,"ticket":`
	data := make([]byte, 0, len(head)+len(key)+len(tj))
	data = append(append(append(data, head[:len(head)-1]...), key...), tj...)
	data = append(data, '}')
	t.Encoded = tj
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

type tillEventPayload struct {
	Type   string `json:"type"`
	TillID string `json:"till_id"`
	Name   string `json:"name"`
	At     string `json:"at"`
}

func appendTillEvent(ctx context.Context, tx Tx, typ string, t *Till, at time.Time) error {
	data, err := json.Marshal(tillEventPayload{Type: typ, TillID: t.ID, Name: t.Name, At: at.UTC().Format(time.RFC3339Nano)})
	if err != nil {
		return fmt.Errorf("gateway: encode event: %w", err)
	}
	return tx.AppendEvent(ctx, &Event{Type: typ, At: at, TillID: t.ID, Data: data})
}

// EventBus keeps the most recent committed events in memory and wakes
// whoever waits for new ones. It is fed by the store, in seq order, right
// after each commit; readers that fall behind its window read the store.
type EventBus struct {
	mu     sync.Mutex
	ring   []Event       // circular, len(ring) is the window
	start  int           // index of the oldest event kept
	n      int           // events kept
	last   int64         // highest seq published
	notify chan struct{} // closed and replaced at each publish
}

// NewEventBus returns a bus that keeps the last window events.
func NewEventBus(window int) *EventBus {
	if window < 1 {
		window = 1
	}
	return &EventBus{ring: make([]Event, window), notify: make(chan struct{})}
}

// Publish adds committed events, which must come in seq order. Events
// already published are ignored: the store's writer and WatchStore may both
// publish the same commit. A gap (events written by another process, such
// as a CLI command, not yet seen) empties the window so that readers fetch
// the missing ones from the store.
func (b *EventBus) Publish(evs []Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for len(evs) > 0 && evs[0].Seq <= b.last {
		evs = evs[1:]
	}
	if len(evs) == 0 {
		return
	}
	if evs[0].Seq != b.last+1 {
		b.start, b.n = 0, 0
	}
	size := len(b.ring)
	for _, e := range evs {
		if b.n < size {
			b.ring[(b.start+b.n)%size] = e
			b.n++
		} else {
			b.ring[b.start] = e
			b.start = (b.start + 1) % size
		}
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
	if b.n == 0 || b.ring[b.start].Seq > after+1 {
		return nil, false, wait
	}
	i := int(after + 1 - b.ring[b.start].Seq)
	out := make([]Event, 0, b.n-i)
	for ; i < b.n; i++ {
		out = append(out, b.ring[(b.start+i)%len(b.ring)])
	}
	return out, true, wait
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
			// Every event published by now is committed, so the read
			// below sees it: if none of them is tillID's, the wait goes
			// on from there, on the bus. Else each commit of another
			// till would wake a stream resumed from an old id into the
			// same read of the store, until its till had an event.
			published := l.bus.Last()
			fromStore, err := l.store.EventsAfter(ctx, EventQuery{After: after, TillID: tillID, Limit: limit})
			if err != nil || len(fromStore) > 0 {
				return fromStore, err
			}
			after = max(after, published)
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

// Committed returns the seq of the newest event in the store, which is ahead
// of Last while events another process wrote are not yet published here.
func (l *EventLog) Committed(ctx context.Context) (int64, error) { return l.store.LastSeq(ctx) }

// WatchStore publishes the events that other processes write to the same
// store (the CLI revoking a terminal, resolving a payment), which the
// store's writer in this process never sees: it polls the last seq every
// interval until ctx is done. A failed read is logged and tried again at
// the next tick: it must not stop the gateway.
func (l *EventLog) WatchStore(ctx context.Context, every time.Duration, log *slog.Logger) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := l.catchUp(ctx); err != nil && ctx.Err() == nil {
			log.Warn("watch the event log for other processes' writes", "err", err)
		}
	}
}

func (l *EventLog) catchUp(ctx context.Context) error {
	last, err := l.store.LastSeq(ctx)
	if err != nil {
		return err
	}
	for seen := l.bus.Last(); seen < last; seen = l.bus.Last() {
		evs, err := l.store.EventsAfter(ctx, EventQuery{After: seen, Limit: 500})
		if err != nil || len(evs) == 0 {
			return err
		}
		l.bus.Publish(evs)
	}
	return nil
}
