package web

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/web/views"
)

func validPaymentStatus(s string) bool {
	switch gateway.PaymentStatus(s) {
	case gateway.PaymentPending, gateway.PaymentApproved, gateway.PaymentDeclined, gateway.PaymentCancelled,
		gateway.PaymentError, gateway.PaymentUnknown:
		return true
	}
	return false
}

func (s *Server) payments(w http.ResponseWriter, r *http.Request, q *req) error {
	ctx := r.Context()
	p := s.page(r, q, q.lang.T("nav.payments"), "payments")
	qs := r.URL.Query()
	m := views.Payments{Page: p, Errors: views.Errors{},
		Filter: views.PaymentFilter{Day: qs.Get("day"), Terminal: qs.Get("terminal"), Status: qs.Get("status")}}
	if m.Filter.Day == "" {
		m.Filter.Day = s.c.Now().In(p.Loc).Format(dayLayout)
	}
	day, ok := parseDay(m.Filter.Day, p.Loc)
	if !ok {
		m.Errors["day"] = q.lang.T("err.bad_day")
	}
	if m.Filter.Status != "" && !validPaymentStatus(m.Filter.Status) {
		m.Errors["status"] = q.lang.T("err.bad_status")
	}
	terms, err := s.c.Terminals.List(ctx)
	if err != nil {
		return err
	}
	for _, t := range terms {
		m.Terminals = append(m.Terminals, t.Name)
	}
	online := s.online()
	inProgress, err := s.c.Store.PaymentsInProgress(ctx)
	if err != nil {
		return err
	}
	if m.InProgress, err = s.paymentRows(ctx, inProgress, online); err != nil {
		return err
	}
	if m.Overpaid, err = s.overpaid(ctx); err != nil {
		return err
	}
	toReview, err := s.c.Store.PaymentsToReview(ctx)
	if err != nil {
		return err
	}
	if m.Review, err = s.paymentRows(ctx, toReview, online); err != nil {
		return err
	}
	if len(m.Errors) > 0 {
		return render(w, r, http.StatusUnprocessableEntity, views.PaymentsPage(m))
	}
	from, to := dayBounds(day, p.Loc)
	all, err := s.c.Store.PaymentsBetween(ctx, from, to)
	if err != nil {
		return err
	}
	var shown []gateway.Payment
	for _, pay := range all {
		if (m.Filter.Terminal == "" || pay.Terminal == m.Filter.Terminal) &&
			(m.Filter.Status == "" || string(pay.Status) == m.Filter.Status) {
			shown = append(shown, pay)
			if pay.Status == gateway.PaymentApproved {
				m.Total += pay.Amount
			}
		}
	}
	if m.Payments, err = s.paymentRows(ctx, shown, online); err != nil {
		return err
	}
	return render(w, r, http.StatusOK, views.PaymentsPage(m))
}

// paymentRows adds to payments their tickets' references and whether their
// terminal is connected.
func (s *Server) paymentRows(ctx context.Context, ps []gateway.Payment, online map[string]bool) ([]views.PaymentRow, error) {
	var ids []string
	for _, p := range ps {
		ids = append(ids, p.TicketID)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	ts, err := s.c.Store.TicketsByIDs(ctx, ids)
	if err != nil {
		return nil, err
	}
	refs := map[string]string{}
	for _, t := range ts {
		refs[t.ID] = t.Ref
	}
	out := make([]views.PaymentRow, len(ps))
	for i, p := range ps {
		out[i] = views.PaymentRow{Payment: p, TicketRef: refs[p.TicketID], Online: online[p.DeviceID]}
	}
	return out, nil
}

// resolvePayment records the manager's decision on a payment whose outcome
// is unknown, from the bank's records.
func (s *Server) resolvePayment(w http.ResponseWriter, r *http.Request, q *req) error {
	id := r.PathValue("id")
	st := gateway.PaymentStatus(r.PostForm.Get("status"))
	// Only an unknown payment is the manager's to decide: the ledger
	// refuses any other (a conflict), for every caller.
	_, err := s.c.Payments.Resolve(r.Context(), id, st)
	var ve *gateway.ValidationError
	if errors.As(err, &ve) {
		s.renderError(w, r, q, http.StatusUnprocessableEntity, "err.bad_status")
		return nil
	}
	if err != nil {
		return err
	}
	s.c.Log.Info("payment resolved from the admin page", "payment", id, "status", st)
	redirect(w, r, "/payments", "pay.resolved")
	return nil
}

// reviewedPayment records that the manager checked a payment whose
// terminal's result contradicted the manager's decision.
func (s *Server) reviewedPayment(w http.ResponseWriter, r *http.Request, q *req) error {
	id := r.PathValue("id")
	if err := s.c.Payments.Reviewed(r.Context(), id); err != nil {
		return err
	}
	s.c.Log.Info("payment checked after its terminal contradicted the manager", "payment", id)
	redirect(w, r, "/payments", "pay.reviewed_done")
	return nil
}

func (s *Server) abortPayment(w http.ResponseWriter, r *http.Request, q *req) error {
	if s.c.Hub == nil {
		return gateway.ErrNotFound
	}
	asked, err := s.c.Hub.Abort(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	notice := "pay.aborted"
	if !asked {
		notice = "pay.abort_offline"
	}
	redirect(w, r, "/payments", notice)
	return nil
}

// reprintPayment prints an approved payment's receipts again on its
// terminal: a client who lost the ticket, or a terminal that reconnected
// during the payment and printed nothing.
func (s *Server) reprintPayment(w http.ResponseWriter, r *http.Request, q *req) error {
	if s.c.Hub == nil {
		return gateway.ErrNotFound
	}
	sent, err := s.c.Hub.Reprint(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	notice := "pay.reprinted"
	if !sent {
		notice = "pay.reprint_offline"
	}
	s.c.Log.Info("payment receipts reprinted from the admin page", "payment", r.PathValue("id"), "sent", sent)
	redirect(w, r, "/payments", notice)
	return nil
}
