package tillsim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

func ticketEvent(t *testing.T, typ string, tk *gateway.Ticket, paymentID string) []byte {
	t.Helper()
	e, err := gateway.NewTicketEvent(typ, tk, paymentID, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return e.Data
}

// TestFollowResumes drops the stream after two events and checks that the
// follower comes back with Last-Event-ID and gets the third, once each.
func TestFollowResumes(t *testing.T) {
	tk := &gateway.Ticket{ID: "tkt_1", Ref: "1253", Table: "5", Total: 5350, Currency: "EUR"}
	created := ticketEvent(t, gateway.EventTicketCreated, tk, "")
	var conns atomic.Int32
	resumedFrom := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer k" || r.URL.Path != "/api/v1/events" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		switch conns.Add(1) {
		case 1:
			if id := r.Header.Get("Last-Event-ID"); id != "" {
				t.Errorf("first connection sent Last-Event-ID %q", id)
			}
			fmt.Fprintf(w, ": passerelle events\n\nid: 1\nevent: ticket.created\ndata: %s\n\n", created)
			// Two data lines make one event, joined by a newline; no event
			// type means "message"; CRLF line ends are allowed.
			fmt.Fprint(w, ": heartbeat\r\n\r\nid: 2\r\ndata: first\r\ndata:second\r\n\r\n")
			// Half an event, then the connection drops: it must not count.
			fmt.Fprint(w, "id: 99\nevent: ticket.updated\ndata: {}\n")
		default:
			select {
			case resumedFrom <- r.Header.Get("Last-Event-ID"):
			default:
			}
			fmt.Fprint(w, "id: 3\nevent: ticket.cancelled\ndata: {\"ticket_ref\":\"1253\"}\n\n")
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}
	}))
	defer srv.Close()

	// Not a speed check: a bound on a follower that never resumes.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var got []Event
	var drops, opens int
	f := &Follow{
		Backoff:   time.Millisecond,
		OnConnect: func() { opens++ },
		OnDrop:    func(error, time.Duration) { drops++ },
		OnEvent: func(e Event) {
			got = append(got, e)
			if len(got) == 3 {
				cancel()
			}
		},
	}
	c := NewClient(ClientConfig{URL: srv.URL + "/", Key: "k"})
	if err := c.Follow(ctx, f); err != nil {
		t.Fatalf("Follow: %v", err)
	}
	select {
	case id := <-resumedFrom:
		if id != "2" {
			t.Errorf("resumed with Last-Event-ID %q, want 2", id)
		}
	default:
		t.Error("the follower never reconnected")
	}
	if len(got) != 3 || opens != 2 || drops != 1 || f.LastID != "3" {
		t.Fatalf("%d events, %d opens, %d drops, last id %q; want 3, 2, 1, 3: %+v", len(got), opens, drops, f.LastID, got)
	}
	want := []struct{ id, typ, data, ref string }{
		{"1", "ticket.created", string(created), "1253"},
		{"2", "message", "first\nsecond", ""},
		{"3", "ticket.cancelled", `{"ticket_ref":"1253"}`, "1253"},
	}
	for i, w := range want {
		e := got[i]
		if e.ID != w.id || e.Type != w.typ || string(e.Data) != w.data || e.TicketRef != w.ref || e.Received.IsZero() {
			t.Errorf("event %d: %+v, want %+v", i, e, w)
		}
	}
	if tk := got[0].Ticket; tk == nil || tk.Total != 5350 || got[0].TicketID != "tkt_1" {
		t.Errorf("ticket.created payload not decoded: %+v", got[0])
	}
}

func TestFollowRefused(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"title":"Unauthorized","status":401,"detail":"a valid till key is required"}`)
	}))
	defer srv.Close()
	c := NewClient(ClientConfig{URL: srv.URL, Key: "wrong"})
	err := c.Follow(context.Background(), &Follow{Backoff: time.Millisecond})
	if !errors.Is(err, ErrStreamRefused) || !strings.Contains(err.Error(), "a valid till key is required") {
		t.Errorf("Follow with a wrong key: %v, want ErrStreamRefused with the problem's detail", err)
	}
}

// TestFollowIdle checks that a stream that goes silent (no heartbeat) is
// abandoned and resumed, rather than trusted forever.
func TestFollowIdle(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		if conns.Add(1) == 1 {
			fmt.Fprint(w, "id: 7\ndata: x\n\n")
		} else {
			fmt.Fprintf(w, "id: 8\ndata: resumed after %s\n\n", r.Header.Get("Last-Event-ID"))
		}
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var mu sync.Mutex
	var dropErr error
	var data []string
	f := &Follow{
		Backoff:     time.Millisecond,
		IdleTimeout: 20 * time.Millisecond,
		OnDrop: func(err error, _ time.Duration) {
			mu.Lock()
			dropErr = err
			mu.Unlock()
		},
		OnEvent: func(e Event) {
			data = append(data, string(e.Data))
			if len(data) == 2 {
				cancel()
			}
		},
	}
	if err := NewClient(ClientConfig{URL: srv.URL, Key: "k"}).Follow(ctx, f); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(dropErr, errIdle) {
		t.Errorf("drop error %v, want errIdle", dropErr)
	}
	if len(data) != 2 || data[1] != "resumed after 7" {
		t.Errorf("events %q", data)
	}
}

func TestEventString(t *testing.T) {
	done := time.Now()
	tk := &gateway.Ticket{ID: "tkt_1", Ref: "1253", Table: "5", Total: 5350, Currency: "EUR", Paid: 1000, Due: 4350,
		Payments: []gateway.Payment{
			{ID: "pay_0", Amount: 999, Currency: "EUR", Status: gateway.PaymentDeclined},
			{ID: "pay_1", Amount: 1000, Currency: "EUR", Status: gateway.PaymentApproved, Terminal: "Terminal bar", CompletedAt: &done},
		}}
	tests := []struct {
		name string
		e    Event
		want []string
	}{
		{"created", Event{Type: "ticket.created", Ticket: &gateway.Ticket{Ref: "1253", Table: "5", Total: 5350}},
			[]string{"ticket.created ", " T5 ", " 1253 ", " 53,50 €"}},
		{"no table", Event{Type: "ticket.created", Ticket: &gateway.Ticket{Ref: "88", Total: 100}},
			[]string{" - ", " 88 ", " 1,00 €"}},
		{"payment", Event{Type: "payment.approved", PaymentID: "pay_1", Ticket: tk},
			[]string{"payment.approved ", " T5 ", "53,50 €  paiement 10,00 € approved sur Terminal bar  reste 43,50 €"}},
		{"not a ticket", Event{Type: "message", Data: []byte("hello")}, []string{"message", "hello"}},
	}
	for _, tt := range tests {
		s := tt.e.String()
		if strings.Contains(s, "\n") {
			t.Errorf("%s: %q is more than one line", tt.name, s)
		}
		for _, w := range tt.want {
			if !strings.Contains(s, w) {
				t.Errorf("%s: %q lacks %q", tt.name, s, w)
			}
		}
	}
}
