package terminalsim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/passerelle/passerelle/drivers/tillsim"
	"github.com/passerelle/passerelle/gateway"
)

// Pick strategies: which ticket of a menu a loaded terminal takes.
const (
	PickFirst  = "first"  // the oldest, as a waiter paying in order would
	PickRandom = "random" // any, so that terminals rarely reach for the same
)

// DefaultStepTimeout is how long a loaded terminal waits for the gateway
// before it gives the scenario up.
const DefaultStepTimeout = 30 * time.Second

// Load describes a fleet of simulated terminals that pay tickets in a loop,
// to measure a gateway under many terminals.
type Load struct {
	// Options are every terminal's; Code is replaced by one of Codes and the
	// state is kept in memory (StateFile is ignored).
	Options Options
	// Codes are the pairing codes, one per terminal.
	Codes []string
	// DialConcurrency bounds the hellos in flight while connecting; 16 if 0.
	DialConcurrency int
	// Key starts the scenario each terminal runs in a loop: F1 takes a
	// ticket from the list, F2 types a table number. Several keys, comma
	// separated ("F1,F2"), are shared out among the terminals in turn: a
	// shop where some waiters pick from the list and others type a table.
	// "" keeps the terminals idle: connected, answering pings, nothing
	// more.
	Key string
	// Pick is PickFirst or PickRandom (the default) for menus.
	Pick string
	// Claim has the terminals leave a ticket that another terminal of the
	// fleet took, as waiters each paying their own tables would: without
	// it, many terminals reach for the same ticket and all but one are
	// told it is being paid, or paid.
	Claim bool
	// Tables is the highest table number F2 types, from 1; 30 if 0.
	Tables int
	// Think is how long a waiter looks at each screen before answering it,
	// and waits between two scenarios.
	Think time.Duration
	// StepTimeout bounds a wait for the gateway; DefaultStepTimeout if 0.
	StepTimeout time.Duration
	// SentAt, if set, tells when the till posted the ticket with this ref:
	// a ticket that appears on a list shown on a terminal is then measured
	// from its POST to its arrival (LoadReport.List).
	SentAt func(ref string) (time.Time, bool)
	// Seed makes the terminals' choices repeatable; 0 picks one.
	Seed uint64
}

// Fleet is a set of connected simulated terminals.
type Fleet struct {
	l       Load
	terms   []*Terminal
	connect time.Duration
}

// claims are the tickets the fleet's terminals took, until when.
type claims struct {
	mu    sync.Mutex
	until map[string]time.Time
}

// take claims one of items for d, first or at random among those not
// claimed; false if all are.
func (c *claims) take(items []gateway.MenuItem, random *rand.Rand, d time.Duration) (string, bool) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	free := make([]string, 0, len(items))
	for _, it := range items {
		if now.After(c.until[it.ID]) {
			free = append(free, it.ID)
		}
	}
	if len(free) == 0 {
		return "", false
	}
	id := free[0]
	if random != nil {
		id = free[random.IntN(len(free))]
	}
	c.until[id] = now.Add(d)
	return id, true
}

// keep holds the claim of id for d more, and no longer.
func (c *claims) keep(id string, d time.Duration) {
	c.mu.Lock()
	c.until[id] = time.Now().Add(d)
	c.mu.Unlock()
}

