package tillapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/passerelle/passerelle/drivers/tillapi"
	"github.com/passerelle/passerelle/gateway"
)

// FuzzDecodeTicket feeds any body to the decoder and the rules, as the API
// does. Neither may panic; what they refuse is a 400 or a 422; what they
// accept carries no card number and survives a round trip through
// encoding/json as the same content.
func FuzzDecodeTicket(f *testing.F) {
	rules := gateway.DefaultConfig().Rules()
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := tillapi.DecodeTicket(body)
		if err != nil {
			var p *tillapi.Problem
			if !errors.As(err, &p) || (p.Status != http.StatusBadRequest && p.Status != http.StatusUnprocessableEntity) {
				t.Fatalf("DecodeTicket: %v (%T), want a 400 or 422 problem", err, err)
			}
			return
		}
		if err := rules.Validate(&in); err != nil {
			var ve *gateway.ValidationError
			if !errors.As(err, &ve) || len(ve.Fields) == 0 {
				t.Fatalf("Validate: %v (%T), want field errors", err, err)
			}
			return
		}
		texts := []string{in.Ref, in.Table, in.Server, in.Loyalty}
		var sum int64
		for _, l := range in.Lines {
			texts = append(texts, l.Label)
			sum += l.Qty * l.UnitPrice
		}
		for _, s := range texts {
			if gateway.LooksLikePAN(s) {
				t.Fatalf("accepted a card number in %q", s)
			}
		}
		if sum != in.Total {
			t.Fatalf("accepted total %d, lines sum to %d", in.Total, sum)
		}
		var vatSum int64
		for _, v := range gateway.VATBreakdown(in.Lines) {
			vatSum += v.Total
		}
		if vatSum != in.Total {
			t.Fatalf("VAT breakdown sums to %d, total %d", vatSum, in.Total)
		}

		again, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		in2, err := tillapi.DecodeTicket(again)
		if err != nil {
			t.Fatalf("re-encoded %s refused: %v", again, err)
		}
		if err := rules.Validate(&in2); err != nil {
			t.Fatalf("re-encoded %s invalid: %v", again, err)
		}
		if !bytes.Equal(in.ContentHash(), in2.ContentHash()) {
			t.Fatalf("content hash changed through %s:\n%+v\n%+v", again, in, in2)
		}
	})
}
