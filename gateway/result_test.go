package gateway_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/passerelle/passerelle/gateway"
)

func goodResult() gateway.Result {
	return gateway.Result{PaymentID: "pay_1", Status: gateway.PaymentApproved, Amount: 1000, Currency: "EUR",
		Card: &gateway.Card{Scheme: "CB", MaskedPAN: "#####5743", Entry: "chip"}, AuthCode: "185568",
		TransactionRef: "185568D324964D", MerchantID: "0000015000", TerminalID: "02189020000",
		Receipt: []string{"CARTE BANCAIRE", "SIRET 362 521 874 00036", "#####5743"}}
}

// Free text is made storable, with one warning per field that never
// quotes it; money fields are left to Validate.
func TestResultNormalize(t *testing.T) {
	r := goodResult()
	if w := r.Normalize(); len(w) != 0 {
		t.Fatalf("a good result: warnings %v", w)
	}
	if !slices.Equal(r.Receipt, goodResult().Receipt) || *r.Card != *goodResult().Card {
		t.Fatalf("a good result changed: %+v", r)
	}

	const pan = "4111 1111 1111 1111"
	many := make([]string, 120)
	for i := range many {
		many[i] = fmt.Sprintf("LIGNE %d", i)
	}
	cases := []struct {
		name  string
		edit  func(*gateway.Result)
		field string
		check func(gateway.Result) bool
	}{
		{"card number", func(r *gateway.Result) { r.Receipt[1] = "CB " + pan }, "receipt[1]",
			func(r gateway.Result) bool { return r.Receipt[1] == "CB #### #### #### 1111" }},
		{"full-width card number", func(r *gateway.Result) { r.Receipt[1] = "４１１１１１１１１１１１１１１１" }, "receipt[1]",
			func(r gateway.Result) bool { return r.Receipt[1] == "############１１１１" }},
		{"long line", func(r *gateway.Result) { r.Receipt[1] = strings.Repeat("é", 70) }, "receipt[1]",
			func(r gateway.Result) bool { return r.Receipt[1] == strings.Repeat("é", 64) }},
		{"card number past the cut", func(r *gateway.Result) { r.Receipt[1] = strings.Repeat("=", 52) + pan }, "receipt[1]",
			func(r gateway.Result) bool { return r.Receipt[1] == strings.Repeat("=", 52)+"4111 1111 11" }},
		{"too many lines", func(r *gateway.Result) { r.Receipt = slices.Clone(many) }, "receipt",
			func(r gateway.Result) bool { return slices.Equal(r.Receipt, many[:gateway.MaxReceiptLines]) }},
		{"control characters", func(r *gateway.Result) { r.Receipt[1] = "MONTANT\t53,50\r" }, "receipt[1]",
			func(r gateway.Result) bool { return r.Receipt[1] == "MONTANT 53,50 " }},
		{"bidi override", func(r *gateway.Result) { r.Receipt[1] = "\u202eCARTE" }, "receipt[1]",
			func(r gateway.Result) bool { return r.Receipt[1] == "CARTE" }},
		{"invalid UTF-8", func(r *gateway.Result) { r.Receipt[1] = "CARTE \xff" }, "receipt[1]",
			func(r gateway.Result) bool { return r.Receipt[1] == "CARTE \uFFFD" }},
		{"long entry", func(r *gateway.Result) { r.Card.Entry = "contactless mobile wallet" }, "card.entry",
			func(r gateway.Result) bool { return r.Card.Entry == "contactless mobi" }},
	}
	for _, tc := range cases {
		r := goodResult()
		tc.edit(&r)
		sent := slices.Clone(r.Receipt)
		sentCard := r.Card
		sentEntry := r.Card.Entry
		kept := r // the caller's copy, sharing the receipt and the card
		warns := r.Normalize()
		if len(warns) != 1 || warns[0].Field != tc.field || warns[0].Message == "" {
			t.Errorf("%s: warnings %v, want one on %s", tc.name, warns, tc.field)
		}
		for _, w := range warns {
			if strings.ContainsAny(w.Message, "１é\t=") || strings.Contains(w.Message, "1111") {
				t.Errorf("%s: the warning quotes the text: %q", tc.name, w.Message)
			}
		}
		if !tc.check(r) {
			t.Errorf("%s: normalized to %q, entry %q", tc.name, r.Receipt, r.Card.Entry)
		}
		if err := r.Validate(); err != nil {
			t.Errorf("%s: normalized, still refused: %v", tc.name, err)
		}
		if !slices.Equal(kept.Receipt, sent) || sentCard.Entry != sentEntry {
			t.Errorf("%s: the caller's copy changed", tc.name)
		}
		again := r
		if w := again.Normalize(); len(w) != 0 || !slices.Equal(again.Receipt, r.Receipt) || *again.Card != *r.Card {
			t.Errorf("%s: a second Normalize changed it: %v", tc.name, w)
		}
		for i, l := range r.Receipt {
			if utf8.RuneCountInString(l) > gateway.MaxResultField || gateway.LooksLikePAN(l) {
				t.Errorf("%s: receipt[%d] = %q", tc.name, i, l)
			}
		}
	}

	// Money fields are not touched: Validate decides.
	r = goodResult()
	r.AuthCode = pan
	r.Card.MaskedPAN = "4111111111111111"
	if w := r.Normalize(); len(w) != 0 || r.AuthCode != pan || r.Card.MaskedPAN != "4111111111111111" {
		t.Errorf("money fields normalized: %v %+v", w, r)
	}
}

// Record takes a result whose free text is not storable as it is, for
// every caller: the approval is recorded, the text made storable.
func TestRecordNormalizesFreeText(t *testing.T) {
	l := newLedger(t)
	tk := l.ticket(t, "20261202-00004", 5000)
	p := l.start(t, tk, 5000)
	r := resultOf(p, gateway.PaymentApproved)
	r.TerminalID = "4970101234565" // 13 digits, Luhn-valid
	r.Receipt = []string{"SIRET 362 521 874 00036", strings.Repeat("=", 70), "CB 4111 1111 1111 1111"}
	for len(r.Receipt) < 120 {
		r.Receipt = append(r.Receipt, "LIGNE")
	}
	got, changed, err := l.payments.Record(context.Background(), l.term.ID, r)
	if err != nil || !changed {
		t.Fatalf("record: changed %v, %v", changed, err)
	}
	if got.Status != gateway.PaymentApproved || got.TerminalID != r.TerminalID || len(got.Receipt) != gateway.MaxReceiptLines ||
		got.Receipt[0] != r.Receipt[0] || got.Receipt[1] != strings.Repeat("=", 64) || got.Receipt[2] != "CB #### #### #### 1111" {
		t.Errorf("recorded %+v", got)
	}
	l.check(t, tk.ID, gateway.TicketPaid, 5000, 0)
	stored, err := l.payments.Get(context.Background(), p.ID)
	if err != nil || !slices.Equal(stored.Receipt, got.Receipt) {
		t.Errorf("stored receipt %q, %v", stored.Receipt, err)
	}
}