// Connect pairs a terminal with each code, DialConcurrency at a time. On an
// error the terminals already connected are closed.
func (l Load) Connect(ctx context.Context) (*Fleet, error) {
	switch {
	case len(l.Codes) == 0:
		return nil, errors.New("terminalsim: load: no pairing codes")
	case l.Key != "" && l.Pick != "" && l.Pick != PickFirst && l.Pick != PickRandom:
		return nil, fmt.Errorf("terminalsim: load: pick %q: first or random", l.Pick)
	}
	if l.Pick == "" {
		l.Pick = PickRandom
	}
	if l.Tables <= 0 {
		l.Tables = 30
	}
	if l.StepTimeout <= 0 {
		l.StepTimeout = DefaultStepTimeout
	}
	if l.Seed == 0 {
		l.Seed = rand.Uint64()
	}
	conc := l.DialConcurrency
	if conc <= 0 {
		conc = 16
	}
	f := &Fleet{l: l, terms: make([]*Terminal, len(l.Codes))}
	if f.l.Options.Menus == nil {
		f.l.Options.Menus = &MenuCache{}
	}
	start := time.Now()
	sem := make(chan struct{}, conc)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for i, code := range l.Codes {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			o := f.l.Options
			o.Code, o.Token, o.StateFile = code, "", ""
			if o.Serial == "" {
				o.Serial = fmt.Sprintf("LOAD%06d", i+1)
			} else {
				o.Serial = fmt.Sprintf("%s-%06d", o.Serial, i+1)
			}
			t, err := Dial(ctx, o)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if first == nil {
					first = fmt.Errorf("terminalsim: load: terminal %d: %w", i+1, err)
				}
				return
			}
			f.terms[i] = t
		})
	}
	wg.Wait()
	f.connect = time.Since(start)
	if first != nil {
		f.Close()
		return nil, first
	}
	return f, nil
}

// Terminals returns the fleet's terminals.
func (f *Fleet) Terminals() []*Terminal { return f.terms }

// Close ends every connection.
func (f *Fleet) Close() {
	var wg sync.WaitGroup
	for _, t := range f.terms {
		if t != nil {
			wg.Go(func() { t.Close() })
		}
	}
	wg.Wait()
}

// LoadReport is what a fleet's run measured.
type LoadReport struct {
	Idle        bool          // the terminals ran no scenario
	Terminals   int           // in the fleet
	Connect     time.Duration // to connect them all
	Elapsed     time.Duration // the run, from its start to its last scenario's end
	Connected   int           // still connected at the end
	Disconnects int           // connections lost during the run (each reconnected)
	Scenarios   int           // scenarios that ended with done
	Payments    int           // approved results the gateway acknowledged
	// Messages counts the message screens shown, and the scenarios the
	// gateway ended without a payment (a done "Aucun ticket", "Ticket en
	// cours de paiement", ...), by title, the terminal's name left out.
	Messages map[string]int
	// Errors counts the gateway's error codes, and the terminal's own
	// failures (stalled: the gateway said nothing for StepTimeout).
	Errors map[string]int
	// List is from a ticket's POST to its arrival on a list shown on a
	// terminal (a menu refreshed while the waiter looks at it); Ack is from
	// sending a payment_result to receiving its ack.
	List, Ack tillsim.LatencySummary
	// FullLists counts the refreshes of lists that were full (the oldest
	// gateway.MaxMenuTickets open tickets), which List leaves out: on them
	// a ticket appears when an older one is paid, not when it is posted.
	FullLists int
	// BytesIn is what the terminals received, every message included;
	// Refreshes counts the lists refreshed while shown (a list_delta, or a
	// menu sent again whole).
	BytesIn   int64
	Refreshes int
}

// PaymentRate is acknowledged payments per second.
func (r LoadReport) PaymentRate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Payments) / r.Elapsed.Seconds()
}

// WriteTo prints the report for a person; the line prefixes are stable for
// scripts (bench/terminal-load.sh).
func (r LoadReport) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "terminals  %d connected in %.3f s, %d connected at the end, %d disconnections\n",
		r.Terminals, r.Connect.Seconds(), r.Connected, r.Disconnects)
	if r.Idle {
		n, err := io.WriteString(w, b.String())
		return int64(n), err
	}
	fmt.Fprintf(&b, "payments   %d acknowledged, %d scenarios done, in %.3f s: %.1f payments/s\n",
		r.Payments, r.Scenarios, r.Elapsed.Seconds(), r.PaymentRate())
	fmt.Fprintf(&b, "list       %d tickets seen arriving on a list, POST→list %s\n", r.List.N, r.List)
	if r.FullLists > 0 {
		fmt.Fprintf(&b, "backlog    %d refreshes of a full list (%d open tickets or more) not measured: the terminals did not keep up with the till\n",
			r.FullLists, gateway.MaxMenuTickets)
	}
	fmt.Fprintf(&b, "ack        %d results, result→ack %s\n", r.Ack.N, r.Ack)
	if r.Refreshes > 0 {
		fmt.Fprintf(&b, "bytes      %d received by the terminals, %d lists refreshed: %d bytes a refresh, everything else included\n",
			r.BytesIn, r.Refreshes, r.BytesIn/int64(r.Refreshes))
	}
	writeCounts(&b, "messages", r.Messages)
	writeCounts(&b, "errors", r.Errors)
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

