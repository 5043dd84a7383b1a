package gateway

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ReceiptPrinter lays out what a print step prints, for a printer width.
type ReceiptPrinter interface {
	BankTicket(p Payment, cols int) ([]string, error)
	Note(t Ticket, cols int) ([]string, error)
}

// Sessions runs the scenarios of connected terminals.
type Sessions struct {
	store     Store
	payments  *Payments
	scenarios func() ScenarioSet
	printer   ReceiptPrinter
	now       func() time.Time

	// changed is the seq of the last ticket change Changed was told of;
	// 0 if nobody tells, and then every list is read afresh.
	changed atomic.Int64
	// The menus of tickets as last built: when a change reaches every
	// terminal showing the list, one of them builds it and the others
	// reuse what it built.
	listMu sync.Mutex
	menus  map[string]ticketMenu
}

// Changed tells the engine that e, a change to a ticket, is committed,
// before the sessions are told with TicketChanged: a menu built after this
// reflects it, and one built before is not used again, unless the change
// cannot touch it. A full menu lists the first tickets in the store's
// order, where a new ticket comes last: a ticket created since, such as
// each new ticket while the list is long, changes nothing the terminals
// show. Any other change may: a ticket's ID says nothing of where it
// stands in that order.
func (s *Sessions) Changed(e Event) {
	s.listMu.Lock()
	defer s.listMu.Unlock()
	prev := s.changed.Load()
	for k, m := range s.menus {
		if m.through == prev && m.full && e.Type == EventTicketCreated {
			m.through = e.Seq
			s.menus[k] = m
		}
	}
	s.changed.Store(e.Seq)
}

// ticketMenu is the menu of a pick_ticket step.
type ticketMenu struct {
	through int64 // it reflects every change up to this event seq
	items   []MenuItem
	full    bool // the query's limit cut the list
	want    int  // the most items a session asked of it
}

// NewSessions returns the scenario engine. scenarios is called at every
// start, so an edited scenario file applies to the next scenario started.
func NewSessions(store Store, payments *Payments, scenarios func() ScenarioSet, printer ReceiptPrinter, now func() time.Time) *Sessions {
	return &Sessions{store: store, payments: payments, scenarios: scenarios, printer: printer, now: now}
}

// Limits of what a terminal can ask.
const (
	MaxMenuTickets = 50
	MaxSplitParts  = 20
	// MaxMenuReach is how far into a list pages go: a page that starts
	// past it is refused, so that no terminal has the gateway read more
	// than this many tickets for one page.
	MaxMenuReach = 500
)

// ErrBadAnswer is an answer the current screen does not take; the screen
// stays as it is.
var ErrBadAnswer = errors.New("answer not valid for this screen")

// ErrNoScreen is an answer or cancel for a screen that is not shown.
var ErrNoScreen = errors.New("no such screen is shown")

// awaiting is what the session waits for from the terminal.
type awaiting int

const (
	awaitNothing  awaiting = iota
	awaitPick              // a ticket from a menu (pick_ticket or lookup)
	awaitInput             // an input step's value
	awaitChoice            // a choice on the ticket screen
	awaitParts             // how many parts to split in
	awaitAmount            // another amount
	awaitTip               // the tip
	awaitNextPart          // pay the next part of a split, or stop
	awaitMessage           // a message screen's acknowledgement
	awaitPayment           // the payment_result of a pay
)

// Session is one terminal's run through a scenario. It is not safe for
// concurrent use: the driver calls it from one goroutine per connection.
type Session struct {
	s    *Sessions
	term Terminal
	send func(Message)

	sc     *Scenario
	step   int
	vars   map[string]string
	ticket *Ticket
	screen Screen
	await  awaiting
	resume int // the step to go on with once the message is acknowledged

	// What the waiter chose to pay. Until chosen is set there is no
	// amount, whatever amount holds, and pay takes what is due: no value
	// of the amount itself means "not chosen", so a typed 0 cannot.
	amount, tip int64
	chosen      bool
	chosenAt    int     // the step where it was chosen, to ask again from
	parts       []int64 // split amounts; parts[part] is being paid
	part        int
	payStep     int
	payment     *Payment // the payment this session started and waits for
	printSeq    int
	screenSeq   int

	// pageSize is how many tickets a menu page holds (PageBy); 0: one
	// page of up to MaxMenuTickets, unnumbered, as protocol v1 has it.
	pageSize int
	menuQ    TicketQuery // the menu shown, to turn its pages
}

