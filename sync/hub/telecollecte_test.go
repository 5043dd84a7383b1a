package hub_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/passerelle/passerelle/sync/hub"
	"github.com/passerelle/passerelle/sync/wire"
)

// bankFile is a télécollecte export as a French acquirer's back office
// writes it: BOM, ";", CRLF, decimal commas, French dates, columns of its
// own, a quoted field with a ";" inside.
const bankFile = "\ufeffDate;N° remise;Terminal;transaction_ref;Type;Montant brut;amount;Libellé\r\n" +
	"02/12/2026;R001;02189020000;TX-A;DEBIT;53,50;53,50;\"Table 5; 2 couverts\"\r\n" +
	"02/12/2026;R001;02189020000;TX-B;DEBIT;10,00;10,00;\r\n" +
	"02/12/2026;R001;02189020000;TX-X;DEBIT;7,20;7,20;inconnu\r\n" +
	"02/12/2026;R001;02189020000;TX-D;DEBIT;12;12,00;\r\n" +
	"03/12/2026;R002;02189020000;TX-E;DEBIT;5,00;5,00;le lendemain\r\n"

func TestParseTelecollecte(t *testing.T) {
	lines, err := hub.ParseTelecollecte(strings.NewReader(bankFile))
	if err != nil {
		t.Fatal(err)
	}
	want := []hub.BankLine{{2, "TX-A", 5350, "2026-12-02"}, {3, "TX-B", 1000, "2026-12-02"}, {4, "TX-X", 720, "2026-12-02"},
		{5, "TX-D", 1200, "2026-12-02"}, {6, "TX-E", 500, "2026-12-03"}}
	if len(lines) != len(want) {
		t.Fatalf("%d lines: %+v", len(lines), lines)
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d: %+v, want %+v", i, lines[i], want[i])
		}
	}
	// The same with ",", "." and ISO dates, columns in another order.
	comma := "amount,transaction_ref,date\n10.5,TX-1,2026-12-02\n\"1 234,56\",TX-2,2026-12-02\n-3.00,TX-3,2026-12-02\n"
	lines, err = hub.ParseTelecollecte(strings.NewReader(comma))
	if err != nil {
		t.Fatal(err)
	}
	if lines[0].Amount != 1050 || lines[1].Amount != 123456 || lines[2].Amount != -300 {
		t.Fatalf("amounts: %+v", lines)
	}
}

func TestParseTelecollecteRefusesWithLineAndColumn(t *testing.T) {
	head := "transaction_ref;amount;date\n"
	for _, tc := range []struct {
		name, file string
		line       int
		column     string
	}{
		{"empty", "", 1, ""},
		{"no amount column", "transaction_ref;montant;date\nTX;1,00;02/12/2026\n", 1, "amount"},
		{"a column twice", "transaction_ref;amount;date;Amount\n", 1, "amount"},
		{"an amount in words", head + "TX-1;1,00;02/12/2026\nTX-2;dix euros;02/12/2026\n", 3, "amount"},
		{"thousands and decimals mixed", head + "TX-1;1.234,56;02/12/2026\n", 2, "amount"},
		{"three decimals", head + "TX-1;1,234;02/12/2026\n", 2, "amount"},
		{"a date that is not", head + "TX-1;1,00;31/02/2026\n", 2, "date"},
		{"an American date", head + "TX-1;1,00;12/31/2026\n", 2, "date"},
		{"no ref", head + " ;1,00;02/12/2026\n", 2, "transaction_ref"},
		{"a column short", head + "TX-1;1,00\n", 2, ""},
		{"a bad quote", head + "TX-1;\"1,00;02/12/2026\n", 2, ""},
		{"not UTF-8", head + "TX-\xff;1,00;02/12/2026\n", 2, ""},
		{"a huge amount", head + "TX-1;99999999999999;02/12/2026\n", 2, "amount"},
		{"a ref too long", head + strings.Repeat("R", hub.MaxBankField+1) + ";1,00;02/12/2026\n", 2, "transaction_ref"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := hub.ParseTelecollecte(strings.NewReader(tc.file))
			var pe *hub.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want a ParseError", err)
			}
			if pe.Line != tc.line || pe.Column != tc.column {
				t.Fatalf("%v: line %d column %q, want line %d column %q", err, pe.Line, pe.Column, tc.line, tc.column)
			}
		})
	}
}

