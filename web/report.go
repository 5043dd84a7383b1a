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
	return m, true, fillReport(&m, pays, tickets)
}

// fillReport works out the report of pays, whose tickets are in tickets.
// Valid tickets can make amounts that int64 cannot hold in between (a day's
// total at a rate times the rate; a share of a ticket whose rates nearly
// cancel out): they are worked out in big integers, and every sum shown is
// checked, so that a report that cannot be written in int64 cents is an
// error, never a wrapped number.
func fillReport(m *views.Report, pays []gateway.Payment, tickets map[string]gateway.Ticket) error {
	perRate := map[int64]*big.Int{}
	var sum adder
	schemes, terminals, servers, other := rowSet{}, rowSet{}, rowSet{}, rowSet{}
	for _, p := range pays {
		t := tickets[p.TicketID]
		if p.Status != gateway.PaymentApproved {
			other.add(&sum, string(p.Status), p.Requested, p.Tip)
			continue
		}
		m.Approved.Count++
		sum.add(&m.Approved.Amount, p.Amount)
		sum.add(&m.Approved.Tip, p.Tip)
		scheme := ""
		if p.Card != nil {
			scheme = p.Card.Scheme
		}
		schemes.add(&sum, scheme, p.Amount, p.Tip)
		terminals.add(&sum, p.Terminal, p.Amount, p.Tip)
		servers.add(&sum, t.Server, p.Amount, p.Tip)
		for rate, share := range shareByRate(p.Amount, t.VAT) {
			if perRate[rate] == nil {
				perRate[rate] = new(big.Int)
			}
			perRate[rate].Add(perRate[rate], share)
		}
	}
	for rate, total := range perRate {
		row, err := vatRow(rate, total)
		if err != nil {
			return err
		}
		m.ByVAT = append(m.ByVAT, row)
	}
	sort.Slice(m.ByVAT, func(i, j int) bool { return m.ByVAT[i].Rate < m.ByVAT[j].Rate })
	for _, v := range m.ByVAT {
		sum.add(&m.VATTotal.Base, v.Base)
		sum.add(&m.VATTotal.VAT, v.VAT)
		sum.add(&m.VATTotal.Total, v.Total)
	}
	if sum.err != nil {
		return fmt.Errorf("day report: %w", sum.err)
	}
	m.ByScheme, m.ByTerminal, m.ByServer, m.Other = schemes.rows(), terminals.rows(), servers.rows(), other.rows()
	for _, t := range tickets {
		if t.Refund() > 0 { // overpaid, or cancelled with money on it
			m.Overpaid = append(m.Overpaid, t)
		}
	}
	sort.Slice(m.Overpaid, func(i, j int) bool { return m.Overpaid[i].ID < m.Overpaid[j].ID })
	return nil
}

// vatRow splits a rate's VAT-inclusive total of the day into base and VAT
// with the till API's formula, gateway.VATIncluded's, in big integers: the
// total times the rate may not fit in int64 when the total does.
func vatRow(rate int64, total *big.Int) (views.VATRow, error) {
	n := new(big.Int).Mul(total, big.NewInt(rate))
	d := big.NewInt(10000 + rate)
	vat, r := new(big.Int).QuoRem(n, d, new(big.Int))
	// Half away from zero: QuoRem truncates, r has n's sign.
	if r.Abs(r).Lsh(r, 1).Cmp(d) >= 0 {
		vat.Add(vat, big.NewInt(int64(n.Sign())))
	}
	base := new(big.Int).Sub(total, vat)
	if !total.IsInt64() || !vat.IsInt64() || !base.IsInt64() {
		return views.VATRow{}, fmt.Errorf("day report: the takings at rate %s: %w", rateText(rate), gateway.ErrOverflow)
	}
	return views.VATRow{Rate: rate, Base: base.Int64(), VAT: vat.Int64(), Total: total.Int64()}, nil
}

// adder adds cents, keeping the first overflow.
type adder struct{ err error }

func (a *adder) add(dst *int64, v int64) {
	s, err := gateway.AddCents(*dst, v)
	if err != nil {
		if a.err == nil {
			a.err = err
		}
		return
	}
	*dst = s
}

type rowSet map[string]*views.ReportRow

func (rs rowSet) add(sum *adder, label string, amount, tip int64) {
	r, ok := rs[label]
	if !ok {
		r = &views.ReportRow{Label: label}
		rs[label] = r
	}
	r.Count++
	sum.add(&r.Amount, amount)
	sum.add(&r.Tip, tip)
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
// to amount exactly. They are big integers: a ticket's rates may carry
// large totals that cancel out, so that a share is far larger than amount.
func shareByRate(amount int64, vat []gateway.VATLine) map[int64]*big.Int {
	out := map[int64]*big.Int{}
	total := new(big.Int)
	for _, v := range vat {
		total.Add(total, big.NewInt(v.Total))
	}
	if total.Sign() <= 0 {
		out[0] = big.NewInt(amount) // no rate to share by: cannot happen for a valid ticket
		return out
	}
	type part struct {
		rate  int64
		rem   *big.Int
		share *big.Int
	}
	parts := make([]part, len(vat))
	given := new(big.Int)
	for i, v := range vat {
		q, r := new(big.Int).DivMod(new(big.Int).Mul(big.NewInt(amount), big.NewInt(v.Total)), total, new(big.Int))
		parts[i] = part{rate: v.Rate, rem: r, share: q}
		given.Add(given, q)
	}
	sort.SliceStable(parts, func(i, j int) bool {
		if c := parts[i].rem.Cmp(parts[j].rem); c != 0 {
			return c > 0
		}
		return parts[i].rate < parts[j].rate
	})
	// Fewer cents than rates are left: the remainders add up to less than
	// one total per rate.
	left := new(big.Int).Sub(big.NewInt(amount), given).Int64()
	for i := 0; left > 0; i = (i + 1) % len(parts) {
		parts[i].share.Add(parts[i].share, big.NewInt(1))
		left--
	}
	for _, p := range parts {
		if out[p.rate] == nil {
			out[p.rate] = new(big.Int)
		}
		out[p.rate].Add(out[p.rate], p.share)
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
