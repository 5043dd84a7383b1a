package store_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

func TestEventsAfter(t *testing.T) {
	s := open(t, dbPath(t), nil)
	ctx := context.Background()
	a, b := addTill(t, s, "a"), addTill(t, s, "b")
	if seq, err := s.LastSeq(ctx); err != nil || seq != 0 {
		t.Fatalf("LastSeq of an empty log: %d, %v", seq, err)
	}
	var all []gateway.Event
	err := s.Update(ctx, func(tx gateway.Tx) error {
		for i := range 10 {
			till := a
			if i%2 == 1 {
				till = b
			}
			e := gateway.Event{Type: gateway.EventPaymentApproved,
				At:     time.Date(2025, 7, 14, 23, 0, i, 100+i, time.FixedZone("CEST", 2*3600)),
				TillID: till.ID, TicketID: "tkt_é" + till.Name, TicketRef: "réf 🍷", PaymentID: "pay_1",
				Data: []byte(`{"type":"payment.approved","note":"crème"}`)}
			if err := tx.AppendEvent(ctx, &e); err != nil {
				return err
			}
			if e.Seq != int64(i+1) {
				t.Errorf("event %d got seq %d", i, e.Seq)
			}
			e.At = e.At.UTC()
			all = append(all, e)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seq, err := s.LastSeq(ctx); err != nil || seq != 10 {
		t.Errorf("LastSeq: %d, %v", seq, err)
	}

	tests := []struct {
		name string
		q    gateway.EventQuery
		want []int64
	}{
		{"all", gateway.EventQuery{Limit: 100}, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{"after", gateway.EventQuery{After: 3, Limit: 100}, []int64{4, 5, 6, 7, 8, 9, 10}},
		{"limit", gateway.EventQuery{After: 3, Limit: 2}, []int64{4, 5}},
		{"till", gateway.EventQuery{TillID: a.ID, Limit: 100}, []int64{1, 3, 5, 7, 9}},
		{"till after with limit", gateway.EventQuery{TillID: b.ID, After: 3, Limit: 2}, []int64{4, 6}},
		{"the end", gateway.EventQuery{After: 10, Limit: 100}, nil},
		{"unknown till", gateway.EventQuery{TillID: "till_nobody", Limit: 100}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.EventsAfter(ctx, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if seqs := seqsOf(got); !slices.Equal(seqs, tt.want) {
				t.Fatalf("got seqs %v, want %v", seqs, tt.want)
			}
			for _, e := range got {
				if want := all[e.Seq-1]; !reflect.DeepEqual(e, want) {
					t.Errorf("event %d:\n got %+v\nwant %+v", e.Seq, e, want)
				}
			}
		})
	}
}

func TestWebhookCursor(t *testing.T) {
	s := open(t, dbPath(t), nil)
	ctx := context.Background()
	a, b := addTill(t, s, "a"), addTill(t, s, "b")
	if seq, err := s.WebhookCursor(ctx, a.ID); err != nil || seq != 0 {
		t.Fatalf("cursor before any delivery: %d, %v", seq, err)
	}
	at := time.Date(2025, 7, 14, 23, 0, 0, 123456789, time.FixedZone("CEST", 2*3600))
	saves := []gateway.WebhookCursor{
		{TillID: b.ID, DeliveredSeq: 3, Attempts: 0, LastAttempt: at},
		{TillID: a.ID, DeliveredSeq: 5, Attempts: 2, LastError: "HTTP 503 — indisponible", LastAttempt: at},
		{TillID: a.ID, DeliveredSeq: 9, Attempts: 0, LastAttempt: at.Add(time.Second)},
	}
	from := map[string]int64{}
	for _, c := range saves {
		if err := s.SaveWebhookCursor(ctx, c, from[c.TillID], a.CallbackURL); err != nil {
			t.Fatal(err)
		}
		from[c.TillID] = c.DeliveredSeq
	}
	// A save from where the cursor no longer is saves nothing.
	stale := gateway.WebhookCursor{TillID: a.ID, DeliveredSeq: 6, LastAttempt: at}
	if err := s.SaveWebhookCursor(ctx, stale, 5, a.CallbackURL); !errors.Is(err, gateway.ErrCursorMoved) {
		t.Errorf("a save from a stale cursor: %v", err)
	}
	// Nor does one for a URL that is no longer the till's.
	stale.DeliveredSeq = 10
	if err := s.SaveWebhookCursor(ctx, stale, 9, "http://127.0.0.1:1/old"); !errors.Is(err, gateway.ErrCursorMoved) {
		t.Errorf("a save for an old URL: %v", err)
	}
	if seq, err := s.WebhookCursor(ctx, a.ID); err != nil || seq != 9 {
		t.Errorf("cursor of a: %d, %v; want 9", seq, err)
	}
	got, err := s.WebhookCursors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []gateway.WebhookCursor{saves[2], saves[0]}
	for i := range want {
		want[i].LastAttempt = want[i].LastAttempt.UTC()
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("cursors:\n got %+v\nwant %+v", got, want)
	}
	if err := s.SaveWebhookCursor(ctx, gateway.WebhookCursor{TillID: "till_nobody", DeliveredSeq: 1}, 0, ""); err == nil {
		t.Error("a cursor was saved for an unknown till")
	}
}
