package web

import (
	"context"
	"net/http"

	"github.com/passerelle/passerelle/web/views"
)

// Capture is print capture's state for its page (docs/capture.md).
type Capture interface {
	// CapturePrinters are the configured capture printers and their state.
	CapturePrinters(ctx context.Context) []views.CapturePrinter
	// CaptureJobs are the recent jobs of every capture printer, newest
	// first, at most limit.
	CaptureJobs(ctx context.Context, limit int) []views.CaptureJob
}

// captureJobsShown bounds the jobs on the page.
const captureJobsShown = 50

func (s *Server) capture(w http.ResponseWriter, r *http.Request, q *req) error {
	m := views.Capture{Page: s.page(r, q, q.lang.T("nav.capture"), "capture")}
	if s.c.Capture != nil {
		m.Printers = s.c.Capture.CapturePrinters(r.Context())
		m.Jobs = s.c.Capture.CaptureJobs(r.Context(), captureJobsShown)
	}
	return render(w, r, http.StatusOK, views.CapturePage(m))
}
