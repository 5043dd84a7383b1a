package hub

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/passerelle/passerelle/sync/wire"
)

// On PostgreSQL a batch is written in two statements, the events and the
// payments, each from arrays: a statement per event would be a network
// round trip per event. The events' trigger still checks each one.
const (
	insertEventsPG = `INSERT INTO events (store_id, seq, type, at, day, data, received_at)
		SELECT $1, u.seq, u.type, u.at, u.day, u.data, $2
		FROM unnest($3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[]) AS u(seq, type, at, day, data)
		ORDER BY u.seq`
	upsertPaymentsPG = `INSERT INTO payments (store_id, payment_id, ticket_ref, status, amount, tip, currency,
			transaction_ref, auth_code, merchant_id, terminal_id, scheme, masked_pan, day, at, seq)
		SELECT $1, u.* FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::text[],
			$8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::bigint[])
			AS u(payment_id, ticket_ref, status, amount, tip, currency, transaction_ref, auth_code, merchant_id,
				terminal_id, scheme, masked_pan, day, at, seq)
		ON CONFLICT (store_id, payment_id) DO UPDATE SET status = excluded.status, amount = excluded.amount,
			tip = excluded.tip, transaction_ref = excluded.transaction_ref, auth_code = excluded.auth_code,
			merchant_id = excluded.merchant_id, terminal_id = excluded.terminal_id, scheme = excluded.scheme,
			masked_pan = excluded.masked_pan, at = excluded.at, seq = excluded.seq
		WHERE excluded.seq > payments.seq`
)

// pgPayment is a payment's row from a batch: its last event's fields,
// its first event's day.
type pgPayment struct {
	p   eventPayment
	day string
	at  string
	seq int64
}

func (d *DB) insertEventsPG(ctx context.Context, tx *sql.Tx, storeID string, evs []wire.Event, acked int64, now string) error {
	var seqs []int64
	var types, ats, days, datas []string
	pays := map[string]*pgPayment{}
	var order []string
	for _, e := range evs {
		if e.Seq <= acked {
			continue
		}
		seqs = append(seqs, e.Seq)
		types = append(types, e.Type)
		ats = append(ats, formatTime(e.At))
		days = append(days, e.Day)
		datas = append(datas, string(e.Data))
	}
	if _, err := tx.ExecContext(ctx, insertEventsPG, storeID, now, seqs, types, ats, days, datas); err != nil {
		return fmt.Errorf("hub: events %d to %d: %w", seqs[0], seqs[len(seqs)-1], err)
	}
	for _, e := range evs {
		if e.Seq <= acked || (!strings.HasPrefix(e.Type, "payment.") && !strings.HasPrefix(e.Type, "ticket.")) {
			continue
		}
		var data eventData
		if json.Unmarshal(e.Data, &data) != nil {
			continue
		}
		if err := d.reportTicket(ctx, tx, storeID, e.Seq, data.Ticket); err != nil {
			return err
		}
		p, ok := paymentOf(data)
		if !ok {
			continue
		}
		if cur, seen := pays[p.ID]; seen {
			cur.p, cur.at, cur.seq = p, formatTime(e.At), e.Seq
			continue
		}
		pays[p.ID] = &pgPayment{p: p, day: e.Day, at: formatTime(e.At), seq: e.Seq}
		order = append(order, p.ID)
	}
	if len(order) == 0 {
		return nil
	}
	var ids, refs, statuses, currencies, txRefs, auths, merchants, terminals, schemes, pans, pdays, pats []string
	var amounts, tips, pseqs []int64
	for _, id := range order {
		r := pays[id]
		p := r.p
		ids, refs, statuses, currencies = append(ids, p.ID), append(refs, p.TicketRef), append(statuses, p.Status), append(currencies, p.Currency)
		txRefs, auths, merchants = append(txRefs, p.TransactionRef), append(auths, p.AuthCode), append(merchants, p.MerchantID)
		terminals, schemes, pans = append(terminals, p.TerminalID), append(schemes, p.Card.Scheme), append(pans, p.Card.MaskedPAN)
		pdays, pats = append(pdays, r.day), append(pats, r.at)
		amounts, tips, pseqs = append(amounts, p.Amount), append(tips, p.Tip), append(pseqs, r.seq)
	}
	_, err := tx.ExecContext(ctx, upsertPaymentsPG, storeID, ids, refs, statuses, amounts, tips, currencies,
		txRefs, auths, merchants, terminals, schemes, pans, pdays, pats, pseqs)
	if err != nil {
		return fmt.Errorf("hub: payments: %w", err)
	}
	return nil
}