// New returns a session for a connected terminal; send delivers messages to
// it in order.
func (s *Sessions) New(t Terminal, send func(Message)) *Session {
	return &Session{s: s, term: t, send: send}
}

// Renamed tells the session its terminal's new name: the next key pressed
// looks up the terminal's keys by it, and the next payment records it.
func (x *Session) Renamed(name string) { x.term.Name = name }

// PageBy pages this terminal's menus for a display of rows rows: the
// title takes one, a page of tickets the others. rows 0 (not told) keeps
// one page of up to MaxMenuTickets.
func (x *Session) PageBy(rows int) {
	x.pageSize = min(max(rows-1, 1), MaxMenuTickets)
	if rows <= 0 {
		x.pageSize = 0
	}
}

// Idle reports whether no scenario runs.
func (x *Session) Idle() bool { return x.sc == nil }

// Paying returns the ID of the payment whose result the session waits for,
// or "".
func (x *Session) Paying() string {
	if x.await != awaitPayment || x.payment == nil {
		return ""
	}
	return x.payment.ID
}

// ResultRefused tells the session that the terminal's result for its
// payment was refused. The terminal has finished with the card, so waiting
// on would leave it stuck: the session stops waiting and ends the scenario
// on a message. The payment stays pending, becomes unknown at its deadline
// and the manager resolves it.
func (x *Session) ResultRefused(paymentID string) {
	if id := x.Paying(); id == "" || id != paymentID {
		return
	}
	x.await = awaitNothing
	x.end("PAIEMENT NON ENREGISTRÉ", "VOIR LE RESPONSABLE")
}

// Start begins the scenario that key starts on this terminal.
func (x *Session) Start(ctx context.Context, key string) error {
	if x.await == awaitPayment {
		return Conflict("a payment is in progress on this terminal")
	}
	sc, ok := x.s.scenarios().ScenarioFor(x.term.ID, x.term.Name, key)
	if !ok {
		return &ValidationError{Fields: []FieldError{{Field: "key", Message: fmt.Sprintf("no scenario is mapped to key %q", key)}}}
	}
	x.reset()
	x.sc, x.vars = sc, map[string]string{}
	return x.run(ctx)
}

func (x *Session) reset() {
	*x = Session{s: x.s, term: x.term, send: x.send, screenSeq: x.screenSeq, printSeq: x.printSeq, pageSize: x.pageSize}
}

// Cancel abandons the scenario from the screen shown.
func (x *Session) Cancel(ctx context.Context, screenID string) error {
	if x.sc == nil || screenID != x.screen.ScreenID || x.await == awaitPayment {
		return ErrNoScreen
	}
	x.reset()
	return nil
}

// run executes steps from x.step until one waits for the terminal.
func (x *Session) run(ctx context.Context) error {
	for x.sc != nil && x.await == awaitNothing {
		if x.moreParts() && (x.step >= len(x.sc.Steps) || x.sc.Steps[x.step].Kind == StepDone) {
			// The steps after pay ran for the part just paid, whatever
			// they are: the next part is offered before the scenario ends.
			return x.offerNextPart(ctx)
		}
		if x.step >= len(x.sc.Steps) {
			x.finish("", nil, 0)
			return nil
		}
		st := &x.sc.Steps[x.step]
		if err := x.exec(ctx, st); err != nil {
			if errors.Is(err, ErrStorageFull) {
				// Nothing of the step was recorded: the terminal shows why
				// and is back at rest, rather than on a screen that waits.
				x.end("MÉMOIRE PLEINE", "Rien n'a été enregistré.", "Prévenez le responsable.")
			}
			return err
		}
	}
	return nil
}

// exec runs one step: it either shows something and sets x.await, or moves
// x.step on.
func (x *Session) exec(ctx context.Context, st *Step) error {
	switch st.Kind {
	case StepPickTicket:
		return x.showTicketMenu(ctx, st.Title, TicketQuery{Statuses: statusesOr(st.Statuses), Server: st.Server, Limit: MaxMenuTickets})
	case StepInput:
		x.show(Screen{Kind: ScreenInput, Title: st.Title, Input: st.Input, Min: st.Min, Max: st.Max}, awaitInput)
	case StepLookup:
		return x.lookup(ctx, st)
	case StepShowTicket:
		return x.showTicket(ctx, st)
	case StepPay:
		return x.pay(ctx, st)
	case StepPrint:
		return x.print(ctx, st)
	case StepReprint:
		return x.reprint(ctx, st)
	case StepMessage:
		x.resume = x.step + 1
		x.show(Screen{Kind: ScreenMessage, Title: st.Title, Lines: st.Lines, TimeoutS: st.TimeoutS}, awaitMessage)
	case StepDone:
		x.finish(st.Title, nil, st.TimeoutS)
	default:
		return fmt.Errorf("scenario %s line %d: unknown step %q", x.sc.Name, st.Line, st.Kind)
	}
	return nil
}

