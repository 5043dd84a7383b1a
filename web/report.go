package web

import (
	"context"
	"encoding/csv"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/web/views"
)

// The day report (Z report) is the reconciliation of a day: what the
// terminals took, split by VAT rate, card scheme, terminal and server. A
// payment belongs to the day it started, in the shop's time zone, which is
// also the day the bank's settlement shows it. Each approved payment is
// shared among its ticket's VAT rates in proportion to the ticket's
// VAT-inclusive total at each rate, to the cent (largest remainders), so
// that the rates add up to exactly what was taken, split and partial
// payments included; the VAT of each rate is then worked out on the day's
// total at that rate, the way a ticket's is. Tips are recorded beside the
// amounts and are not shared among the rates.

func (s *Server) reportModel(ctx context.Context, p views.Page, dayValue string) (views.Report, bool, error) {
	m := views.Report{Page: p, Errors: views.Errors{}}
	if dayValue == "" {
		dayValue = s.c.Now().In(p.Loc).Format(dayLayout)
	}
	day, ok := parseDay(dayValue, p.Loc)
	if !ok {
		m.Errors["day"] = p.L.T("err.bad_day")
		day = s.c.Now()
	}
	from, to := dayBounds(day, p.Loc)
	m.Date, m.DayValue = from, from.Format(dayLayout)
	m.Prev, m.Next = from.AddDate(0, 0, -1).Format(dayLayout), to.Format(dayLayout)
	if !ok {
		return m, false, nil
	}
	pays, err := s.c.Store.PaymentsBetween(ctx, from, to)
	if err != nil {
		return m, true, err
	}
	var ids []string
	for _, pay := range pays {
		ids = append(ids, pay.TicketID)
	}
	slices.Sort(ids)
	ts, err := s.c.Store.TicketsByIDs(ctx, slices.Compact(ids))
	if err != nil {
		return m, true, err
	}
	tickets := make(map[string]gateway.Ticket, len(ts))
	for _, t := range ts {
		tickets[t.ID] = t
	}
	fillReport(&m, pays, tickets)
	return m, true, nil
}

// fillReport works out the report of pays, whose tickets are in tickets.
func fillReport(m *views.Report, pays []gateway.Payment, tickets map[string]gateway.Ticket) {
	perRate := map[int64]int64{}
	schemes, terminals, servers, other := rowSet{}, rowSet{}, rowSet{}, rowSet{}
	for _, p := range pays {
		t := tickets[p.TicketID]
		if p.Status != gateway.PaymentApproved {
			other.add(string(p.Status), p.Requested, p.Tip)
			continue
		}
		m.Approved.Count++
		m.Approved.Amount += p.Amount
		m.Approved.Tip += p.Tip
		scheme := ""
		if p.Card != nil {
			scheme = p.Card.Scheme
		}
		schemes.add(scheme, p.Amount, p.Tip)
		terminals.add(p.Terminal, p.Amount, p.Tip)
		servers.add(t.Server, p.Amount, p.Tip)
		for rate, share := range shareByRate(p.Amount, t.VAT) {
			perRate[rate] += share
		}
	}
	for rate, total := range perRate {
		vat := gateway.VATIncluded(total, rate)
		m.ByVAT = append(m.ByVAT, views.VATRow{Rate: rate, Base: total - vat, VAT: vat, Total: total})
	}
	sort.Slice(m.ByVAT, func(i, j int) bool { return m.ByVAT[i].Rate < m.ByVAT[j].Rate })
	for _, v := range m.ByVAT {
		m.VATTotal.Base += v.Base
		m.VATTotal.VAT += v.VAT
		m.VATTotal.Total += v.Total
	}
	m.ByScheme, m.ByTerminal, m.ByServer, m.Other = schemes.rows(), terminals.rows(), servers.rows(), other.rows()
	for _, t := range tickets {
		if t.Refund() > 0 { // overpaid, or cancelled with money on it
			m.Overpaid = append(m.Overpaid, t)
		}
	}
	sort.Slice(m.Overpaid, func(i, j int) bool { return m.Overpaid[i].ID < m.Overpaid[j].ID })
}

type rowSet map[string]*views.ReportRow

func (rs rowSet) add(label string, amount, tip int64) {
	r, ok := rs[label]
	if !ok {
		r = &views.ReportRow{Label: label}
		rs[label] = r
	}
	r.Count++
	r.Amount += amount
	r.Tip += tip
}

