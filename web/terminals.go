package web

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"rsc.io/qr"

	"github.com/passerelle/passerelle/web/views"
)

func (s *Server) terminalsModel(ctx context.Context, p views.Page) (views.Terminals, error) {
	m := views.Terminals{Page: p, Errors: views.Errors{}}
	var err error
	if m.Terminals, err = s.terminalRows(ctx, true); err != nil {
		return m, err
	}
	found, err := s.c.Discovery.Discovered(ctx)
	if err != nil {
		// Discovery is a convenience: the page works without it.
		s.c.Log.Warn("admin: terminal discovery", "err", err)
	}
	m.Discovered = found
	if v, ok := s.c.Terminals.LastPairingVoid(); ok {
		m.Voided = &v
	}
	return m, nil
}

func (s *Server) terminals(w http.ResponseWriter, r *http.Request, q *req) error {
	m, err := s.terminalsModel(r.Context(), s.page(r, q, q.lang.T("nav.terminals"), "terminals"))
	if err != nil {
		return err
	}
	return render(w, r, http.StatusOK, views.TerminalsPage(m))
}

// pairTerminal shows a new pairing code, its link and the link's QR code,
// once: the answer is the page, not a redirect, so the code lives nowhere
// but in the store (hashed) and on this screen.
func (s *Server) pairTerminal(w http.ResponseWriter, r *http.Request, q *req) error {
	ctx := r.Context()
	code, exp, err := s.c.Terminals.NewPairingCode(ctx)
	if err != nil {
		return err
	}
	m, err := s.terminalsModel(ctx, s.page(r, q, q.lang.T("nav.terminals"), "terminals"))
	if err != nil {
		return err
	}
	link := s.c.PairingLink(code)
	code2, err := qrCode(link)
	if err != nil {
		return err
	}
	m.Pairing = &views.Pairing{Code: code, Link: link, QR: code2, Expires: exp}
	s.c.Log.Info("pairing code issued from the admin page", "expires", exp)
	return render(w, r, http.StatusOK, views.TerminalsPage(m))
}

// qrCode draws link as a QR code: one SVG path of the dark modules, so the
// page needs no image and no script.
func qrCode(link string) (views.QR, error) {
	c, err := qr.Encode(link, qr.M)
	if err != nil {
		return views.QR{}, fmt.Errorf("web: QR code: %w", err)
	}
	var b strings.Builder
	for y := 0; y < c.Size; y++ {
		for x := 0; x < c.Size; x++ {
			if c.Black(x, y) {
				fmt.Fprintf(&b, "M%d %dh1v1h-1z", x, y)
			}
		}
	}
	return views.QR{Size: c.Size, Path: b.String()}, nil
}

func (s *Server) renameTerminal(w http.ResponseWriter, r *http.Request, q *req) error {
	ctx := r.Context()
	id := r.PathValue("id")
	name := strings.TrimSpace(r.PostForm.Get("name"))
	if _, err := s.c.Terminals.Find(ctx, id); err != nil {
		return err
	}
	_, err := s.c.Terminals.Rename(ctx, id, name)
	status, errs, conflict, err := refused(q.lang, err)
	if err != nil {
		return err
	}
	msg := errs["name"]
	if conflict != nil {
		msg = q.lang.T("err.exists")
	}
	if status != 0 {
		m, err := s.terminalsModel(ctx, s.page(r, q, q.lang.T("nav.terminals"), "terminals"))
		if err != nil {
			return err
		}
		m.Errors["rename-"+id] = msg
		m.Renaming = map[string]string{id: name}
		return render(w, r, status, views.TerminalsPage(m))
	}
	redirect(w, r, "/terminals", "term.renamed")
	return nil
}

func (s *Server) revokeTerminal(w http.ResponseWriter, r *http.Request, q *req) error {
	ctx := r.Context()
	t, err := s.c.Terminals.Find(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	if t.RevokedAt == nil { // twice is once: a double click adds no second event
		if t, err = s.c.Terminals.Revoke(ctx, t.ID); err != nil {
			return err
		}
	}
	s.c.Log.Info("terminal revoked from the admin page", "terminal", t.ID)
	redirect(w, r, "/terminals", "term.revoked_done")
	return nil
}