func statusesOr(st []TicketStatus) []TicketStatus {
	if len(st) == 0 {
		return []TicketStatus{TicketOpen, TicketPartiallyPaid}
	}
	return st
}

func (x *Session) show(sc Screen, a awaiting) {
	x.screenSeq++
	sc.Type = "screen"
	sc.ScreenID = "s" + strconv.Itoa(x.screenSeq)
	x.screen, x.await = sc, a
	x.send(sc)
}

// message shows a message; once the terminal acknowledges it the
// scenario resumes at x.step.
func (x *Session) message(title string, lines []string) {
	x.resume = x.step
	x.show(Screen{Kind: ScreenMessage, Title: title, Lines: lines, TimeoutS: 3}, awaitMessage)
}

// end ends the scenario on what the engine has to say (no ticket, the
// ticket cancelled, a payment refused): the spec's done, shown 3 s with
// its lines, which the terminal does not answer. A message screen then a
// done would end on a done with nothing to show.
func (x *Session) end(title string, lines ...string) {
	x.finish(title, lines, 3)
}

func (x *Session) finish(title string, lines []string, timeout int) {
	x.screenSeq++
	x.send(Done{Type: "done", ScreenID: "s" + strconv.Itoa(x.screenSeq), Title: title, Lines: lines, TimeoutS: timeout})
	x.reset()
}

func (x *Session) showTicketMenu(ctx context.Context, title string, q TicketQuery) error {
	items, page, more, err := x.menuPage(ctx, q, 1)
	if err != nil {
		return err
	}
	if len(items) == 0 {
		var lines []string
		if q.Table != "" {
			lines = []string{"pour la table " + q.Table}
		}
		x.end("Aucun ticket", lines...)
		return nil
	}
	x.menuQ = q
	x.show(Screen{Kind: ScreenMenu, Title: title, Items: items, Page: page, More: more}, awaitPick)
	return nil
}

// menuPage returns the items of page of q's menu, the page they are
// (0 when menus are not paged) and whether a page follows. A page emptied
// by changes (its tickets paid) gives the first page instead: the waiter
// is brought back to where the list starts, rather than to nothing.
func (x *Session) menuPage(ctx context.Context, q TicketQuery, page int) ([]MenuItem, int, bool, error) {
	size := x.pageSize
	if size == 0 {
		items, err := x.menuItems(ctx, q, MaxMenuTickets)
		return items, 0, false, err
	}
	for {
		// One item past the page says whether another follows; the shared
		// list is read from its start, so that terminals on one page share it.
		items, err := x.menuItems(ctx, q, page*size+1)
		if err != nil {
			return nil, 0, false, err
		}
		from := (page - 1) * size
		if from >= len(items) && page > 1 {
			page = 1
			continue
		}
		from = min(from, len(items))
		to := min(from+size, len(items))
		return items[from:to:to], page, len(items) > to, nil
	}
}

// menuItems returns up to limit items of q's menu: the shared list of a
// pick_ticket step, or a lookup's tickets.
func (x *Session) menuItems(ctx context.Context, q TicketQuery, limit int) ([]MenuItem, error) {
	if q.Table == "" && q.Ref == "" {
		return x.s.menu(ctx, q.Statuses, q.Server, limit)
	}
	q.Brief, q.Limit = true, limit
	ts, err := x.s.store.Tickets(ctx, q)
	return menuItems(ts), err
}

// Page shows page n of the menu shown, when the terminal pages.
func (x *Session) Page(ctx context.Context, screenID string, n int) error {
	if x.sc == nil || screenID != x.screen.ScreenID || x.await == awaitPayment {
		return ErrNoScreen
	}
	if x.await != awaitPick || x.pageSize == 0 || n < 1 || (n-1)*x.pageSize >= MaxMenuReach {
		return ErrBadAnswer
	}
	items, page, more, err := x.menuPage(ctx, x.menuQ, n)
	if err != nil {
		return err
	}
	x.show(Screen{Kind: ScreenMenu, Title: x.screen.Title, Items: items, Page: page, More: more}, awaitPick)
	return nil
}