func writeCounts(b *strings.Builder, prefix string, m map[string]int) {
	if len(m) == 0 {
		return
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s: %d", k, m[k]))
	}
	fmt.Fprintf(b, "%-10s %s\n", prefix, strings.Join(parts, ", "))
}

// loadStats gathers what the terminals measure.
type loadStats struct {
	list, ack tillsim.Latencies

	mu          sync.Mutex
	scenarios   int
	payments    int
	disconnects int
	fullLists   int
	refreshes   int
	messages    map[string]int
	errors      map[string]int
}

func (s *loadStats) count(m map[string]int, k string) {
	s.mu.Lock()
	m[k]++
	s.mu.Unlock()
}

// Run has every terminal run the scenario in a loop for d (or, with no Key,
// stay idle for d), then finish the scenario it is in, and reports. When ctx
// is done the terminals stop at once.
func (f *Fleet) Run(ctx context.Context, d time.Duration) LoadReport {
	st := &loadStats{messages: map[string]int{}, errors: map[string]int{}}
	var in0 int64
	for _, t := range f.terms {
		in0 += t.BytesIn.Load()
	}
	start := time.Now()
	stop := start.Add(d)
	if f.l.Key == "" {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
		for _, term := range f.terms {
			for {
				m, err := term.q.tryPop()
				if err != nil {
					break
				}
				if m.Type == TypeDisconnected {
					st.disconnects++
				}
			}
		}
	} else {
		var cl *claims
		if f.l.Claim {
			cl = &claims{until: map[string]time.Time{}}
		}
		keys := strings.Split(f.l.Key, ",")
		var wg sync.WaitGroup
		for i, t := range f.terms {
			w := &worker{l: &f.l, t: t, st: st, stop: stop, claims: cl, key: strings.TrimSpace(keys[i%len(keys)]),
				rng: rand.New(rand.NewPCG(f.l.Seed, uint64(i)))}
			wg.Go(func() { w.run(ctx) })
		}
		wg.Wait()
	}
	rep := LoadReport{Idle: f.l.Key == "", Terminals: len(f.terms), Connect: f.connect, Elapsed: time.Since(start),
		Disconnects: st.disconnects, Scenarios: st.scenarios, Payments: st.payments, FullLists: st.fullLists,
		Messages: st.messages, Errors: st.errors, List: st.list.Summary(), Ack: st.ack.Summary(), Refreshes: st.refreshes}
	for _, t := range f.terms {
		if t.Connected() {
			rep.Connected++
		}
		rep.BytesIn += t.BytesIn.Load()
	}
	rep.BytesIn -= in0
	return rep
}

// worker is one terminal's waiter.
type worker struct {
	l      *Load
	t      *Terminal
	st     *loadStats
	rng    *rand.Rand
	stop   time.Time
	claims *claims // nil: the terminals do not coordinate
	took   string  // the ticket this terminal claimed in its scenario
	key    string  // the scenario this terminal runs
}

func (w *worker) run(ctx context.Context) {
	// Spread the first key presses over one think time.
	if !w.sleep(ctx, w.jitter()) {
		return
	}
	for ctx.Err() == nil && time.Now().Before(w.stop) {
		w.scenario(ctx)
		if !w.sleep(ctx, w.jitter()) {
			return
		}
	}
}

// jitter is a think time give or take half of it, so that the terminals
// drift apart rather than act in step.
func (w *worker) jitter() time.Duration {
	if w.l.Think <= 0 {
		return 0
	}
	return w.l.Think/2 + time.Duration(w.rng.Int64N(int64(w.l.Think)))
}

