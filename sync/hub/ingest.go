package hub

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/passerelle/passerelle/sync/wire"
)

// GapError is a batch that starts after the store's acknowledged
// position: the gateway resends from AckedThrough + 1.
type GapError struct {
	AckedThrough int64
}

func (e *GapError) Error() string {
	return fmt.Sprintf("hub: the batch leaves a gap after %d", e.AckedThrough)
}

// Ingest applies a batch of storeID's events and returns the store's
// acknowledged position once the batch is durably committed. Events the
// hub has already are skipped, so a batch sent twice is applied once; a
// batch that starts after a gap is refused with *GapError. The events'
// order and uniqueness are also the database's own checks (the events
// table's key and its trigger), whoever writes to it.
func (d *DB) Ingest(ctx context.Context, storeID string, b wire.Batch) (int64, error) {
	if err := b.Validate(); err != nil {
		return 0, err
	}
	acked, err := d.ackedThrough(ctx, d.db, storeID)
	if err != nil {
		return 0, err
	}
	if len(b.Events) == 0 || b.Events[len(b.Events)-1].Seq <= acked {
		if len(b.Events) > 0 && b.Events[0].Seq > acked+1 {
			return 0, &GapError{AckedThrough: acked}
		}
		return acked, nil // nothing new: said where it stands
	}
	r := &ingestReq{storeID: storeID, b: b, done: make(chan struct{})}
	if d.engine == postgresEngine {
		// PostgreSQL groups concurrent commits itself, and its round
		// trips would make one writer the bottleneck: each batch has its
		// own transaction, its store's row locked.
		d.commitGroup([]*ingestReq{r})
		return r.acked, r.err
	}
	select {
	case d.ingests <- r:
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-d.closed:
		return 0, ErrClosed
	}
	<-r.done // the outcome is known only after the commit
	return r.acked, r.err
}

// ErrClosed is an ingest after Close.
var ErrClosed = errors.New("hub: closed")

// maxGroup bounds how many batches share one commit.
const maxGroup = 64

// ingestReq is one batch waiting for the writer.
type ingestReq struct {
	storeID string
	b       wire.Batch
	acked   int64
	err     error
	done    chan struct{}
}

// ingestLoop is the writer: it takes the batches that queued up while the
// previous commit was being synced and commits them together, each in
// its own savepoint (one refused batch rolls back alone), so that many
// shops pushing at once share fsyncs. Under no load a commit holds one
// batch and waits for nobody.
func (d *DB) ingestLoop() {
	defer close(d.loopDone)
	group := make([]*ingestReq, 0, maxGroup)
	for {
		group = group[:0]
		select {
		case r := <-d.ingests:
			group = append(group, r)
		case <-d.closed:
			return
		}
	drain:
		for len(group) < maxGroup {
			select {
			case r := <-d.ingests:
				group = append(group, r)
			default:
				break drain
			}
		}
		d.commitGroup(group)
	}
}

func (d *DB) commitGroup(group []*ingestReq) {
	// The batches' own contexts do not cut a commit that others share:
	// the work is bounded (64 batches of 500 events).
	ctx := context.Background()
	defer func() {
		for _, r := range group {
			close(r.done)
		}
	}()
	fail := func(err error) {
		for _, r := range group {
			if r.err == nil {
				r.err = err
			}
		}
	}
	tx, err := d.wdb.BeginTx(ctx, nil)
	if err != nil {
		fail(fmt.Errorf("hub: ingest: %w", err))
		return
	}
	defer tx.Rollback()
	// The stores' rows are locked in one order, so that two hub
	// processes committing groups at once cannot deadlock.
	sort.SliceStable(group, func(i, j int) bool { return group[i].storeID < group[j].storeID })
	for _, r := range group {
		if _, err := tx.ExecContext(ctx, "SAVEPOINT batch"); err != nil {
			fail(fmt.Errorf("hub: ingest: %w", err))
			return
		}
		r.acked, r.err = d.ingestTx(ctx, tx, r.storeID, r.b)
		if r.err != nil {
			if _, err := tx.ExecContext(ctx, "ROLLBACK TO batch"); err != nil {
				fail(fmt.Errorf("hub: ingest: %w", err))
				return
			}
		}
		if _, err := tx.ExecContext(ctx, "RELEASE batch"); err != nil {
			fail(fmt.Errorf("hub: ingest: %w", err))
			return
		}
	}
	if err := tx.Commit(); err != nil {
		fail(fmt.Errorf("hub: ingest: commit: %w", err))
	}
}