// menuItems are the menu lines of ts.
func menuItems(ts []Ticket) []MenuItem {
	var items []MenuItem
	for _, t := range ts {
		items = append(items, MenuItem{ID: t.ID, Label: ticketLabel(t)})
	}
	return items
}

// menu returns the menu of the first MaxMenuTickets tickets in statuses
// (of server's only, unless server is ""): the query filters by server
// before its limit, so that other servers' older tickets cannot fill the
// menu and leave out the waiter's own. A menu built since the last
// change is shared, its items read-only: every terminal on the list is
// refreshed at each change, and one of them reads the tickets and builds
// the lines for all. It is built under listMu, so that of the sessions
// refreshing at once one builds and the others wait for its result. A
// change committed but not yet told is missed by either, and the
// terminals showing the list are told of it next.
func (s *Sessions) menu(ctx context.Context, statuses []TicketStatus, server string, limit int) ([]MenuItem, error) {
	q := TicketQuery{Statuses: statuses, Server: server, Limit: limit, Brief: true}
	seq := s.changed.Load()
	if seq == 0 {
		ts, err := s.store.Tickets(ctx, q)
		return menuItems(ts), err
	}
	key := fmt.Sprint(statuses, server)
	s.listMu.Lock()
	defer s.listMu.Unlock()
	m, ok := s.menus[key]
	if ok && m.through >= seq && (len(m.items) >= limit || !m.full) {
		m.want = max(m.want, limit)
		s.menus[key] = m
		return firstItems(m.items, limit), nil
	}
	// One read serves every page of the list: as long as the pages asked
	// since the last change (m.want), so that terminals on pages further
	// on do not each read it again.
	q.Limit = max(limit, m.want)
	ts, err := s.store.Tickets(ctx, q)
	if err != nil {
		return nil, err
	}
	if s.menus == nil {
		s.menus = map[string]ticketMenu{}
	}
	items := menuItems(ts)
	s.menus[key] = ticketMenu{through: seq, items: items, full: len(ts) == q.Limit, want: limit}
	return firstItems(items, limit), nil
}

// firstItems is up to n of items, the same slice for the same n: the
// terminals that show it share it (terminalws encodes it once).
func firstItems(items []MenuItem, n int) []MenuItem {
	n = min(n, len(items))
	return items[:n:n]
}

// ticketLabel is a ticket's line in a menu: "TICKET 1253 - T5 - 53,50".
func ticketLabel(t Ticket) string {
	l := "TICKET " + t.Ref
	if t.Table != "" {
		l += " - T" + t.Table
	}
	return l + " - " + FormatCents(t.Due)
}

func (x *Session) lookup(ctx context.Context, st *Step) error {
	q := TicketQuery{Statuses: []TicketStatus{TicketOpen, TicketPartiallyPaid}, Limit: MaxMenuTickets}
	title := ""
	switch st.By {
	case VarTable:
		q.Table = x.vars[VarTable]
		title = "Table " + q.Table
	case VarRef:
		q.Ref = x.vars[VarRef]
		title = "Ticket " + q.Ref
	}
	ts, err := x.s.store.Tickets(ctx, q)
	if err != nil {
		return err
	}
	switch len(ts) {
	case 0:
		x.end("Aucun ticket", lookupWhat(st.By, x.vars))
	case 1:
		x.ticket = &ts[0]
		x.step++
	default: // several open tickets on one table: the waiter picks
		return x.showTicketMenu(ctx, title, q)
	}
	return nil
}

func lookupWhat(by string, vars map[string]string) string {
	if by == VarRef {
		return "pour la référence " + vars[VarRef]
	}
	return "pour la table " + vars[VarTable]
}

