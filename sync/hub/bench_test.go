package hub_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/passerelle/passerelle/sync/wire"
)

// BenchmarkIngest: batches of 500 payment events of the usual size into
// a real SQLite file; reported as events/s.
func BenchmarkIngest(b *testing.B) {
	ctx := context.Background()
	db, err := openBenchDB(b)
	if err != nil {
		b.Fatal(err)
	}
	s, _, err := db.AddStore(ctx, "Bench")
	if err != nil {
		b.Fatal(err)
	}
	at := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	next := int64(1)
	b.ResetTimer()
	for range b.N {
		var batch wire.Batch
		for i := range int64(wire.MaxEvents) {
			seq := next + i
			batch.Events = append(batch.Events, wire.Event{Seq: seq, Type: "payment.approved", At: at, Day: "2026-12-02",
				Data: json.RawMessage(fmt.Sprintf(`{"payment_id":"pay_%d","ticket_ref":"T%d","ticket":{"ref":"T%d","source":"till","status":"paid","total":4300,"paid":4300,"payments":[{"id":"pay_%d","status":"approved","amount":4300,"transaction_ref":"TX%d","auth_code":"185568","terminal_id":"02189020000","card":{"scheme":"CB","masked_pan":"#####5743"}}]}}`, seq, seq, seq, seq, seq))})
		}
		if _, err := db.Ingest(ctx, s.ID, batch); err != nil {
			b.Fatal(err)
		}
		next += wire.MaxEvents
	}
	b.ReportMetric(float64(b.N*wire.MaxEvents)/b.Elapsed().Seconds(), "events/s")
}
