package tillapi_test

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// luhnValid reports whether the ASCII digits of s pass the Luhn check.
func luhnValid(s string) bool {
	sum, double := 0, false
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] < '0' || s[i] > '9' {
			continue
		}
		d := int(s[i] - '0')
		if double {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// Ordinary ticket numbers, SIRETs and barcodes that happen to pass the Luhn
// check are not card numbers: a till whose ref is its ticket number cannot
// choose another one.
func TestLuhnValidRefsAccepted(t *testing.T) {
	e := newEnv(t, envOptions{})
	key := e.addTill("Caisse 1", false)

	refs := []string{"20261202-00004"}
	for day := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC); len(refs) < 40; day = day.AddDate(0, 0, 3) {
		for n := 1; n < 100; n++ {
			ref := fmt.Sprintf("%s-%05d", day.Format("20060102"), n)
			if luhnValid(ref) { // the ones a Luhn check alone refuses
				refs = append(refs, ref, strings.ReplaceAll(ref, "-", ""))
				break
			}
		}
	}
	for _, ref := range refs {
		if !luhnValid(ref) {
			t.Fatalf("%s fails the Luhn check: the test proves nothing", ref)
		}
		in := note(ref)
		in.Loyalty = ref
		if got := e.post(t, key, in, http.StatusCreated).ticket(t); got.Ref != ref || got.Loyalty != ref {
			t.Errorf("ref %q loyalty %q stored as %q %q", ref, ref, got.Ref, got.Loyalty)
		}
	}

	// The shop's SIRET and a barcode on a line, a 13-digit loyalty card.
	in := note("siret")
	in.Lines[0].Label = "SIRET 362 521 874 00036"
	in.Lines[1].Label = "MENU 4006381330060"
	in.Loyalty = "4970101234565"
	for _, v := range []string{"36252187400036", "4006381330060", in.Loyalty} {
		if !luhnValid(v) {
			t.Fatalf("%s fails the Luhn check: the test proves nothing", v)
		}
	}
	got := e.post(t, key, in, http.StatusCreated).ticket(t)
	if got.Lines[0].Label != in.Lines[0].Label || got.Lines[1].Label != in.Lines[1].Label || got.Loyalty != in.Loyalty {
		t.Errorf("stored %+v, want %+v", got, in)
	}
}

// A card number is refused however it is written: digits of another
// script, dots, double spaces. Nothing of it is stored, logged or echoed.
func TestCardNumbersInAnyScriptRefused(t *testing.T) {
	e := newEnv(t, envOptions{})
	key := e.addTill("Caisse 1", false)
	e.post(t, key, note("ok"), http.StatusCreated) // the files hold something

	const (
		fullWidth = "４９７０ １０１２ ３４５６ ７８９３"
		arabic    = "٤٩٧٠١٠١٢٣٤٥٦٧٨٩٣"
		dotted    = "4970.1012.3456.7893"
		spaced    = "4970  1012  3456  7893"
		zeroWidth = "4970\u200b1012\u200b3456\u200b7893"
	)
	cases := []struct {
		field, value string
		set          func(*ticketIn, string)
	}{
		{"lines[0].label", "CB " + fullWidth, func(in *ticketIn, v string) { in.Lines[0].Label = v }},
		{"lines[1].label", "بطاقة " + arabic, func(in *ticketIn, v string) { in.Lines[1].Label = v }},
		{"loyalty", dotted, func(in *ticketIn, v string) { in.Loyalty = v }},
		{"server", spaced, func(in *ticketIn, v string) { in.Server = v }},
		{"ref", zeroWidth, func(in *ticketIn, v string) { in.Ref = v }},
	}
	for _, c := range cases {
		in := note("pan")
		c.set(&in, c.value)
		r := e.do(t, "POST", "/api/v1/tickets", key, in)
		if r.status != http.StatusUnprocessableEntity {
			t.Errorf("%s = %q: status %d, want 422: %s", c.field, c.value, r.status, r.body)
			continue
		}
		if p := r.problem(t); !hasField(p, c.field) || len(p.Errors) != 1 {
			t.Errorf("%s = %q: fields %v", c.field, c.value, fieldsOf(p))
		}
		checkAbsent(t, "the response", r.body, c.value, fullWidth, arabic, dotted)
	}
	var files []byte
	for _, f := range []string{e.dbPath, e.dbPath + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		files = append(files, b...)
	}
	if !bytes.Contains(files, []byte("MENU ENFANT")) {
		t.Fatal("the database files do not hold the stored ticket: the check below would prove nothing")
	}
	values := []string{fullWidth, arabic, dotted, spaced, zeroWidth, "３４５６ ７８９３", "٣٤٥٦٧٨٩٣"}
	checkAbsent(t, "the database files", files, values...)
	checkAbsent(t, "the logs", []byte(e.logs.String()), values...)
	if n := e.lastSeq(t); n != 1 {
		t.Errorf("refused tickets appended events: last seq %d", n)
	}
}