func (x *Session) showTicket(ctx context.Context, st *Step) error {
	t, err := x.s.store.Ticket(ctx, x.ticket.ID)
	if err != nil {
		return err
	}
	x.ticket = &t
	switch {
	case t.Status == TicketCancelled:
		x.end("Ticket annulé", "TICKET "+t.Ref)
		return nil
	case t.Due <= 0:
		x.end("Ticket réglé", "TICKET "+t.Ref)
		return nil
	}
	title := st.Title
	if title == "" {
		title = "Ticket " + t.Ref
		if t.Table != "" {
			title = "Table " + t.Table
		}
	}
	var choices []MenuItem
	for _, c := range st.Choices {
		choices = append(choices, MenuItem{ID: c, Label: choiceLabel(c, t.Due)})
	}
	total, due := t.Total, t.Due
	sc := Screen{Kind: ScreenTicket, Title: title, Lines: ticketLines(t), Total: &total, Due: &due, Choices: choices}
	if x.await == awaitChoice && sameTicketScreen(x.screen, sc) {
		// A refresh that changes nothing shown (a payment started or
		// declined elsewhere) keeps the screen: a new screen ID would
		// refuse the answer the waiter is sending.
		return nil
	}
	x.show(sc, awaitChoice)
	return nil
}

func sameTicketScreen(a, b Screen) bool {
	return a.Kind == b.Kind && a.Title == b.Title && slices.Equal(a.Lines, b.Lines) &&
		a.Total != nil && b.Total != nil && *a.Total == *b.Total && a.Due != nil && b.Due != nil && *a.Due == *b.Due &&
		slices.Equal(a.Choices, b.Choices)
}

func choiceLabel(c string, due int64) string {
	switch c {
	case ChoiceFull:
		return "Payer " + FormatCents(due)
	case ChoiceSplit:
		return "Partager"
	case ChoiceAmount:
		return "Autre montant"
	case ChoiceTip:
		return "Pourboire"
	}
	return c
}

// ticketLines are the ticket's lines as a terminal screen shows them.
func ticketLines(t Ticket) []string {
	out := make([]string, 0, len(t.Lines)+1)
	for _, l := range t.Lines {
		out = append(out, fmt.Sprintf("%d X %s   %s", l.Qty, l.Label, FormatCents(l.Qty*l.UnitPrice)))
	}
	if t.Paid > 0 {
		out = append(out, "DÉJÀ PAYÉ   "+FormatCents(t.Paid))
	}
	return out
}

// setAmount records the waiter's choice of amount and tip, at this step.
func (x *Session) setAmount(amount, tip int64) {
	x.amount, x.tip, x.chosen, x.chosenAt = amount, tip, true, x.step
}

// clearAmount forgets the waiter's choice, a split's parts with it.
func (x *Session) clearAmount() {
	x.amount, x.tip, x.chosen, x.parts = 0, 0, false, nil
}

func (x *Session) pay(ctx context.Context, st *Step) error {
	t, err := x.s.store.Ticket(ctx, x.ticket.ID)
	if err != nil {
		return err
	}
	switch {
	case !x.chosen: // no choice step before: pay what is due
		x.amount = t.Due
	case x.amount > t.Due && t.Due > 0 && t.Status != TicketCancelled:
		// Chosen before the ticket was known, or before another payment
		// on it: say what is due and ask again where it was chosen.
		x.step = x.chosenAt
		x.clearAmount()
		x.message("MONTANT TROP ÉLEVÉ", []string{"RESTE DÛ " + FormatCents(t.Due)})
		return nil
	}
	p, t, err := x.s.payments.Start(ctx, x.term, x.ticket.ID, x.amount, x.tip)
	if b, ok := IsBusy(err); ok {
		x.end("Ticket en cours de paiement sur " + b.Terminal)
		return nil
	}
	var cerr *ConflictError
	var verr *ValidationError
	if errors.As(err, &cerr) || errors.As(err, &verr) {
		x.end("Paiement impossible", "TICKET "+x.ticket.Ref)
		return nil
	}
	if err != nil {
		return err
	}
	x.ticket, x.payment, x.payStep = &t, &p, x.step
	label := st.Label
	if label == "" {
		label = "DÉBIT"
	}
	x.await = awaitPayment
	x.send(PayRequest{Type: "pay", PaymentID: p.ID, Amount: p.Amount, Tip: p.Tip, Currency: p.Currency, TicketRef: t.Ref, Label: label})
	return nil
}

