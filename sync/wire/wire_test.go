package wire_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/sync/wire"
)

func event(seq int64) string {
	return fmt.Sprintf(`{"seq":%d,"type":"ticket.created","at":"2026-12-02T10:00:00Z","day":"2026-12-02","data":{"ticket_ref":"T%d"}}`, seq, seq)
}

func batch(from, n int64) string {
	evs := make([]string, n)
	for i := range n {
		evs[i] = event(from + i)
	}
	return `{"events":[` + strings.Join(evs, ",") + `]}`
}

func TestDecodeBatch(t *testing.T) {
	big := `{"events":[{"seq":1,"type":"t","at":"2026-12-02T10:00:00Z","day":"2026-12-02","data":{"x":"` + strings.Repeat("a", wire.MaxBatchBytes) + `"}}]}`
	for _, tc := range []struct {
		name, body string
		n          int
		err        error
	}{
		{"empty batch", `{"events":[]}`, 0, nil},
		{"no events field", `{}`, 0, nil},
		{"one", batch(1, 1), 1, nil},
		{"the most events", batch(7, wire.MaxEvents), wire.MaxEvents, nil},
		{"one too many", batch(7, wire.MaxEvents+1), 0, wire.ErrBatch},
		{"too large", big, 0, wire.ErrTooLarge},
		{"unknown field", `{"events":[],"x":1}`, 0, wire.ErrBatch},
		{"unknown event field", `{"events":[{"seq":1,"type":"t","at":"2026-12-02T10:00:00Z","day":"2026-12-02","data":{},"pan":"4111"}]}`, 0, wire.ErrBatch},
		{"two values", `{"events":[]}{"events":[]}`, 0, wire.ErrBatch},
		{"trailing garbage", `{"events":[]} x`, 0, wire.ErrBatch},
		{"not an object", `[]`, 0, wire.ErrBatch},
		{"gap inside", `{"events":[` + event(1) + `,` + event(3) + `]}`, 0, wire.ErrBatch},
		{"out of order", `{"events":[` + event(2) + `,` + event(1) + `]}`, 0, wire.ErrBatch},
		{"seq zero", `{"events":[` + event(0) + `]}`, 0, wire.ErrBatch},
		{"no type", `{"events":[{"seq":1,"type":"","at":"2026-12-02T10:00:00Z","day":"2026-12-02","data":{}}]}`, 0, wire.ErrBatch},
		{"no time", `{"events":[{"seq":1,"type":"t","day":"2026-12-02","data":{}}]}`, 0, wire.ErrBatch},
		{"bad day", `{"events":[{"seq":1,"type":"t","at":"2026-12-02T10:00:00Z","day":"02/12/2026","data":{}}]}`, 0, wire.ErrBatch},
		{"data not an object", `{"events":[{"seq":1,"type":"t","at":"2026-12-02T10:00:00Z","day":"2026-12-02","data":[1]}]}`, 0, wire.ErrBatch},
		{"no data", `{"events":[{"seq":1,"type":"t","at":"2026-12-02T10:00:00Z","day":"2026-12-02"}]}`, 0, wire.ErrBatch},
		{"seq a string", `{"events":[{"seq":"1","type":"t","at":"2026-12-02T10:00:00Z","day":"2026-12-02","data":{}}]}`, 0, wire.ErrBatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := wire.DecodeBatch(strings.NewReader(tc.body))
			if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err == nil && len(b.Events) != tc.n {
				t.Fatalf("%d events, want %d", len(b.Events), tc.n)
			}
		})
	}
}

