package hub_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/sync/hub"
	"github.com/passerelle/passerelle/sync/wire"
)

func openDB(t *testing.T) (*hub.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hub.db")
	db, err := hub.Open(context.Background(), path, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

func addStore(t *testing.T, db *hub.DB, name string) (string, string) {
	t.Helper()
	s, key, err := db.AddStore(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return s.ID, key
}

// events returns the events from..to of a shop's log.
func events(from, to int64) wire.Batch {
	var b wire.Batch
	at := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	for s := from; s <= to; s++ {
		b.Events = append(b.Events, wire.Event{Seq: s, Type: "ticket.created", At: at.Add(time.Duration(s) * time.Second),
			Day: "2026-12-02", Data: json.RawMessage(fmt.Sprintf(`{"ticket_ref":"T%d"}`, s))})
	}
	return b
}

func TestIngestExactlyOnce(t *testing.T) {
	db, _ := openDB(t)
	testIngestExactlyOnce(t, db)
}

func testIngestExactlyOnce(t *testing.T, db *hub.DB) {
	ctx := context.Background()
	id, _ := addStore(t, db, "Chez Julie")
	other, _ := addStore(t, db, "Chez Paul")
	steps := []struct {
		name     string
		b        wire.Batch
		acked    int64
		gapAt    int64 // a 409 saying this, if > 0
		stored   int64
		otherGap bool
	}{
		{"first batch", events(1, 10), 10, 0, 10, false},
		{"the same again", events(1, 10), 10, 0, 10, false},
		{"an overlap", events(5, 15), 15, 0, 15, false},
		{"an old one", events(1, 3), 15, 0, 15, false},
		{"a gap", events(17, 20), 0, 15, 15, false},
		{"empty: where it stands", wire.Batch{}, 15, 0, 15, false},
		{"the next", events(16, 16), 16, 0, 16, false},
	}
	for _, s := range steps {
		acked, err := db.Ingest(ctx, id, s.b)
		var gap *hub.GapError
		switch {
		case s.gapAt > 0:
			if !errors.As(err, &gap) || gap.AckedThrough != s.gapAt {
				t.Fatalf("%s: err = %v, want a gap at %d", s.name, err, s.gapAt)
			}
		case err != nil:
			t.Fatalf("%s: %v", s.name, err)
		case acked != s.acked:
			t.Fatalf("%s: acked %d, want %d", s.name, acked, s.acked)
		}
		if n, _ := db.EventCount(ctx, id); n != s.stored {
			t.Fatalf("%s: %d events stored, want %d", s.name, n, s.stored)
		}
	}
	// Another store's log is its own.
	if acked, err := db.Ingest(ctx, other, events(1, 2)); err != nil || acked != 2 {
		t.Fatalf("other store: %d, %v", acked, err)
	}
	if _, err := db.Ingest(ctx, "sto_NOPE", events(1, 2)); !errors.Is(err, hub.ErrNotFound) {
		t.Fatalf("unknown store: %v", err)
	}
}

// TestGapCheckIsTheDatabase writes behind the hub's back: the schema
// itself refuses a doubled event and one out of sequence.
func TestGapCheckIsTheDatabase(t *testing.T) {
	db, path := openDB(t)
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	testGapCheckIsTheDatabase(t, db, raw, "?, ?")
}

// testGapCheckIsTheDatabase inserts with raw, whose placeholders for
// store_id and seq are params.
func testGapCheckIsTheDatabase(t *testing.T, db *hub.DB, raw *sql.DB, params string) {
	ctx := context.Background()
	id, _ := addStore(t, db, "Chez Julie")
	if _, err := db.Ingest(ctx, id, events(1, 3)); err != nil {
		t.Fatal(err)
	}
	insert := func(seq int64) error {
		_, err := raw.Exec(`INSERT INTO events (store_id, seq, type, at, day, data, received_at)
			VALUES (`+params+`, 't', '2026-12-02T09:00:00.000000000Z', '2026-12-02', '{}', '2026-12-02T09:00:00.000000000Z')`, id, seq)
		return err
	}
	for _, seq := range []int64{2, 3, 5, 0} {
		if err := insert(seq); err == nil {
			t.Fatalf("event %d after 3 was stored", seq)
		}
	}
	if err := insert(4); err != nil {
		t.Fatalf("event 4 after 3: %v", err)
	}
	var acked int64
	if err := raw.QueryRow("SELECT acked_through FROM stores WHERE id = "+strings.SplitN(params, ",", 2)[0], id).Scan(&acked); err != nil || acked != 4 {
		t.Fatalf("acked_through = %d, %v; want 4", acked, err)
	}
}

func TestOpenRefusesNewerSchemaAndKeepsFilePrivate(t *testing.T) {
	db, path := openDB(t)
	db.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("hub.db mode %v, want 0600", fi.Mode().Perm())
	}
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec("PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	if _, err := hub.Open(context.Background(), path, time.Now); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("open a newer schema: %v", err)
	}
}

// paymentEvent is a payment event as the gateway writes it: the ticket
// with its payments.
func paymentEvent(seq int64, typ, day, status, txRef string) wire.Event {
	data := fmt.Sprintf(`{"type":%q,"ticket_id":"tkt_1","ticket_ref":"1253","payment_id":"pay_1","at":"x",
		"ticket":{"id":"tkt_1","ref":"1253","payments":[{"id":"pay_0","status":"declined","amount":1},
		{"id":"pay_1","status":%q,"amount":5350,"tip":100,"currency":"EUR","transaction_ref":%q,"auth_code":"A1B2",
		"merchant_id":"M1","terminal_id":"T001","card":{"scheme":"CB","masked_pan":"************1234"}}]}}`, typ, status, txRef)
	return wire.Event{Seq: seq, Type: typ, At: time.Date(2026, 12, 2, 22, 59, 0, 0, time.UTC).Add(time.Duration(seq) * time.Minute),
		Day: day, Data: json.RawMessage(data)}
}

func TestPaymentsFromEvents(t *testing.T) {
	db, _ := openDB(t)
	testPaymentsFromEvents(t, db)
}

func testPaymentsFromEvents(t *testing.T, db *hub.DB) {
	ctx := context.Background()
	id, _ := addStore(t, db, "Chez Julie")
	b := wire.Batch{Events: []wire.Event{
		paymentEvent(1, "payment.started", "2026-12-02", "pending", ""),
		paymentEvent(2, "payment.approved", "2026-12-03", "approved", "TX-0001"),
	}}
	if _, err := db.Ingest(ctx, id, b); err != nil {
		t.Fatal(err)
	}
	// The same batch again changes nothing.
	if _, err := db.Ingest(ctx, id, b); err != nil {
		t.Fatal(err)
	}
	pays, err := db.Payments(ctx, id, "2026-12-02")
	if err != nil {
		t.Fatal(err)
	}
	if len(pays) != 1 {
		t.Fatalf("%d payments, want 1: %+v", len(pays), pays)
	}
	p := pays[0]
	if p.PaymentID != "pay_1" || p.Status != "approved" || p.Amount != 5350 || p.Tip != 100 || p.TransactionRef != "TX-0001" ||
		p.AuthCode != "A1B2" || p.TerminalID != "T001" || p.Scheme != "CB" || p.MaskedPAN != "************1234" || p.TicketRef != "1253" {
		t.Fatalf("payment = %+v", p)
	}
	if pays, _ := db.Payments(ctx, id, "2026-12-03"); len(pays) != 0 {
		t.Fatalf("the payment moved to the day it was approved: %+v", pays)
	}
	if _, err := db.Payments(ctx, id, "12/02/2026"); !errors.Is(err, hub.ErrInvalid) {
		t.Fatalf("bad day: %v", err)
	}
}

type api struct {
	t   *testing.T
	url string
}

func (a api) do(method, path, key string, body []byte) (int, []byte) {
	a.t.Helper()
	req, err := http.NewRequest(method, a.url+path, bytes.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

func encode(t *testing.T, b wire.Batch) []byte {
	t.Helper()
	var bl wire.Builder
	for _, e := range b.Events {
		if err := bl.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	return bl.Bytes()
}

func TestAPIKeysAndScopes(t *testing.T) {
	db, _ := openDB(t)
	testAPIKeysAndScopes(t, db)
}

func testAPIKeysAndScopes(t *testing.T, db *hub.DB) {
	ctx := context.Background()
	srv := httptest.NewServer(hub.NewServer(hub.Config{DB: db, Log: slog.New(slog.DiscardHandler)}).Handler())
	defer srv.Close()
	a := api{t, srv.URL}
	julie, julieKey := addStore(t, db, "Chez Julie")
	paul, paulKey := addStore(t, db, "Chez Paul")
	readKey, err := db.AddKey(ctx, "Siège", "")
	if err != nil {
		t.Fatal(err)
	}
	webKey, err := db.AddKey(ctx, "Site Julie", julie)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddKey(ctx, "Site fantôme", "sto_NOPE"); !errors.Is(err, hub.ErrNotFound) {
		t.Fatalf("a web shop key for no store: %v", err)
	}
	batch := encode(t, events(1, 2))
	push := "/api/v1/stores/" + julie + "/events"
	for _, tc := range []struct {
		name, method, path, key string
		body                    []byte
		want                    int
	}{
		{"no key", "POST", push, "", batch, 401},
		{"unknown key", "POST", push, "phs_NOPE", batch, 401},
		{"another store's key", "POST", push, paulKey, batch, 403},
		{"a read key pushes", "POST", push, readKey, batch, 403},
		{"a web shop key pushes", "POST", push, webKey, batch, 403},
		{"the store's key", "POST", push, julieKey, batch, 200},
		{"a gap", "POST", push, julieKey, encode(t, events(5, 6)), 409},
		{"a bad batch", "POST", push, julieKey, []byte(`{"events":[{"seq":1}]}`), 400},
		{"too large", "POST", push, julieKey, bytes.Repeat([]byte(" "), wire.MaxBatchBytes+1), 413},
		{"list with a store key", "GET", "/api/v1/stores", julieKey, nil, 403},
		{"list with a web shop key", "GET", "/api/v1/stores", webKey, nil, 403},
		{"list with a read key", "GET", "/api/v1/stores", readKey, nil, 200},
		{"payments with a store key", "GET", "/api/v1/stores/" + julie + "/payments?day=2026-12-02", julieKey, nil, 403},
		{"payments with a read key", "GET", "/api/v1/stores/" + julie + "/payments?day=2026-12-02", readKey, nil, 200},
		{"payments of no store", "GET", "/api/v1/stores/sto_NOPE/payments?day=2026-12-02", readKey, nil, 404},
		{"payments without a day", "GET", "/api/v1/stores/" + julie + "/payments", readKey, nil, 400},
		{"health without a key", "GET", "/healthz", "", nil, 200},
	} {
		status, body := a.do(tc.method, tc.path, tc.key, tc.body)
		if status != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, status, body, tc.want)
		}
		if tc.name == "a gap" && string(bytes.TrimSpace(body)) != `{"acked_through":2}` {
			t.Errorf("a gap: body %s, want the acked position", body)
		}
	}
	// A revoked store key stops at once, and its web shop's key with it.
	if err := db.RevokeStore(ctx, julie); err != nil {
		t.Fatal(err)
	}
	if status, _ := a.do("POST", push, julieKey, batch); status != 401 {
		t.Fatalf("revoked store key: %d", status)
	}
	if p, err := db.Authenticate(ctx, webKey); !errors.Is(err, hub.ErrUnauthorized) {
		t.Fatalf("web shop key of a revoked store: %+v, %v", p, err)
	}
	if status, _ := a.do("POST", "/api/v1/stores/"+paul+"/events", paulKey, batch); status != 200 {
		t.Fatalf("the other store is unaffected: %d", status)
	}
	status, body := a.do("GET", "/api/v1/stores", readKey, nil)
	var list struct{ Stores []hub.Store }
	if err := json.Unmarshal(body, &list); status != 200 || err != nil || len(list.Stores) != 2 {
		t.Fatalf("stores: %d %s", status, body)
	}
}

// TestKeysHashedAtRest: no key appears in the database file.
func TestKeysHashedAtRest(t *testing.T) {
	ctx := context.Background()
	db, path := openDB(t)
	id, storeKey := addStore(t, db, "Chez Julie")
	web, _ := db.AddKey(ctx, "Site", id)
	read, _ := db.AddKey(ctx, "Siège", "")
	db.Close()
	var all []byte
	for _, p := range []string{path, path + "-wal"} {
		b, _ := os.ReadFile(p)
		all = append(all, b...)
	}
	for _, k := range []string{storeKey, web, read} {
		if bytes.Contains(all, []byte(k)) || bytes.Contains(all, []byte(strings.SplitN(k, "_", 2)[1])) {
			t.Fatalf("a key is in the database in clear")
		}
	}
}

func openBenchDB(b *testing.B) (*hub.DB, error) {
	db, err := hub.Open(context.Background(), filepath.Join(b.TempDir(), "hub.db"), time.Now)
	if err == nil {
		b.Cleanup(func() { db.Close() })
	}
	return db, err
}