// Paid tells the session the outcome of its payment, once recorded. A
// result for another payment (one from before a reconnection) changes
// nothing here.
func (x *Session) Paid(ctx context.Context, p Payment) error {
	if x.await != awaitPayment || x.payment == nil || x.payment.ID != p.ID {
		return nil
	}
	x.payment, x.await = &p, awaitNothing
	if p.Status != PaymentApproved {
		title := "PAIEMENT REFUSÉ"
		if p.Status == PaymentCancelled {
			title = "PAIEMENT ANNULÉ"
		}
		x.step = x.choiceStep()
		x.clearAmount()
		if x.step < 0 {
			x.end(title)
		} else {
			x.message(title, nil)
		}
		return nil
	}
	x.step++
	return x.run(ctx)
}

// choiceStep is the show_ticket step before the pay step, where a declined
// payment returns; -1 if there is none.
func (x *Session) choiceStep() int {
	for i := x.payStep; i >= 0; i-- {
		if x.sc.Steps[i].Kind == StepShowTicket {
			return i
		}
	}
	return -1
}

func (x *Session) print(ctx context.Context, st *Step) error {
	t, err := x.s.store.Ticket(ctx, x.ticket.ID)
	if err != nil {
		return err
	}
	x.ticket = &t
	cols := x.term.ReceiptCols()
	if cols == 0 { // no printer: nothing to print on
		x.step++
		return nil
	}
	moreParts := x.moreParts()
	for _, what := range st.Print {
		var lines []string
		switch {
		case what == PrintBank && x.payment != nil:
			lines, err = x.s.printer.BankTicket(*x.payment, cols)
		case what == PrintNote && !moreParts: // the note once, after the last part
			lines, err = x.s.printer.Note(t, cols)
		default:
			continue
		}
		if err != nil {
			return fmt.Errorf("scenario %s line %d: %w", x.sc.Name, st.Line, err)
		}
		x.printSeq++
		x.send(PrintJob{Type: "print", JobID: fmt.Sprintf("prn_%s_%d", x.term.ID, x.printSeq), Lines: lines, Cut: true})
	}
	x.step++
	return nil
}

// reprint prints again the receipts of the terminal's last approved
// payment, marked DUPLICATA: a terminal that reconnected during a payment
// printed nothing for it, and a client may ask for another copy. It ends
// the scenario when there is nothing to print, or nothing to print on.
func (x *Session) reprint(ctx context.Context, st *Step) error {
	cols := x.term.ReceiptCols()
	if cols == 0 {
		x.end("Pas d'imprimante")
		return nil
	}
	p, err := x.s.store.LastApprovedPayment(ctx, x.term.ID)
	if errors.Is(err, ErrNotFound) {
		x.end("Rien à réimprimer", "aucun paiement accepté")
		return nil
	}
	if err != nil {
		return err
	}
	jobs, err := x.s.Duplicata(ctx, p, st.Print, cols)
	if err != nil {
		return fmt.Errorf("scenario %s line %d: %w", x.sc.Name, st.Line, err)
	}
	for _, lines := range jobs {
		x.printSeq++
		x.send(PrintJob{Type: "print", JobID: fmt.Sprintf("prn_%s_%d", x.term.ID, x.printSeq), Lines: lines, Cut: true})
	}
	x.step++
	return nil
}

// DuplicataTitle heads every receipt printed again.
const DuplicataTitle = "DUPLICATA"

// Duplicata lays out again, for a cols-wide printer, the receipts of an
// approved payment that what names (bank, note), each headed DUPLICATA:
// the bank ticket as first printed (the bank's time, the card's
// references), the note of its ticket as it stands now. For the reprint
// step and the admin page's reprint.
func (s *Sessions) Duplicata(ctx context.Context, p Payment, what []string, cols int) ([][]string, error) {
	if p.Status != PaymentApproved {
		return nil, Conflict("payment %s is %s: only an approved payment has receipts", p.ID, p.Status)
	}
	var jobs [][]string
	for _, w := range what {
		var lines []string
		var err error
		switch w {
		case PrintBank:
			lines, err = s.printer.BankTicket(p, cols)
		case PrintNote:
			var t Ticket
			if t, err = s.store.Ticket(ctx, p.TicketID); err == nil {
				lines, err = s.printer.Note(t, cols)
			}
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("duplicata of payment %s: %w", p.ID, err)
		}
		head := strings.Repeat(" ", max(cols-len(DuplicataTitle), 0)/2) + DuplicataTitle
		jobs = append(jobs, append([]string{head, ""}, lines...))
	}
	return jobs, nil
}

// moreParts reports whether a split has parts left after the one paid.
func (x *Session) moreParts() bool { return x.part+1 < len(x.parts) }

