package web

import (
	"context"
	"net/http"

	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/web/views"
)

// maxDashboardTickets is how many open tickets the dashboard lists; the
// tickets page has the rest.
const maxDashboardTickets = 1000

func (s *Server) dashboard(w http.ResponseWriter, r *http.Request, q *req) error {
	m, err := s.dashboardModel(r.Context(), s.page(r, q, q.lang.T("nav.dashboard"), "dashboard"))
	if err != nil {
		return err
	}
	return render(w, r, http.StatusOK, views.DashboardPage(m))
}

func (s *Server) dashboardModel(ctx context.Context, p views.Page) (views.Dashboard, error) {
	m := views.Dashboard{Page: p}
	open, err := s.c.Store.Tickets(ctx, gateway.TicketQuery{
		Statuses: []gateway.TicketStatus{gateway.TicketOpen, gateway.TicketPartiallyPaid}, Limit: maxDashboardTickets + 1})
	if err != nil {
		return m, err
	}
	if len(open) > maxDashboardTickets {
		open, m.OpenMore = open[:maxDashboardTickets], true
	}
	m.Open = open
	for _, t := range open {
		m.OpenDue += t.Due
	}
	if m.Overpaid, err = s.overpaid(ctx); err != nil {
		return m, err
	}
	from, to := dayBounds(s.c.Now(), p.Loc)
	pays, err := s.c.Store.PaymentsBetween(ctx, from, to)
	if err != nil {
		return m, err
	}
	for _, pay := range pays {
		if pay.Status == gateway.PaymentApproved {
			m.Takings += pay.Amount
			m.Tips += pay.Tip
			m.PaymentsToday++
		}
	}
	if m.InProgress, err = s.c.Store.PaymentsInProgress(ctx); err != nil {
		return m, err
	}
	if m.Terminals, err = s.terminalRows(ctx, false); err != nil {
		return m, err
	}
	for _, t := range m.Terminals {
		if t.Online {
			m.Online++
		}
	}
	if s.c.Sync != nil {
		m.Sync = s.c.Sync.State(ctx)
	}
	if s.c.Alerts != nil {
		m.Alerts = s.c.Alerts()
	}
	if err := s.c.Scenarios.LastError(); err != nil {
		m.ScenarioError = err.Error()
	}
	return m, nil
}

// overpaidLimit bounds the tickets to refund listed: there should be none.
const overpaidLimit = 200

// overpaid lists the tickets with money to give back: overpaid, or
// cancelled with a late approval on them.
func (s *Server) overpaid(ctx context.Context) ([]gateway.Ticket, error) {
	return s.c.Store.TicketsToRefund(ctx, overpaidLimit)
}

// terminalRows lists the terminals with whether each is connected; revoked
// ones only if withRevoked.
func (s *Server) terminalRows(ctx context.Context, withRevoked bool) ([]views.TerminalRow, error) {
	ts, err := s.c.Terminals.List(ctx)
	if err != nil {
		return nil, err
	}
	online := s.online()
	var out []views.TerminalRow
	for _, t := range ts {
		if t.RevokedAt != nil && !withRevoked {
			continue
		}
		out = append(out, views.TerminalRow{Terminal: t, Online: t.RevokedAt == nil && online[t.ID]})
	}
	return out, nil
}

func (s *Server) online() map[string]bool {
	out := map[string]bool{}
	if s.c.Hub == nil {
		return out
	}
	for _, id := range s.c.Hub.OnlineIDs() {
		out[id] = true
	}
	return out
}