func (w *worker) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// scenario runs one scenario from the key press to done.
func (w *worker) scenario(ctx context.Context) {
	if err := w.t.Start(w.key); err != nil {
		w.lost(ctx)
		return
	}
	defer func() {
		// The ticket is paid or given up; the others' lists may still
		// show it for the time a refresh takes.
		if w.took != "" {
			w.claims.keep(w.took, time.Second)
			w.took = ""
		}
	}()
	var (
		cur      *Message  // the screen shown
		pending  bool      // cur waits for an answer
		waiting  bool      // cur is a list with nothing to take: the next refresh is answered at once
		answerAt time.Time // when the waiter answers it
		menuID   string    // the menu shown, to tell its refreshes
		menuRefs map[string]bool
		payID    string
		paid     bool      // a payment of this scenario was acknowledged
		sentAt   time.Time // when the result of payID left
		heard    = time.Now()
	)
	for {
		deadline := heard.Add(w.l.StepTimeout)
		if pending {
			deadline = earliest(deadline, answerAt, w.stop)
		}
		mctx, cancel := context.WithDeadline(ctx, deadline)
		m, err := w.t.Next(mctx)
		cancel()
		now := time.Now()
		if err != nil {
			switch {
			case ctx.Err() != nil:
				return
			case pending && !now.Before(w.stop):
				w.t.Cancel() // the run is over: no more screens
				return
			case pending && !now.Before(answerAt):
				if v, ok := w.answer(cur); ok {
					pending, waiting = false, false
					if err := w.t.AnswerScreen(cur.ScreenID, v); err != nil {
						w.lost(ctx)
						return
					}
				} else if cur.Kind == gateway.ScreenMenu && cur.More != nil && *cur.More {
					// Nothing to take on this page: the next one, which
					// comes as a new menu.
					pending = false
					if err := w.t.Page(cur.Page + 1); err != nil {
						w.lost(ctx)
						return
					}
				} else if cur.Kind == gateway.ScreenMenu {
					// Nothing to take: wait for the list to change.
					answerAt, waiting = now.Add(w.l.StepTimeout), true
				} else {
					w.st.count(w.st.errors, "unexpected screen "+cur.Title)
					w.t.Cancel()
					return
				}
			default:
				w.st.count(w.st.errors, "stalled")
				w.t.Cancel()
				return
			}
			continue
		}
		heard = now
		switch m.Type {
		case "screen":
			if m.Kind == gateway.ScreenMenu {
				refs := menuRefSet(m.Items)
				if m.ScreenID == menuID {
					w.st.mu.Lock()
					w.st.refreshes++
					w.st.mu.Unlock()
					w.measureList(refs, menuRefs, fullPage(m), now)
				}
				menuID, menuRefs = m.ScreenID, refs
			}
			if cur == nil || m.ScreenID != cur.ScreenID {
				answerAt = now.Add(w.jitter())
				pending, waiting = true, false
				if m.Kind == gateway.ScreenMessage {
					w.st.count(w.st.messages, messageTitle(m.Title))
				}
			} else if waiting {
				// The list changed while the waiter had nothing to take:
				// perhaps there is now.
				answerAt = now
			}
			cur = &m
		case "pay":
			pending = false
			payID, sentAt = m.PaymentID, time.Now()
			if _, err := w.t.Card(ctx, Approve); err != nil {
				w.st.count(w.st.errors, "card: "+err.Error())
			}
		case "ack":
			if m.PaymentID == payID {
				w.st.ack.Add(now.Sub(sentAt))
				w.st.mu.Lock()
				w.st.payments++
				w.st.mu.Unlock()
				payID, paid = "", true
			}
		case "done":
			if !paid {
				w.st.count(w.st.messages, messageTitle(m.Title))
			}
			w.st.mu.Lock()
			w.st.scenarios++
			w.st.mu.Unlock()
			return
		case "error":
			w.st.count(w.st.errors, m.Code)
			switch m.Code {
			case "bad_answer": // the list changed under the answer: the screen stays
				if cur != nil {
					answerAt, pending = now, true
				}
			case "busy":
				if cur == nil { // the key press was refused
					return
				}
			}
		case TypeDisconnected:
			if w.t.Connected() {
				continue // from a connection already replaced
			}
			w.lost(ctx)
			return
		}
	}
}