// ingestTx applies one batch inside the writer's transaction.
func (d *DB) ingestTx(ctx context.Context, tx *sql.Tx, storeID string, b wire.Batch) (int64, error) {
	// Read inside the write transaction: another batch may have applied
	// part of this one since the look before. On PostgreSQL the store's
	// row is locked until the commit: another hub process with the same
	// batch waits, then finds it applied.
	acked, err := d.lockAcked(ctx, tx, storeID)
	if err != nil {
		return 0, err
	}
	if b.Events[0].Seq > acked+1 {
		return 0, &GapError{AckedThrough: acked}
	}
	last := b.Events[len(b.Events)-1].Seq
	if last <= acked {
		return acked, nil
	}
	now := formatTime(d.now())
	if d.engine == postgresEngine {
		if err := d.insertEventsPG(ctx, tx, storeID, b.Events, acked, now); err != nil {
			return 0, err
		}
	} else {
		for _, e := range b.Events {
			if e.Seq <= acked {
				continue
			}
			if err := d.insertEvent(ctx, tx, storeID, e, now); err != nil {
				return 0, err
			}
		}
	}
	if _, err := tx.ExecContext(ctx, d.q("UPDATE stores SET last_sync = ? WHERE id = ?"), now, storeID); err != nil {
		return 0, fmt.Errorf("hub: ingest: %w", err)
	}
	return last, nil
}

// lockAcked reads a store's position for an update.
func (d *DB) lockAcked(ctx context.Context, tx *sql.Tx, storeID string) (int64, error) {
	if d.engine != postgresEngine {
		return d.ackedThrough(ctx, tx, storeID) // the transaction is the only writer
	}
	var acked int64
	err := tx.QueryRowContext(ctx, "SELECT acked_through FROM stores WHERE id = $1 AND revoked_at IS NULL FOR UPDATE", storeID).Scan(&acked)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("hub: store %s: %w", storeID, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("hub: acked position: %w", err)
	}
	return acked, nil
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (d *DB) ackedThrough(ctx context.Context, q querier, storeID string) (int64, error) {
	var acked int64
	err := q.QueryRowContext(ctx, d.q("SELECT acked_through FROM stores WHERE id = ? AND revoked_at IS NULL"), storeID).Scan(&acked)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("hub: store %s: %w", storeID, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("hub: acked position: %w", err)
	}
	return acked, nil
}

func (d *DB) insertEvent(ctx context.Context, tx *sql.Tx, storeID string, e wire.Event, now string) error {
	_, err := tx.StmtContext(ctx, d.stmts.insertEvent).ExecContext(ctx,
		storeID, e.Seq, e.Type, formatTime(e.At), e.Day, string(e.Data), now)
	if err != nil {
		return fmt.Errorf("hub: event %d: %w", e.Seq, err)
	}
	var data eventData
	if !strings.HasPrefix(e.Type, "payment.") && !strings.HasPrefix(e.Type, "ticket.") {
		return nil
	}
	if json.Unmarshal(e.Data, &data) != nil {
		return nil // kept, as the shop's record, but not read
	}
	if err := d.reportTicket(ctx, tx, storeID, e.Seq, data.Ticket); err != nil {
		return err
	}
	p, ok := paymentOf(data)
	if !ok {
		return nil
	}
	_, err = tx.StmtContext(ctx, d.stmts.upsertPayment).ExecContext(ctx,
		storeID, p.ID, p.TicketRef, p.Status, p.Amount, p.Tip, p.Currency, p.TransactionRef, p.AuthCode,
		p.MerchantID, p.TerminalID, p.Card.Scheme, p.Card.MaskedPAN, e.Day, formatTime(e.At), e.Seq)
	if err != nil {
		return fmt.Errorf("hub: payment of event %d: %w", e.Seq, err)
	}
	return nil
}

// eventData is what a ticket or payment event's data tells: the ticket as
// the shop has it, with its payments.
type eventData struct {
	PaymentID string      `json:"payment_id"`
	TicketRef string      `json:"ticket_ref"`
	Ticket    eventTicket `json:"ticket"`
}

type eventTicket struct {
	Ref      string         `json:"ref"`
	Source   string         `json:"source"`
	Status   string         `json:"status"`
	Total    int64          `json:"total"`
	Paid     int64          `json:"paid"`
	Due      int64          `json:"due"`
	Version  int64          `json:"version"`
	Payments []eventPayment `json:"payments"`
}

type eventPayment struct {
	ID             string `json:"id"`
	TicketRef      string `json:"-"`
	Status         string `json:"status"`
	Amount         int64  `json:"amount"`
	Tip            int64  `json:"tip"`
	Currency       string `json:"currency"`
	TransactionRef string `json:"transaction_ref"`
	AuthCode       string `json:"auth_code"`
	MerchantID     string `json:"merchant_id"`
	TerminalID     string `json:"terminal_id"`
	Card           struct {
		Scheme    string `json:"scheme"`
		MaskedPAN string `json:"masked_pan"`
	} `json:"card"`
}

// paymentOf finds the event's payment in its data; an event whose payment
// the hub cannot read is kept all the same (it is the shop's record),
// only not listed as a payment.
func paymentOf(d eventData) (eventPayment, bool) {
	if d.PaymentID == "" {
		return eventPayment{}, false
	}
	for _, p := range d.Ticket.Payments {
		if p.ID == d.PaymentID {
			if p.Amount < 0 || p.Amount > 100000000 || p.Tip < 0 || p.Tip > 100000000 || p.Status == "" {
				return eventPayment{}, false
			}
			p.TicketRef = d.TicketRef
			return p, true
		}
	}
	return eventPayment{}, false
}