func (rs rowSet) rows() []views.ReportRow {
	out := make([]views.ReportRow, 0, len(rs))
	for _, r := range rs {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Label < out[j].Label })
	return out
}

// shareByRate splits amount among VAT rates in proportion to each rate's
// total, to the cent: each share is rounded down, and the cents left go to
// the largest remainders (the lower rate first on a tie). The shares add up
// to amount exactly. Products are taken in big integers: a ticket's lines
// may carry large amounts that cancel out.
func shareByRate(amount int64, vat []gateway.VATLine) map[int64]int64 {
	out := map[int64]int64{}
	total := new(big.Int)
	for _, v := range vat {
		total.Add(total, big.NewInt(v.Total))
	}
	if total.Sign() <= 0 {
		out[0] = amount // no rate to share by: cannot happen for a valid ticket
		return out
	}
	type part struct {
		rate  int64
		rem   *big.Int
		share int64
	}
	parts := make([]part, len(vat))
	given := int64(0)
	for i, v := range vat {
		q, r := new(big.Int).DivMod(new(big.Int).Mul(big.NewInt(amount), big.NewInt(v.Total)), total, new(big.Int))
		parts[i] = part{rate: v.Rate, rem: r, share: q.Int64()}
		given += parts[i].share
	}
	sort.SliceStable(parts, func(i, j int) bool {
		if c := parts[i].rem.Cmp(parts[j].rem); c != 0 {
			return c > 0
		}
		return parts[i].rate < parts[j].rate
	})
	for i := 0; given < amount; i = (i + 1) % len(parts) {
		parts[i].share++
		given++
	}
	for _, p := range parts {
		out[p.rate] += p.share
	}
	return out
}

func (s *Server) report(w http.ResponseWriter, r *http.Request, q *req) error {
	m, ok, err := s.reportModel(r.Context(), s.page(r, q, q.lang.T("nav.report"), "report"), r.URL.Query().Get("day"))
	if err != nil {
		return err
	}
	status := http.StatusOK
	if !ok {
		status = http.StatusUnprocessableEntity
	}
	for i := range m.Other {
		m.Other[i].Label = q.lang.T("pstatus." + m.Other[i].Label)
	}
	return render(w, r, status, views.ReportPage(m))
}

// reportCSV exports the day report: one row per line of each table, the
// amounts in the currency's units with a dot (12.50), for a spreadsheet.
func (s *Server) reportCSV(w http.ResponseWriter, r *http.Request, q *req) error {
	m, ok, err := s.reportModel(r.Context(), s.page(r, q, "", "report"), r.URL.Query().Get("day"))
	if err != nil {
		return err
	}
	if !ok {
		s.renderError(w, r, q, http.StatusUnprocessableEntity, "err.bad_day")
		return nil
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="passerelle-z-`+m.DayValue+`.csv"`)
	cw := csv.NewWriter(w)
	cw.Write([]string{"section", "label", "count", "amount", "tip", "base", "vat", "total"})
	row := func(section, label string, count int, amount, tip int64) {
		cw.Write([]string{section, csvText(label), strconv.Itoa(count), units(amount), units(tip), "", "", ""})
	}
	row("takings", m.DayValue, m.Approved.Count, m.Approved.Amount, m.Approved.Tip)
	for _, v := range m.ByVAT {
		cw.Write([]string{"vat", rateText(v.Rate), "", "", "", units(v.Base), units(v.VAT), units(v.Total)})
	}
	for _, sec := range []struct {
		name string
		rows []views.ReportRow
	}{{"scheme", m.ByScheme}, {"terminal", m.ByTerminal}, {"server", m.ByServer}, {"not_approved", m.Other}} {
		for _, rr := range sec.rows {
			row(sec.name, rr.Label, rr.Count, rr.Amount, rr.Tip)
		}
	}
	cw.Flush()
	return cw.Error()
}

// units writes cents as units with a dot: -1234 is "-12.34".
func units(c int64) string {
	sign := ""
	u := uint64(c)
	if c < 0 {
		sign, u = "-", uint64(-c)
	}
	return fmt.Sprintf("%s%d.%02d", sign, u/100, u%100)
}

func rateText(bps int64) string {
	return strings.TrimSuffix(strings.TrimRight(units(bps), "0"), ".")
}

// csvText keeps a spreadsheet from taking a till's text for a formula.
func csvText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