func earliest(t time.Time, others ...time.Time) time.Time {
	for _, o := range others {
		if o.Before(t) {
			t = o
		}
	}
	return t
}

// answer is what the waiter answers to s.
func (w *worker) answer(s *Message) (string, bool) {
	switch s.Kind {
	case gateway.ScreenMenu:
		if len(s.Items) == 0 {
			return "", false
		}
		if w.claims != nil {
			var random *rand.Rand
			if w.l.Pick == PickRandom {
				random = w.rng
			}
			if w.took != "" {
				w.claims.keep(w.took, 0) // picked again: the last one was refused
			}
			id, ok := w.claims.take(s.Items, random, w.l.StepTimeout)
			w.took = id
			return id, ok
		}
		i := 0
		if w.l.Pick == PickRandom {
			i = w.rng.IntN(len(s.Items))
		}
		return s.Items[i].ID, true
	case gateway.ScreenTicket:
		for _, c := range s.Choices {
			if c.ID == gateway.ChoiceFull || c.ID == "next" {
				return c.ID, true
			}
		}
	case gateway.ScreenInput:
		if s.Input == "numeric" {
			return strconv.Itoa(1 + w.rng.IntN(w.l.Tables)), true
		}
	case gateway.ScreenMessage:
		return "ok", true
	}
	return "", false
}

// measureList times the tickets a refresh of the menu shown brought. A
// full list (the gateway shows the oldest MaxMenuTickets, or a page with
// more after it) takes a new ticket only when an older one leaves it: that
// measures the backlog, not the refresh, and is counted apart.
func (w *worker) measureList(refs, before map[string]bool, full bool, now time.Time) {
	if w.l.SentAt == nil {
		return
	}
	if full {
		w.st.mu.Lock()
		w.st.fullLists++
		w.st.mu.Unlock()
		return
	}
	for ref := range refs {
		if before[ref] {
			continue
		}
		if at, ok := w.l.SentAt(ref); ok {
			w.st.list.Add(now.Sub(at))
		}
	}
}

// fullPage reports whether menu m was full before its refresh could add a
// ticket: a page that another follows, or an unpaged list of
// MaxMenuTickets.
func fullPage(m Message) bool {
	if m.Page > 0 {
		return m.More != nil && *m.More
	}
	return len(m.Items) >= gateway.MaxMenuTickets
}

// lost counts a lost connection and connects again.
func (w *worker) lost(ctx context.Context) {
	w.st.mu.Lock()
	w.st.disconnects++
	w.st.mu.Unlock()
	if ctx.Err() != nil {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, w.l.StepTimeout)
	defer cancel()
	if rerr := w.t.Reconnect(rctx); rerr != nil {
		w.st.count(w.st.errors, "reconnect failed")
		w.sleep(ctx, time.Second)
	}
}

// menuRefSet is the ticket refs of a menu's items, whose labels read
// "TICKET <ref> - T5 - 53,50".
func menuRefSet(items []gateway.MenuItem) map[string]bool {
	refs := make(map[string]bool, len(items))
	for _, it := range items {
		ref, _, _ := strings.Cut(strings.TrimPrefix(it.Label, "TICKET "), " - ")
		refs[ref] = true
	}
	return refs
}

// messageTitle drops the terminal's name from "Ticket en cours de paiement
// sur Terminal X", so that the titles can be counted together.
func messageTitle(t string) string {
	if i := strings.Index(t, " sur "); i > 0 {
		return t[:i]
	}
	return t
}

// tryPop returns the next queued message without waiting.
func (q *queue) tryPop() (Message, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return Message{}, ErrNotConnected
	}
	m := q.items[0]
	q.items = q.items[1:]
	return m, nil
}
