package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/web/views"
)

// ticketsPerPage is how many tickets a page of the list shows.
const ticketsPerPage = 200

// manager is who the admin page acts as towards the ticket service: it
// sees every till's tickets.
var manager = gateway.Till{Name: "manager", Admin: true}

func (s *Server) tickets(w http.ResponseWriter, r *http.Request, q *req) error {
	ctx := r.Context()
	p := s.page(r, q, q.lang.T("nav.tickets"), "tickets")
	qs := r.URL.Query()
	m := views.Tickets{Page: p, Errors: views.Errors{}}
	m.Filter = views.TicketFilter{Status: qs.Get("status"), Table: qs.Get("table"), Day: qs.Get("day")}
	if !qs.Has("day") {
		m.Filter.Day = s.c.Now().In(p.Loc).Format(dayLayout)
	}
	tq := gateway.TicketQuery{Table: m.Filter.Table, After: qs.Get("after"), Limit: ticketsPerPage + 1}
	if m.Filter.Status != "" {
		if !gateway.ValidTicketStatus(m.Filter.Status) {
			m.Errors["status"] = q.lang.T("err.bad_status")
		}
		tq.Statuses = []gateway.TicketStatus{gateway.TicketStatus(m.Filter.Status)}
	}
	if msg := textError(q.lang, m.Filter.Table, 0, gateway.MaxNameLen); msg != "" {
		m.Errors["table"] = msg
	}
	var day time.Time
	if m.Filter.Day != "" {
		var ok bool
		if day, ok = parseDay(m.Filter.Day, p.Loc); !ok {
			m.Errors["day"] = q.lang.T("err.bad_day")
		}
	}
	if len(m.Errors) > 0 {
		return render(w, r, http.StatusUnprocessableEntity, views.TicketsPage(m))
	}
	var ts []gateway.Ticket
	var err error
	if day.IsZero() {
		ts, err = s.c.Store.Tickets(ctx, tq)
	} else {
		start, end := dayBounds(day, p.Loc)
		ts, err = s.c.Store.TicketsCreated(ctx, start, end, tq)
	}
	if err != nil {
		return err
	}
	if len(ts) > ticketsPerPage {
		ts = ts[:ticketsPerPage]
		v := url.Values{"status": {m.Filter.Status}, "table": {m.Filter.Table}, "day": {m.Filter.Day},
			"after": {ts[len(ts)-1].ID}}
		m.Next = "/tickets?" + v.Encode()
	}
	m.Tickets = ts
	return render(w, r, http.StatusOK, views.TicketsPage(m))
}

func (s *Server) ticketModel(ctx context.Context, p views.Page, id string) (views.TicketDetail, error) {
	t, err := s.c.Store.Ticket(ctx, id)
	if err != nil {
		return views.TicketDetail{}, err
	}
	evs, err := s.c.Store.TicketEvents(ctx, id)
	if err != nil {
		return views.TicketDetail{}, err
	}
	p.Title = p.L.Tf("title.ticket", t.Ref)
	m := views.TicketDetail{Page: p, Ticket: t, Events: evs}
	m.CanCancel = t.Status != gateway.TicketCancelled && t.Paid == 0
	for _, pay := range t.Payments {
		if pay.InProgress() {
			m.CanCancel = false
		}
	}
	return m, nil
}

func (s *Server) ticket(w http.ResponseWriter, r *http.Request, q *req) error {
	m, err := s.ticketModel(r.Context(), s.page(r, q, "", "tickets"), r.PathValue("id"))
	if err != nil {
		return err
	}
	return render(w, r, http.StatusOK, views.TicketPage(m))
}

func (s *Server) cancelTicket(w http.ResponseWriter, r *http.Request, q *req) error {
	ctx := r.Context()
	id := r.PathValue("id")
	_, err := s.c.Tickets.Cancel(ctx, manager, id)
	var conflict *gateway.ConflictError
	if errors.As(err, &conflict) {
		// Say why on the ticket's own page, as it stands now.
		m, merr := s.ticketModel(ctx, s.page(r, q, "", "tickets"), id)
		if merr != nil {
			return merr
		}
		m.Error = q.lang.Tf("err.conflict", conflict.Reason)
		return render(w, r, http.StatusConflict, views.TicketPage(m))
	}
	if err != nil {
		return err
	}
	s.c.Log.Info("ticket cancelled from the admin page", "ticket", id)
	redirect(w, r, "/tickets/"+url.PathEscape(id), "ticket.cancelled")
	return nil
}