// TestReconcile: matched, missing, unexpected and amount mismatch, from
// a real bank-style file; a malformed file records nothing.
func TestReconcile(t *testing.T) {
	ctx := context.Background()
	db, path := openDB(t)
	id, _ := addStore(t, db, "Chez Julie")
	// Four approved payments on the 2nd (one with a tip), one declined.
	var b wire.Batch
	for i, p := range []struct {
		ref, status string
		amount      int64
	}{{"TX-A", "approved", 5350}, {"TX-B", "approved", 1000}, {"TX-C", "approved", 2000}, {"TX-D", "approved", 1100}, {"TX-X", "declined", 720}} {
		e := paymentEvent(int64(i+1), "payment.approved", "2026-12-02", p.status, p.ref)
		e.Data = bytes.Replace(e.Data, []byte(`"id":"pay_1"`), []byte(`"id":"pay_`+p.ref+`"`), 1)
		e.Data = bytes.Replace(e.Data, []byte(`"payment_id":"pay_1"`), []byte(`"payment_id":"pay_`+p.ref+`"`), 1)
		e.Data = bytes.Replace(e.Data, []byte(`"amount":5350,"tip":100`), []byte(`"amount":`+itoa(p.amount-100)+`,"tip":100`), 1)
		b.Events = append(b.Events, e)
	}
	if _, err := db.Ingest(ctx, id, b); err != nil {
		t.Fatal(err)
	}
	lines, err := hub.ParseTelecollecte(strings.NewReader(bankFile))
	if err != nil {
		t.Fatal(err)
	}
	r, err := db.Reconcile(ctx, id, "2026-12-02", lines)
	if err != nil {
		t.Fatal(err)
	}
	refs := func(es []hub.ReconEntry) string {
		var s []string
		for _, e := range es {
			s = append(s, e.TransactionRef)
		}
		return strings.Join(s, ",")
	}
	if refs(r.Matched) != "TX-A,TX-B" || refs(r.Missing) != "TX-C" || refs(r.Unexpected) != "TX-X" || refs(r.AmountMismatch) != "TX-D" || r.OtherDays != 1 || r.OK() {
		t.Fatalf("matched %s, missing %s, unexpected %s, mismatch %s, other days %d",
			refs(r.Matched), refs(r.Missing), refs(r.Unexpected), refs(r.AmountMismatch), r.OtherDays)
	}
	if m := r.AmountMismatch[0]; *m.Amount != 1100 || *m.BankAmount != 1200 {
		t.Fatalf("mismatch amounts %d / %d", *m.Amount, *m.BankAmount)
	}
	if c := r.Missing[0]; *c.Amount != 2000 || c.BankAmount != nil {
		t.Fatalf("missing: %+v", c)
	}

	// Through the API: a read key only; a malformed file is refused with
	// its line and column, and recorded nowhere.
	srv := httptest.NewServer(hub.NewServer(hub.Config{DB: db, Log: slog.New(slog.DiscardHandler)}).Handler())
	defer srv.Close()
	a := api{t, srv.URL}
	readKey, _ := db.AddKey(ctx, "Compta", "")
	url := "/api/v1/stores/" + id + "/reconciliation?day=2026-12-02"
	status, body := a.do("POST", url, readKey, []byte(bankFile))
	var got hub.Reconciliation
	if status != 200 || json.Unmarshal(body, &got) != nil || len(got.Matched) != 2 {
		t.Fatalf("reconcile over HTTP: %d %s", status, body)
	}
	before := countRecons(t, path)
	status, body = a.do("POST", url, readKey, []byte("transaction_ref;amount;date\nTX-A;53,50;02/12/2026\nTX-B;dix;02/12/2026\n"))
	if status != 422 || !bytes.Contains(body, []byte("line 3, column amount")) {
		t.Fatalf("malformed over HTTP: %d %s", status, body)
	}
	if after := countRecons(t, path); after != before {
		t.Fatalf("a malformed file was recorded: %d then %d", before, after)
	}
	if status, _ := a.do("POST", url, addStoreKey(t, db), []byte(bankFile)); status != 403 {
		t.Fatalf("a store key reconciles: %d", status)
	}
}

func addStoreKey(t *testing.T, db *hub.DB) string {
	_, key := addStore(t, db, "Autre")
	return key
}

func itoa(v int64) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func countRecons(t *testing.T, path string) int {
	t.Helper()
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var n int
	if err := raw.QueryRow("SELECT count(*) FROM reconciliations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// FuzzParseTelecollecte: any file is parsed or refused with a line, never
// a panic, and what is accepted is within the limits.
func FuzzParseTelecollecte(f *testing.F) {
	f.Add([]byte(bankFile))
	f.Add([]byte("amount,transaction_ref,date\n10.5,TX-1,2026-12-02\n\"1 234,56\",TX-2,2026-12-02\n"))
	f.Add([]byte("transaction_ref;amount;date\n\"TX\"\"1\";-0,5;29/02/2028\n"))
	f.Fuzz(func(t *testing.T, file []byte) {
		lines, err := hub.ParseTelecollecte(bytes.NewReader(file))
		if err != nil {
			var pe *hub.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("an error without its line: %v", err)
			}
			return
		}
		for _, l := range lines {
			if l.TransactionRef == "" || len(l.TransactionRef) > hub.MaxBankField || l.Amount > hub.MaxBankAmount || l.Amount < -hub.MaxBankAmount || len(l.Date) != 10 || l.Line < 2 {
				t.Fatalf("accepted %+v", l)
			}
		}
	})
}