// offerNextPart shows the next part of a split to pay, or stop; if
// nothing is due any more (paid elsewhere) the split is over.
func (x *Session) offerNextPart(ctx context.Context) error {
	t, err := x.s.store.Ticket(ctx, x.ticket.ID)
	if err != nil {
		return err
	}
	x.ticket = &t
	if t.Due <= 0 || t.Status == TicketCancelled {
		x.parts = nil
		return nil
	}
	next := x.parts[x.part+1]
	x.show(Screen{Kind: ScreenTicket, Title: fmt.Sprintf("PART %d/%d", x.part+2, len(x.parts)),
		Lines: ticketLines(t), Choices: []MenuItem{{ID: "next", Label: "Payer " + FormatCents(next)}, {ID: "stop", Label: "Arrêter"}}}, awaitNextPart)
	return nil
}

// Answer takes the terminal's answer to the screen shown.
func (x *Session) Answer(ctx context.Context, screenID, value string) error {
	if x.sc == nil || screenID != x.screen.ScreenID || x.await == awaitPayment {
		return ErrNoScreen
	}
	if err := x.answer(ctx, value); err != nil {
		return err
	}
	return x.run(ctx)
}

func (x *Session) answer(ctx context.Context, value string) error {
	switch x.await {
	case awaitPick:
		return x.pick(value)
	case awaitInput:
		st := x.sc.Steps[x.step]
		if !validInput(value, st.Input, st.Min, st.Max) {
			return ErrBadAnswer
		}
		if st.Var == VarAmount {
			n, err := x.typedAmount(ctx, value)
			if err != nil {
				return err
			}
			x.setAmount(n, x.tip)
		}
		x.vars[st.Var] = value
	case awaitChoice:
		return x.choose(value)
	case awaitParts:
		n, err := strconv.Atoi(value)
		// More parts than cents due would ask a card for nothing.
		if err != nil || n < 2 || n > MaxSplitParts || int64(n) > x.ticket.Due {
			return ErrBadAnswer
		}
		x.parts, x.part = Split(x.ticket.Due, n), 0
		x.setAmount(x.parts[0], 0)
	case awaitAmount, awaitTip:
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil || n < 0 || n > MaxTotal || (x.await == awaitAmount && (n < 1 || n > x.ticket.Due)) {
			return ErrBadAnswer
		}
		if x.await == awaitAmount {
			x.setAmount(n, 0)
		} else {
			x.setAmount(x.ticket.Due, n)
		}
	case awaitNextPart:
		return x.nextPart(ctx, value)
	case awaitMessage:
		x.await = awaitNothing
		x.step = x.resume
		return nil
	}
	x.await = awaitNothing
	x.step++
	return nil
}

// pick takes a ticket from the menu shown (by pick_ticket or lookup).
func (x *Session) pick(id string) error {
	for _, it := range x.screen.Items {
		if it.ID == id {
			x.ticket = &Ticket{ID: id}
			x.await = awaitNothing
			x.step++
			return nil
		}
	}
	return ErrBadAnswer
}

// nextPart goes on with a split: pay the next part, or stop paying. A
// split stopped with money due ends on a screen that says how much, not
// on the scenario's done step, whose title says the payment is accepted.
func (x *Session) nextPart(ctx context.Context, value string) error {
	switch value {
	case "next":
		x.part++
		x.amount, x.tip = x.parts[x.part], 0
		x.step = x.payStep
	case "stop":
		t, err := x.s.store.Ticket(ctx, x.ticket.ID)
		if err != nil {
			return err
		}
		x.parts = nil
		if t.Due > 0 && t.Status != TicketCancelled {
			x.end("PAIEMENT PARTIEL", "TICKET "+t.Ref, "RESTE DÛ "+FormatCents(t.Due))
			return nil
		}
		// Paid in full meanwhile: the done step the part was offered at.
	default:
		return ErrBadAnswer
	}
	x.await = awaitNothing
	return nil
}

