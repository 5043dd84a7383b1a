package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/web"
	"github.com/passerelle/passerelle/web/views"
)

// fakeCapture is print capture as its page sees it.
type fakeCapture struct {
	printers []views.CapturePrinter
	jobs     []views.CaptureJob
}

func (f *fakeCapture) CapturePrinters(context.Context) []views.CapturePrinter { return f.printers }
func (f *fakeCapture) CaptureJobs(_ context.Context, limit int) []views.CaptureJob {
	return f.jobs[:min(limit, len(f.jobs))]
}

func TestCapturePage(t *testing.T) {
	s := newShop(t)
	off := false
	capt := &fakeCapture{
		printers: []views.CapturePrinter{{Name: "bar", Listen: ":9100", Forward: "192.0.2.5:9100", Till: "Caisse bar", Template: "default", Online: &off, Waiting: 3}},
		jobs: []views.CaptureJob{
			{At: s.clock.Now(), Printer: "bar", Status: "created", Text: "NOTE N° 1253\nNET À PAYER : 53,50", HasRead: true, Ref: "1253", Total: 5350},
			{At: s.clock.Now(), Printer: "bar", Status: "unparsed", Reason: "unparsed: no total", Text: "CUISINE\n2 ENTRECOTE"},
		},
	}
	s.h = web.New(web.Config{
		Admin: s.admin, Tickets: s.tickets, Tills: s.tills, Terminals: s.terminals, Payments: s.payments,
		Events: s.events, Store: s.st, Hub: s.hub, Scenarios: s.scenarios, Settings: s.settings, Webhooks: s.retrier,
		Capture: capt, PairingLink: func(code string) string { return "passerelle://pair?code=" + code },
		DataDir: s.dir, SetupCodeFile: s.codes.Path(), Version: "test", Log: discard, Now: s.clock.Now,
		Heartbeat: 100 * time.Millisecond, OnlinePoll: 20 * time.Millisecond,
	}).Handler()
	c := s.setup()
	r := c.get("/capture")
	r.want(t, http.StatusOK, "capture-printers", "capture-printer-bar", "capture-jobs", "capture-job-created", "capture-job-unparsed")
	if r.text("capture-state") != "hors ligne" || r.text("capture-waiting") != "3" {
		t.Fatalf("printer row: %q, %q", r.text("capture-state"), r.text("capture-waiting"))
	}
	if !strings.Contains(r.body, "CUISINE") || !strings.Contains(r.body, "unparsed: no total") || !strings.Contains(r.body, "53,50") {
		t.Fatalf("jobs: %s", r.text("capture-jobs"))
	}
	// Without capture printers the page says how to add one.
	s = newShop(t)
	s.h = web.New(web.Config{
		Admin: s.admin, Tickets: s.tickets, Tills: s.tills, Terminals: s.terminals, Payments: s.payments,
		Events: s.events, Store: s.st, Hub: s.hub, Scenarios: s.scenarios, Settings: s.settings, Webhooks: s.retrier,
		PairingLink: func(code string) string { return "passerelle://pair?code=" + code },
		DataDir:     s.dir, SetupCodeFile: s.codes.Path(), Version: "test", Log: discard, Now: s.clock.Now,
	}).Handler()
	s.setup().get("/capture").want(t, http.StatusOK, "capture-none")
}
