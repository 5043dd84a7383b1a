package web

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/passerelle/passerelle/gateway"

	"github.com/passerelle/passerelle/web/views"
)

// Capture is print capture's state for its page (docs/capture.md).
type Capture interface {
	// CapturePrinters are the configured capture printers and their state.
	CapturePrinters(ctx context.Context) []views.CapturePrinter
	// CaptureJobs are the recent jobs of every capture printer, newest
	// first, at most limit.
	CaptureJobs(ctx context.Context, limit int) []views.CaptureJob
	// TryTemplate reads job jobID's text with the template source (the
	// built-in default's when empty): the text, the source, what it read.
	// gateway.ErrNotFound when there is no such job.
	TryTemplate(ctx context.Context, jobID, source string) (text, src string, try views.TemplateTry, err error)
	// SaveTemplate saves source as the template name, only if it reads
	// job jobID into a ticket; a *gateway.ValidationError says why not.
	SaveTemplate(ctx context.Context, name, jobID, source string) (views.TemplateTry, error)
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

func (s *Server) templateEditor(w http.ResponseWriter, r *http.Request, q *req) error {
	if s.c.Capture == nil {
		return gateway.ErrNotFound
	}
	m := views.TemplateEditor{Page: s.page(r, q, q.lang.T("cap.edit"), "capture"), JobID: r.URL.Query().Get("job"), Errors: views.Errors{}}
	var err error
	m.Text, m.Source, m.Try, err = s.c.Capture.TryTemplate(r.Context(), m.JobID, "")
	if err != nil {
		return err
	}
	return render(w, r, http.StatusOK, views.TemplateEditorPage(m))
}

func (s *Server) saveTemplate(w http.ResponseWriter, r *http.Request, q *req) error {
	if s.c.Capture == nil {
		return gateway.ErrNotFound
	}
	ctx := r.Context()
	m := views.TemplateEditor{Page: s.page(r, q, q.lang.T("cap.edit"), "capture"), JobID: r.PostForm.Get("job"),
		Name: strings.TrimSpace(r.PostForm.Get("name")), Source: r.PostForm.Get("source"), Errors: views.Errors{}}
	var err error
	m.Text, m.Source, m.Try, err = s.c.Capture.TryTemplate(ctx, m.JobID, m.Source)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if r.PostForm.Get("action") == "save" {
		var ve *gateway.ValidationError
		m.Try, err = s.c.Capture.SaveTemplate(ctx, m.Name, m.JobID, m.Source)
		switch {
		case errors.As(err, &ve):
			status = http.StatusUnprocessableEntity
			m.Errors = fieldErrors(q.lang, ve, map[string]string{"name": "name", "source": ""})
		case err != nil:
			return err
		default:
			m.Notice = q.lang.T("cap.tpl_saved")
			s.c.Log.Info("capture template saved from the admin page", "name", m.Name)
		}
	}
	return render(w, r, status, views.TemplateEditorPage(m))
}
