package upstream_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/sync/hub"
	"github.com/passerelle/passerelle/sync/upstream"
)

func call(t *testing.T, method, url, key string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

func order(ref, table string, total int64) gateway.TicketInput {
	return gateway.TicketInput{Ref: ref, Table: table, Lines: []gateway.Line{{Label: "Menu retrait", Qty: 1, UnitPrice: total, VATRate: 1000}}, Total: total}
}

// webTicket returns the shop's ticket of a web order, by table.
func webTicket(t *testing.T, sh *shop, table string) (gateway.Ticket, bool) {
	t.Helper()
	tks, err := sh.st.Tickets(context.Background(), gateway.TicketQuery{Table: table, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range tks {
		if tk.Source == gateway.SourceWeb && tk.Till == gateway.WebTillName {
			full, err := sh.st.Ticket(context.Background(), tk.ID)
			if err != nil {
				t.Fatal(err)
			}
			return full, true
		}
	}
	return gateway.Ticket{}, false
}

// TestWebOrderPaidInTheShop: a web shop posts an order to the hub; the
// shop pulls it as a ticket of its web till; it is paid there by its
// table number; the web shop reads it back paid, with its transaction
// reference.
func TestWebOrderPaidInTheShop(t *testing.T) {
	ctx := context.Background()
	sh, h := newShop(t), newHub(t)
	webKey, err := h.db.AddKey(ctx, "Site de Julie", h.storeID)
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := h.db.AddStore(ctx, "Chez Paul")
	if err != nil {
		t.Fatal(err)
	}
	otherKey, _ := h.db.AddKey(ctx, "Site de Paul", other.ID)
	orders := h.srv.URL + "/api/v1/stores/" + h.storeID + "/orders"

	if status, body := call(t, "POST", orders, webKey, order("W-1", "42", 2400)); status != 201 {
		t.Fatalf("post order: %d %s", status, body)
	}
	if status, _ := call(t, "POST", orders, webKey, order("W-1", "42", 2400)); status != 200 {
		t.Fatalf("the same order again: %d", status)
	}
	if status, _ := call(t, "POST", orders, otherKey, order("W-2", "43", 100)); status != 403 {
		t.Fatalf("another store's web shop key: %d", status)
	}
	if status, _ := call(t, "GET", orders+"/W-1", otherKey, nil); status != 403 {
		t.Fatalf("another store's key reads: %d", status)
	}
	bad := order("W-3", "44", 2400)
	bad.Total = 1
	if status, body := call(t, "POST", orders, webKey, bad); status != 422 || !bytes.Contains(body, []byte(`"total"`)) {
		t.Fatalf("an invalid order: %d %s", status, body)
	}

	set := h.settings(h.srv.URL)
	run(t, sh, set, func(c *upstream.Config) {
		c.Orders, c.OrderCursor, c.PollWait = sh.tickets, sh.st.WebCursor, time.Second
	})
	var tk gateway.Ticket
	waitFor(t, "the order in the shop", func() bool {
		var ok bool
		tk, ok = webTicket(t, sh, "42")
		return ok
	})
	if tk.Ref != "W-1" || tk.Total != 2400 || tk.Status != gateway.TicketOpen {
		t.Fatalf("the web ticket: %+v", tk)
	}

	// Changed online before anyone pays: the shop's ticket follows.
	if status, body := call(t, "POST", orders, webKey, order("W-1", "42", 2600)); status != 200 {
		t.Fatalf("update order: %d %s", status, body)
	}
	waitFor(t, "the update in the shop", func() bool {
		tk, _ = webTicket(t, sh, "42")
		return tk.Total == 2600 && tk.Version == 2
	})

	// Paid in the shop, on a terminal.
	p, _, err := sh.payments.Start(ctx, sh.term, tk.ID, tk.Due, 0)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the hub to see the payment in progress", func() bool {
		_, body := call(t, "GET", orders+"/W-1", webKey, nil)
		var v hub.OrderView
		json.Unmarshal(body, &v)
		return len(v.Payments) == 1
	})
	if status, _ := call(t, "POST", orders, webKey, order("W-1", "42", 9900)); status != 409 {
		t.Fatalf("changed online while paid in the shop: %d", status)
	}
	if status, _ := call(t, "DELETE", orders+"/W-1", webKey, nil); status != 409 {
		t.Fatalf("cancelled online while paid in the shop: %d", status)
	}
	_, _, err = sh.payments.Record(ctx, sh.term.ID, gateway.Result{PaymentID: p.ID, Status: gateway.PaymentApproved,
		Amount: p.Amount, Currency: "EUR", Card: &gateway.Card{Scheme: "CB", MaskedPAN: "#####5743"},
		AuthCode: "185568", TransactionRef: "185568D324964D", MerchantID: "0000015000", TerminalID: "02189020000"})
	if err != nil {
		t.Fatal(err)
	}
	var v hub.OrderView
	waitFor(t, "the web shop to read it paid", func() bool {
		_, body := call(t, "GET", orders+"/W-1", webKey, nil)
		json.Unmarshal(body, &v)
		return v.Status == hub.OrderPaid
	})
	if v.Paid != 2600 || v.Due != 0 || len(v.Payments) != 1 || v.Payments[0].TransactionRef != "185568D324964D" || v.Payments[0].Status != "approved" {
		t.Fatalf("the paid order: %+v", v)
	}

	// Another order, cancelled online before the shop touches it.
	if status, _ := call(t, "POST", orders, webKey, order("W-4", "45", 1500)); status != 201 {
		t.Fatal("post W-4")
	}
	waitFor(t, "W-4 in the shop", func() bool { _, ok := webTicket(t, sh, "45"); return ok })
	if status, body := call(t, "DELETE", orders+"/W-4", webKey, nil); status != 200 {
		t.Fatalf("cancel W-4: %d %s", status, body)
	}
	waitFor(t, "W-4 cancelled in the shop", func() bool {
		tk, _ := webTicket(t, sh, "45")
		return tk.Status == gateway.TicketCancelled
	})
	waitFor(t, "the web shop to read W-4 cancelled", func() bool {
		_, body := call(t, "GET", orders+"/W-4", webKey, nil)
		json.Unmarshal(body, &v)
		return v.Status == hub.OrderCancelled && v.Reported
	})
	checkExactlyOnce(t, sh, h)
}