// TestBuilderLimits fills batches up to each limit: what the gateway
// builds, the hub takes.
func TestBuilderLimits(t *testing.T) {
	at := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	t.Run("events", func(t *testing.T) {
		var b wire.Builder
		seq := int64(1)
		for ; ; seq++ {
			err := b.Add(wire.Event{Seq: seq, Type: "ticket.created", At: at, Day: "2026-12-02", Data: json.RawMessage(`{}`)})
			if errors.Is(err, wire.ErrFull) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if b.Len() != wire.MaxEvents || b.Last() != wire.MaxEvents {
			t.Fatalf("full at %d events (last %d), want %d", b.Len(), b.Last(), wire.MaxEvents)
		}
		if got, err := wire.DecodeBatch(bytes.NewReader(b.Bytes())); err != nil || len(got.Events) != wire.MaxEvents {
			t.Fatalf("decode: %d events, %v", len(got.Events), err)
		}
	})
	t.Run("bytes", func(t *testing.T) {
		var b wire.Builder
		data := json.RawMessage(`{"x":"` + strings.Repeat("é", 20000) + `"}`)
		seq := int64(1)
		for ; ; seq++ {
			err := b.Add(wire.Event{Seq: seq, Type: "ticket.created", At: at, Day: "2026-12-02", Data: data})
			if errors.Is(err, wire.ErrFull) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		out := b.Bytes()
		if len(out) > wire.MaxBatchBytes || len(out) < wire.MaxBatchBytes-len(data)-200 {
			t.Fatalf("a full batch is %d bytes, want just under %d", len(out), wire.MaxBatchBytes)
		}
		if _, err := wire.DecodeBatch(bytes.NewReader(out)); err != nil {
			t.Fatalf("decode: %v", err)
		}
	})
	t.Run("one event too large", func(t *testing.T) {
		var b wire.Builder
		data := json.RawMessage(`{"x":"` + strings.Repeat("a", wire.MaxBatchBytes) + `"}`)
		err := b.Add(wire.Event{Seq: 1, Type: "t", At: at, Day: "2026-12-02", Data: data})
		if err == nil || errors.Is(err, wire.ErrFull) {
			t.Fatalf("err = %v, want an event too large", err)
		}
	})
	t.Run("empty", func(t *testing.T) {
		var b wire.Builder
		if got := string(b.Bytes()); got != `{"events":[]}` {
			t.Fatalf("empty batch = %s", got)
		}
	})
}

// FuzzDecodeBatch: whatever the body, the decoder returns a batch within
// the limits or an error, never panics, and what it accepts encodes and
// decodes again to the same events.
func FuzzDecodeBatch(f *testing.F) {
	f.Add([]byte(batch(1, 3)))
	f.Add([]byte(`{"events":[]}`))
	f.Add([]byte(`{"events":[{"seq":9,"type":"payment.approved","at":"2026-12-02T23:59:59.999999999+01:00","day":"2026-12-02","data":{"ticket":{"payments":[]}}}]}`))
	f.Add([]byte(`{"events":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := wire.DecodeBatch(bytes.NewReader(body))
		if err != nil {
			if !errors.Is(err, wire.ErrBatch) && !errors.Is(err, wire.ErrTooLarge) {
				t.Fatalf("an error that is not a bad batch: %v", err)
			}
			return
		}
		if len(b.Events) > wire.MaxEvents || len(body) > wire.MaxBatchBytes {
			t.Fatalf("accepted past the limits: %d events, %d bytes", len(b.Events), len(body))
		}
		var bl wire.Builder
		for _, e := range b.Events {
			if e.Seq < 1 || e.Type == "" || e.Data[0] != '{' {
				t.Fatalf("accepted a bad event: %+v", e)
			}
			if err := bl.Add(e); err != nil {
				t.Fatalf("re-encode event %d: %v", e.Seq, err)
			}
		}
		again, err := wire.DecodeBatch(bytes.NewReader(bl.Bytes()))
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if len(again.Events) != len(b.Events) {
			t.Fatalf("re-decoded %d events, want %d", len(again.Events), len(b.Events))
		}
		for i := range b.Events {
			x, y := b.Events[i], again.Events[i]
			if x.Seq != y.Seq || x.Type != y.Type || !x.At.Equal(y.At) || x.Day != y.Day {
				t.Fatalf("event %d changed: %+v then %+v", i, x, y)
			}
		}
	})
}
