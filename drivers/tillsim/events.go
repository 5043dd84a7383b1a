package tillsim

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

// Event is one event read from GET /api/v1/events.
type Event struct {
	ID       string
	Type     string
	Data     []byte
	Received time.Time // when its last line was read

	// Decoded from Data; empty if Data is not the till API's payload.
	TicketID  string
	TicketRef string
	PaymentID string
	Ticket    *gateway.Ticket
}

// Follow says how to follow the event stream.
type Follow struct {
	// LastID is the id of the last event already seen: the stream resumes
	// after it. Empty starts at the present. Follow keeps it up to date.
	LastID string

	OnEvent   func(Event)                          // each event, in order
	OnConnect func()                               // each time the stream is (re)opened
	OnDrop    func(err error, retry time.Duration) // each time it is lost

	// Backoff is the first wait before reconnecting, doubled at each failed
	// attempt up to MaxBackoff; 500 ms when zero.
	Backoff time.Duration
	// IdleTimeout is how long a silent stream is trusted: the gateway sends
	// a heartbeat every 15 s, so 45 s (the default) of nothing means the
	// connection is dead even if TCP has not noticed.
	IdleTimeout time.Duration
}

// MaxBackoff caps the wait between reconnections.
const MaxBackoff = 10 * time.Second

// maxEventLine bounds one line of the stream: an event carries a whole
// ticket, and a ticket's body may be up to 256 KiB.
const maxEventLine = 4 << 20

var errIdle = errors.New("tillsim: event stream silent for too long")

// ErrStreamRefused is returned by Follow when the gateway refuses the
// stream for a reason that retrying will not fix (such as a wrong key).
var ErrStreamRefused = errors.New("tillsim: event stream refused")

// Follow reads the event stream until ctx is done, reconnecting after a drop
// with Last-Event-ID so that no event is lost or repeated. It returns nil
// when ctx is done, or an error wrapping ErrStreamRefused.
func (c *Client) Follow(ctx context.Context, f *Follow) error {
	backoff := f.Backoff
	if backoff <= 0 {
		backoff = 500 * time.Millisecond
	}
	delay := backoff
	for {
		opened, err := c.stream(ctx, f)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, ErrStreamRefused) {
			return err
		}
		if opened {
			delay = backoff
		}
		if f.OnDrop != nil {
			f.OnDrop(err, delay)
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil
		}
		if !opened {
			delay = min(2*delay, MaxBackoff)
		}
	}
}

// stream reads one connection of the event stream until it fails. opened
// says whether the gateway accepted it.
func (c *Client) stream(ctx context.Context, f *Follow) (opened bool, err error) {
	idleTimeout := f.IdleTimeout
	if idleTimeout <= 0 {
		idleTimeout = 45 * time.Second
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/api/v1/events", nil)
	if err != nil {
		return false, fmt.Errorf("%w: %w", ErrStreamRefused, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Accept", "text/event-stream")
	if f.LastID != "" {
		req.Header.Set("Last-Event-ID", f.LastID)
	}
	// Dialling and the headers are bounded like a POST; the body is not.
	idle := time.AfterFunc(RequestTimeout, func() { cancel(errIdle) })
	defer idle.Stop()
	resp, err := c.http.Do(req)
	if err != nil {
		return false, fmt.Errorf("tillsim: event stream: %w", err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return false, fmt.Errorf("tillsim: event stream: HTTP %d: %s", resp.StatusCode, problemOf(resp.Body))
	default:
		return false, fmt.Errorf("%w (HTTP %d): %s", ErrStreamRefused, resp.StatusCode, problemOf(resp.Body))
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		return false, fmt.Errorf("%w: Content-Type is %q, not an event stream", ErrStreamRefused, ct)
	}
	idle.Reset(idleTimeout)
	if f.OnConnect != nil {
		f.OnConnect()
	}

	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), maxEventLine)
	var ev Event
	var data strings.Builder
	hasID := false
	for sc.Scan() {
		idle.Reset(idleTimeout)
		line := sc.Text()
		if line == "" {
			// A blank line ends an event. The id counts even for an event
			// without data, so that resuming skips it too.
			if hasID {
				f.LastID = ev.ID
			}
			if data.Len() > 0 {
				ev.Data = []byte(strings.TrimSuffix(data.String(), "\n"))
				ev.Received = time.Now()
				if ev.Type == "" {
					ev.Type = "message"
				}
				ev.decode()
				if f.OnEvent != nil {
					f.OnEvent(ev)
				}
			}
			ev, hasID = Event{}, false
			data.Reset()
			continue
		}
		if line[0] == ':' {
			continue // comment: heartbeat
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			if !strings.ContainsRune(value, 0) {
				ev.ID, hasID = value, true
			}
		case "event":
			ev.Type = value
		case "data":
			data.WriteString(value)
			data.WriteByte('\n')
		}
	}
	err = sc.Err()
	if cause := context.Cause(ctx); errors.Is(cause, errIdle) {
		return true, cause
	}
	if err == nil {
		err = io.ErrUnexpectedEOF
	}
	return true, fmt.Errorf("tillsim: event stream: %w", err)
}

// decode fills the fields of the till API's payload, if Data is one.
func (e *Event) decode() {
	var p struct {
		TicketID  string          `json:"ticket_id"`
		TicketRef string          `json:"ticket_ref"`
		PaymentID string          `json:"payment_id"`
		Ticket    *gateway.Ticket `json:"ticket"`
	}
	if json.Unmarshal(e.Data, &p) == nil {
		e.TicketID, e.TicketRef, e.PaymentID, e.Ticket = p.TicketID, p.TicketRef, p.PaymentID, p.Ticket
	}
}

// String is the event as one line for a person:
// "ticket.created     T5    1253          53,50 €".
func (e Event) String() string {
	t := e.Ticket
	if t == nil {
		return fmt.Sprintf("%-18s %s", e.Type, e.Data)
	}
	table := "-"
	if t.Table != "" {
		table = "T" + t.Table
	}
	s := fmt.Sprintf("%-18s %-5s %-18s %12s", e.Type, table, t.Ref, Money(t.Total, t.Currency))
	if e.PaymentID != "" {
		for _, p := range t.Payments {
			if p.ID == e.PaymentID {
				s += fmt.Sprintf("  paiement %s %s", Money(p.Amount, p.Currency), p.Status)
				if p.Terminal != "" {
					s += " sur " + p.Terminal
				}
				break
			}
		}
	}
	if t.Paid != 0 {
		s += fmt.Sprintf("  reste %s", Money(t.Due, t.Currency))
	}
	return s
}

// Money formats cents the French way: "1 253,50 €", "-5,00 €".
func Money(cents int64, currency string) string {
	sign := ""
	u := uint64(cents)
	if cents < 0 {
		sign, u = "-", uint64(-cents) // two's complement: right for MinInt64 too
	}
	units := strconv.FormatUint(u/100, 10)
	var b strings.Builder
	b.WriteString(sign)
	for i, r := range units {
		if i > 0 && (len(units)-i)%3 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	fmt.Fprintf(&b, ",%02d ", u%100)
	if currency == "" || currency == gateway.DefaultCurrency {
		b.WriteString("€")
	} else {
		b.WriteString(currency)
	}
	return b.String()
}
