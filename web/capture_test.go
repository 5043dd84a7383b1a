package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
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

func (f *fakeCapture) TryTemplate(_ context.Context, jobID, source string) (string, string, views.TemplateTry, error) {
	if jobID != "cjob_1" {
		return "", "", views.TemplateTry{}, gateway.ErrNotFound
	}
	if source == "" {
		source = "name: default"
	}
	try := views.TemplateTry{Tried: true, Error: "unparsed: no total"}
	if strings.Contains(source, "SOMME") {
		try = views.TemplateTry{Tried: true, Ref: "9", Total: 1200, Lines: []gateway.Line{{Label: "PLAT", Qty: 1, UnitPrice: 1200, VATRate: 1000}}}
	}
	return "BON 9\n1 PLAT 12,00\nSOMME 12,00", source, try, nil
}

func (f *fakeCapture) SaveTemplate(ctx context.Context, name, jobID, source string) (views.TemplateTry, error) {
	_, _, try, err := f.TryTemplate(ctx, jobID, source)
	if err == nil && try.Error != "" {
		err = &gateway.ValidationError{Fields: []gateway.FieldError{{Field: "source", Message: "the template does not read this note: " + try.Error}}}
	}
	return try, err
}

func TestCapturePage(t *testing.T) {
	s := newShop(t)
	off := false
	capt := &fakeCapture{
		printers: []views.CapturePrinter{{Name: "bar", Listen: ":9100", Forward: "192.0.2.5:9100", Till: "Caisse bar", Template: "default", Online: &off, Waiting: 3}},
		jobs: []views.CaptureJob{
			{At: s.clock.Now(), Printer: "bar", Status: "created", Text: "NOTE N° 1253\nNET À PAYER : 53,50", HasRead: true, Ref: "1253", Total: 5350},
			{ID: "cjob_1", At: s.clock.Now(), Printer: "bar", Status: "unparsed", Reason: "unparsed: no total", Text: "CUISINE\n2 ENTRECOTE"},
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
	// The unparsed job opens in the template editor: the default does not
	// read it, a template that does is saved.
	r = c.get("/capture/template?job=cjob_1")
	r.want(t, http.StatusOK, "template-form", "template-result", "template-error")
	r = c.post("/capture/template", formOf("job", "cjob_1", "name", "bon", "source", "name: bon", "action", "save"))
	r.want(t, http.StatusUnprocessableEntity, "template-form", "template-error")
	r = c.post("/capture/template", formOf("job", "cjob_1", "name", "bon", "source", "name: bon # SOMME", "action", "try"))
	r.want(t, http.StatusOK, "template-read")
	r = c.post("/capture/template", formOf("job", "cjob_1", "name", "bon", "source", "name: bon # SOMME", "action", "save"))
	r.want(t, http.StatusOK, "template-read")
	if !strings.Contains(r.body, "Modèle enregistré") {
		t.Fatalf("no notice: %s", r.body)
	}
	c.get("/capture/template?job=nope").want(t, http.StatusNotFound)

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