// choose takes a choice on the ticket screen. Choices that need a number
// ask for it on an input screen, then go to the next step.
func (x *Session) choose(c string) error {
	offered := false
	for _, it := range x.screen.Choices {
		offered = offered || it.ID == c
	}
	if !offered {
		return ErrBadAnswer
	}
	switch c {
	case ChoiceFull:
		x.parts = nil
		x.setAmount(x.ticket.Due, 0)
	case ChoiceSplit:
		x.show(Screen{Kind: ScreenInput, Title: "NOMBRE DE PARTS ?", Input: "numeric", Min: 1, Max: 2}, awaitParts)
		return nil
	case ChoiceAmount:
		x.show(Screen{Kind: ScreenInput, Title: "MONTANT ? (centimes)", Input: "numeric", Min: 1, Max: 9}, awaitAmount)
		return nil
	case ChoiceTip:
		x.show(Screen{Kind: ScreenInput, Title: "POURBOIRE ? (centimes)", Input: "numeric", Min: 1, Max: 9}, awaitTip)
		return nil
	}
	x.await = awaitNothing
	x.step++
	return nil
}

// typedAmount is the amount an input step took: 1 cent at least, and no
// more than is due when the ticket is known already (else the pay step
// checks it).
func (x *Session) typedAmount(ctx context.Context, value string) (int64, error) {
	n, err := strconv.ParseInt(value, 10, 64)
	if err != nil || n < 1 || n > MaxTotal {
		return 0, ErrBadAnswer
	}
	if x.ticket == nil {
		return n, nil
	}
	t, err := x.s.store.Ticket(ctx, x.ticket.ID)
	if err != nil {
		return 0, err
	}
	if n > t.Due && t.Due > 0 {
		return 0, ErrBadAnswer
	}
	return n, nil
}

func validInput(v, kind string, min, max int) bool {
	n := len([]rune(v))
	if n < min || n > max || CheckText(v, 0, 64) != "" {
		return false
	}
	if kind == "numeric" {
		for _, r := range v {
			if r < '0' || r > '9' {
				return false
			}
		}
	}
	return true
}

// TicketChanged refreshes the screen shown if it shows the ticket, or the
// list of tickets: a ticket a till posts appears on a terminal's list at
// once.
func (x *Session) TicketChanged(ctx context.Context, ticketID string) error {
	return x.TicketsChanged(ctx, []string{ticketID})
}

// TicketsChanged is TicketChanged for several tickets at once, or for any
// ticket if ticketIDs is nil: the screen is refreshed once.
func (x *Session) TicketsChanged(ctx context.Context, ticketIDs []string) error {
	switch {
	case x.sc == nil:
		return nil
	case x.await == awaitPick && x.sc.Steps[x.step].Kind == StepPickTicket:
		items, page, more, err := x.menuPage(ctx, x.menuQ, max(x.screen.Page, 1))
		if err != nil {
			return err
		}
		if slices.Equal(items, x.screen.Items) && page == x.screen.Page && more == x.screen.More {
			// Most changes (a payment started, a ticket updated past the
			// page's end) leave the list as shown: resending it would cost
			// every terminal on the list a frame for nothing.
			return nil
		}
		x.screen.Items, x.screen.Page, x.screen.More = items, page, more
		x.send(x.screen)
	case x.await == awaitChoice && x.ticket != nil && (ticketIDs == nil || slices.Contains(ticketIDs, x.ticket.ID)):
		return x.showTicket(ctx, &x.sc.Steps[x.step])
	case x.onTicketInput() && (ticketIDs == nil || slices.Contains(ticketIDs, x.ticket.ID)):
		return x.ticketUnderInput(ctx)
	}
	return nil
}

// onTicketInput reports whether the screen shown asks for a number from
// the ticket screen: how many parts, another amount, a tip. The number is
// for the ticket as shown then.
func (x *Session) onTicketInput() bool {
	switch x.await {
	case awaitParts, awaitAmount, awaitTip:
		return x.ticket != nil
	}
	return false
}

// ticketUnderInput follows a change to the ticket while the waiter types a
// number for it. A change to what is due, or to its status, brings the
// ticket screen back, refreshed, or ends the scenario if the ticket is
// cancelled or paid: the number being typed was for the old amount. A
// change that leaves those (a payment started elsewhere) keeps the input.
func (x *Session) ticketUnderInput(ctx context.Context) error {
	t, err := x.s.store.Ticket(ctx, x.ticket.ID)
	if err != nil {
		return err
	}
	if t.Due == x.ticket.Due && t.Total == x.ticket.Total && t.Status == x.ticket.Status {
		return nil
	}
	x.clearAmount()
	x.await = awaitNothing
	return x.showTicket(ctx, &x.sc.Steps[x.step])
}
