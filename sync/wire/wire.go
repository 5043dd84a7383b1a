// Package wire is the JSON of upstream sync (spec/sync.md) as both ends
// speak it: the batches of events a gateway pushes and the hub's answer.
// The hub decodes with DecodeBatch, strictly and within the limits below;
// the gateway builds batches with Builder, which keeps to the same limits.
package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// Limits of a batch, from the spec: 500 events or 1 MiB.
const (
	MaxEvents     = 500
	MaxBatchBytes = 1 << 20
	MaxTypeLen    = 64
)

// Event is one event of the gateway's log as it travels upstream. Data is
// the event's payload as the gateway's tills get it: for ticket and
// payment events, the ticket with its payments (transaction_ref,
// auth_code, merchant_id, terminal_id, card scheme and masked PAN).
type Event struct {
	Seq  int64           `json:"seq"`
	Type string          `json:"type"`
	At   time.Time       `json:"at"`
	Day  string          `json:"day"` // the shop's day of At, in its time zone: YYYY-MM-DD
	Data json.RawMessage `json:"data"`
}

// Batch is the body of POST /api/v1/stores/{id}/events.
type Batch struct {
	Events []Event `json:"events"`
}

// Ack is the hub's answer to a batch: 200 once it is durably committed,
// and 409 when the batch starts after a gap.
type Ack struct {
	AckedThrough int64 `json:"acked_through"`
}

// ErrBatch wraps every reason a batch is refused but its size.
var ErrBatch = errors.New("wire: bad batch")

// ErrTooLarge is a batch of more than MaxBatchBytes.
var ErrTooLarge = fmt.Errorf("wire: a batch is at most %d bytes", MaxBatchBytes)

// DecodeBatch reads one batch of at most MaxBatchBytes: one JSON object,
// no unknown field, nothing after it, at most MaxEvents events with
// consecutive seqs from 1 up, each with a type, a time, a day and an
// object as data. A batch may be empty: the hub then only says where it
// stands (a connection test).
func DecodeBatch(r io.Reader) (Batch, error) {
	body, err := io.ReadAll(io.LimitReader(r, MaxBatchBytes+1))
	if err != nil {
		return Batch{}, fmt.Errorf("%w: %w", ErrBatch, err)
	}
	if len(body) > MaxBatchBytes {
		return Batch{}, ErrTooLarge
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var b Batch
	if err := dec.Decode(&b); err != nil {
		return Batch{}, fmt.Errorf("%w: %w", ErrBatch, err)
	}
	if dec.More() {
		return Batch{}, fmt.Errorf("%w: more than one JSON value", ErrBatch)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Batch{}, fmt.Errorf("%w: data after the batch", ErrBatch)
	}
	return b, b.Validate()
}

// Validate checks the batch's events.
func (b Batch) Validate() error {
	if len(b.Events) > MaxEvents {
		return fmt.Errorf("%w: %d events, at most %d", ErrBatch, len(b.Events), MaxEvents)
	}
	for i, e := range b.Events {
		if err := e.validate(); err != nil {
			return fmt.Errorf("%w: events[%d]: %w", ErrBatch, i, err)
		}
		if i > 0 && e.Seq != b.Events[i-1].Seq+1 {
			return fmt.Errorf("%w: events[%d]: seq %d does not follow %d", ErrBatch, i, e.Seq, b.Events[i-1].Seq)
		}
	}
	return nil
}

func (e Event) validate() error {
	switch {
	case e.Seq < 1:
		return errors.New("seq must be 1 or more")
	case e.Type == "" || len(e.Type) > MaxTypeLen:
		return fmt.Errorf("type must be 1 to %d characters", MaxTypeLen)
	case e.At.IsZero():
		return errors.New("at is required")
	case !validDay(e.Day):
		return errors.New("day must be YYYY-MM-DD")
	case len(e.Data) == 0 || e.Data[0] != '{':
		return errors.New("data must be an object")
	}
	return nil
}

func validDay(s string) bool {
	_, err := time.Parse(time.DateOnly, s)
	return err == nil && len(s) == len(time.DateOnly)
}

// Builder fills a batch up to the limits.
type Builder struct {
	buf    bytes.Buffer
	n      int
	last   int64
	closed bool
}

// head and tail frame the events: {"events":[ ... ]}
const (
	head = `{"events":[`
	tail = `]}`
)

// ErrFull says the event does not fit: send the batch, then start another
// with it.
var ErrFull = errors.New("wire: batch full")

// Add appends e, or returns ErrFull if the batch holds MaxEvents already
// or e would take it past MaxBatchBytes. An event too large for any batch
// is an error of its own.
func (b *Builder) Add(e Event) error {
	if b.n >= MaxEvents {
		return ErrFull
	}
	enc, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("wire: encode event %d: %w", e.Seq, err)
	}
	if len(head)+len(enc)+len(tail) > MaxBatchBytes {
		return fmt.Errorf("wire: event %d is %d bytes, more than a batch may hold", e.Seq, len(enc))
	}
	if b.buf.Len() == 0 {
		b.buf.WriteString(head)
	}
	sep := 0
	if b.n > 0 {
		sep = 1
	}
	if b.buf.Len()+sep+len(enc)+len(tail) > MaxBatchBytes {
		return ErrFull
	}
	if sep == 1 {
		b.buf.WriteByte(',')
	}
	b.buf.Write(enc)
	b.n++
	b.last = e.Seq
	return nil
}

// Len is the number of events added.
func (b *Builder) Len() int { return b.n }

// Last is the seq of the last event added.
func (b *Builder) Last() int64 { return b.last }

// Bytes returns the batch's JSON. The builder is not to be used after.
func (b *Builder) Bytes() []byte {
	if b.buf.Len() == 0 {
		b.buf.WriteString(head)
	}
	if !b.closed {
		b.buf.WriteString(tail)
		b.closed = true
	}
	return b.buf.Bytes()
}
