package views

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

// Every text the pages and handlers ask for exists in both languages, with
// the same fmt verbs.
func TestEveryKeyIsTranslated(t *testing.T) {
	verbs := regexp.MustCompile(`%[a-z]`)
	for key, m := range messages {
		if m[0] == "" || m[1] == "" {
			t.Errorf("%s: a translation is empty: %q", key, m)
		}
		if a, b := verbs.FindAllString(m[0], -1), verbs.FindAllString(m[1], -1); strings.Join(a, "") != strings.Join(b, "") {
			t.Errorf("%s: verbs %v in French, %v in English", key, a, b)
		}
	}
	used := map[string]bool{}
	call := regexp.MustCompile(`\bTf?\("([a-z_]+\.[a-z_.]+)"`)
	quoted := regexp.MustCompile(`"((?:err|pay|term|till|set|setup|login|logout|ticket)\.[a-z_]+)"`)
	var files []string
	for _, pat := range []string{"*.templ", "*.go", "../*.go"} {
		m, _ := filepath.Glob(pat)
		files = append(files, m...)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || strings.HasSuffix(f, "_templ.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range call.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = true
		}
		// Keys passed around before T is called: notices, errors.
		if filepath.Dir(f) == ".." {
			for _, m := range quoted.FindAllStringSubmatch(string(b), -1) {
				used[m[1]] = true
			}
		}
	}
	for _, n := range nav {
		used["nav."+n.Key] = true
	}
	for _, s := range ticketStatuses {
		used["status."+s] = true
	}
	for _, s := range paymentStatuses {
		used["pstatus."+s] = true
	}
	for _, e := range []string{gateway.EventTicketCreated, gateway.EventTicketUpdated, gateway.EventTicketCancelled,
		gateway.EventTicketPaid, gateway.EventPaymentStarted, gateway.EventPaymentApproved, gateway.EventPaymentDeclined,
		gateway.EventPaymentCancelled, gateway.EventPaymentUnknown, gateway.EventPaymentError, gateway.EventPaymentResolved, gateway.EventPaymentReview} {
		used["event."+e] = true
	}
	if len(used) < 100 {
		t.Fatalf("only %d keys found in the sources: the scan is broken", len(used))
	}
	for k := range used {
		if _, ok := messages[k]; !ok {
			t.Errorf("%s is used but has no translation", k)
		}
	}
}

func TestFromAcceptLanguage(t *testing.T) {
	for h, want := range map[string]Lang{
		"":                        French,
		"en":                      English,
		"en-US,en;q=0.9":          English,
		"de-DE,en;q=0.8,fr;q=0.9": French,
		"de-DE,en;q=0.8":          English,
		"fr-BE,fr;q=0.9,en;q=0.8": French,
		"es":                      French,
		"en;q=0,fr;q=0.1":         French,
		"EN-gb":                   English,
		"*":                       French,
	} {
		if got := FromAcceptLanguage(h); got != want {
			t.Errorf("%q: %s, want %s", h, got, want)
		}
	}
}

func TestFormats(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	fr := Page{L: French, Loc: paris, Currency: "EUR"}
	en := Page{L: English, Loc: paris, Currency: "EUR"}
	for _, c := range []struct{ got, want string }{
		{fr.Money(123456), "1\u00a0234,56\u00a0€"},
		{fr.Money(-500), "-5,00\u00a0€"},
		{en.Money(123456), "€1,234.56"},
		{en.Money(-500), "-€5.00"},
		{fr.Rate(550), "5,5\u00a0%"},
		{en.Rate(2000), "20%"},
		{en.Rate(210), "2.1%"},
		{fr.Time(time.Date(2026, 3, 3, 11, 5, 0, 0, time.UTC)), "03/03/2026 12:05"},
		{en.Time(time.Date(2026, 7, 3, 11, 5, 0, 0, time.UTC)), "2026-07-03 13:05"},
		{fr.Day(time.Date(2026, 3, 3, 0, 0, 0, 0, paris)), "mardi 3 mars 2026"},
		{en.Day(time.Date(2026, 3, 3, 0, 0, 0, 0, paris)), "Tuesday 3 March 2026"},
		{fr.Bytes(1536), "1,5 Ko"},
		{en.Bytes(512), "512 B"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
