package terminalws

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/passerelle/passerelle/gateway"
)

// Protocol limits and timings.
const (
	Subprotocol       = "passerelle.v1"
	MaxFrame          = 64 << 10 // larger frames get an error
	HardReadLimit     = 1 << 20  // larger frames close the connection
	PingInterval      = 20 * time.Second
	ReadTimeout       = 60 * time.Second // a terminal silent this long is offline
	WriteTimeout      = 10 * time.Second
	HelloTimeout      = 10 * time.Second
	MaxBadMessages    = 10 // malformed messages in a row before a disconnect
	MessagesPerSecond = 20 // sustained rate allowed, with a burst of MessageBurst
	MessageBurst      = 40
	OutboxSize        = 64 // messages queued for a slow terminal before it is dropped
	ExpireInterval    = 10 * time.Second
	// A failed read of the event log is retried after EventRetry, doubled
	// at each failure up to MaxEventRetry; after EventOutage of failures
	// in a row the hub stops, and the gateway with it.
	EventRetry    = 100 * time.Millisecond
	MaxEventRetry = 5 * time.Second
	EventOutage   = time.Minute
	// Coalesce is how long the hub waits, after a change, for the changes
	// that follow it before it tells the terminals: changes inside the
	// window reach each terminal on a list as one frame. The default is
	// measured in docs/benchmarks.md ("Coalescing").
	Coalesce = 10 * time.Millisecond
	// maxCoalesced bounds the events gathered in one window.
	maxCoalesced = 2000
)

// EventSource is the event log as the hub follows it: a *gateway.EventLog.
// Wait returns at least one event, or an error.
type EventSource interface {
	Wait(ctx context.Context, after int64, tillID string, limit int) ([]gateway.Event, error)
	Last() int64
}

// Config holds what New needs.
type Config struct {
	Terminals *gateway.Terminals
	Payments  *gateway.Payments
	Sessions  *gateway.Sessions
	Events    EventSource
	Log       *slog.Logger
	// Clock, optional, hears the time of fresh payment results: the admin
	// page warns when the box's clock is off from the terminals'.
	Clock *gateway.ClockWatch
	// Tills, optional, is told of every till.revoked event the hub reads,
	// whichever process wrote it, so that its key cache refuses the key:
	// the hub is the gateway's one follower of the whole log.
	Tills *gateway.Tills
	// PingInterval and ReadTimeout, if set, replace the defaults (tests).
	PingInterval time.Duration
	ReadTimeout  time.Duration
	// RateLimit and RateBurst, if set, replace MessagesPerSecond and
	// MessageBurst (tests that drive terminals faster than people can).
	RateLimit float64
	RateBurst float64
	// ExpireInterval, if set, replaces the default (tests).
	ExpireInterval time.Duration
	// EventRetry and EventOutage, if set, replace the first wait after a
	// failed read of the event log and how long it may stay unreadable
	// before Run gives up (tests).
	EventRetry  time.Duration
	EventOutage time.Duration
	// Coalesce, if set, replaces the default window; negative: none.
	Coalesce time.Duration
}

// Hub accepts terminal connections and keeps track of who is online.
type Hub struct {
	c        Config
	upgrader websocket.Upgrader
	mu       sync.Mutex
	conns    map[string]*conn // by terminal ID
	welcomes atomic.Uint64    // numbers the welcomes sent, in order
	stopped  bool             // Run has returned or is returning: no new connection
	menus    menuCache
	deltas   deltaCache
	wg       sync.WaitGroup
	// ctx ends every connection when Run returns: hijacked connections are
	// not stopped by the HTTP server's shutdown.
	ctx    context.Context
	cancel context.CancelFunc
	// downSince is when the event log became unreadable; zero while it
	// reads.
	downSince time.Time
	// refusals bounds the log lines of refused hellos: a guesser must not
	// fill the disk.
	refusals *gateway.LogLimiter
}

// New returns a Hub.
func New(c Config) *Hub {
	if c.PingInterval == 0 {
		c.PingInterval = PingInterval
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = ReadTimeout
	}
	if c.RateLimit == 0 {
		c.RateLimit = MessagesPerSecond
	}
	if c.RateBurst == 0 {
		c.RateBurst = MessageBurst
	}
	if c.ExpireInterval == 0 {
		c.ExpireInterval = ExpireInterval
	}
	if c.EventRetry == 0 {
		c.EventRetry = EventRetry
	}
	if c.EventOutage == 0 {
		c.EventOutage = EventOutage
	}
	if c.Coalesce == 0 {
		c.Coalesce = Coalesce
	}
	h := &Hub{c: c, conns: map[string]*conn{}, refusals: gateway.NewLogLimiter(10, time.Minute)}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	h.upgrader = websocket.Upgrader{
		// The server's preference first: a terminal that offers both
		// speaks v1.1.
		Subprotocols:     []string{SubprotocolV11, Subprotocol},
		CheckOrigin:      sameOrigin,
		HandshakeTimeout: HelloTimeout,
		// A terminal's messages are a few hundred bytes: a read buffer
		// of 1 KiB holds one whole, and a larger one is read through it
		// all the same. Held by every connection for its lifetime, it
		// is 3 KiB less per idle terminal than the 4 KiB default (the
		// HTTP server's own 4 KiB reader, which the upgrader could reuse
		// with ReadBufferSize 0, is a waste of the same 3 KiB).
		ReadBufferSize:  1024,
		WriteBufferSize: 4096,
		// Terminals write little and seldom: a write buffer is taken
		// from a shared pool for each message rather than held by every
		// connection for its lifetime (8 KiB less per idle terminal).
		WriteBufferPool: &sync.Pool{},
	}
	return h
}

// sameOrigin lets terminal apps (which send no Origin) in, and a page of
// the gateway's own admin UI; any other web page is refused with 403.
func sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	_, host, ok := strings.Cut(origin, "://")
	return ok && strings.EqualFold(host, r.Host)
}

// Register adds the WebSocket endpoint to mux.
func (h *Hub) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /ws/terminal", h.serve)
}

func (h *Hub) serve(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		http.Error(w, "cross-origin WebSocket refused", http.StatusForbidden)
		return
	}
	// The upgrader would connect a client that offers no subprotocol, or
	// only others, without one: a client of another protocol, or of
	// another version of this one, that would then misread every frame.
	offered := websocket.Subprotocols(r)
	if websocket.IsWebSocketUpgrade(r) && !slices.Contains(offered, Subprotocol) && !slices.Contains(offered, SubprotocolV11) {
		http.Error(w, "the terminal protocol needs the WebSocket subprotocol "+Subprotocol+" (Sec-WebSocket-Protocol)", http.StatusBadRequest)
		return
	}
	ws, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	c := newConn(h, ws, remoteAddr(r))
	c.v11 = ws.Subprotocol() == SubprotocolV11
	// Taken under the lock that Run's stop takes before it waits: no
	// connection joins the wait group while Run waits on it, and none is
	// served once the hub has stopped.
	h.mu.Lock()
	if h.stopped {
		h.mu.Unlock()
		ws.Close()
		return
	}
	h.wg.Add(1)
	h.mu.Unlock()
	go func() {
		defer h.wg.Done()
		c.run(h.ctx)
	}()
}

func remoteAddr(r *http.Request) string {
	addr := r.RemoteAddr
	if i := strings.LastIndexByte(addr, ':'); i > 0 {
		addr = addr[:i]
	}
	return strings.Trim(addr, "[]")
}

// Online reports whether the terminal is connected.
func (h *Hub) Online(terminalID string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.conns[terminalID]
	return ok
}

// Running reports whether a terminal still runs payment p: it is connected
// and its session waits for p's result. A payment whose terminal is gone,
// or whose result was refused (the session then stops waiting), is not
// running, and becomes unknown at its deadline.
func (h *Hub) Running(p gateway.Payment) bool {
	c := h.conn(p.DeviceID)
	return c != nil && c.payingFor(p.ID)
}

// OnlineIDs returns the connected terminals' IDs.
func (h *Hub) OnlineIDs() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]string, 0, len(h.conns))
	for id := range h.conns {
		out = append(out, id)
	}
	return out
}

// join registers c as its terminal's connection; an older connection of
// the same terminal is closed (the terminal reconnected). Older means
// welcomed earlier, not joined earlier: a terminal reconnects as soon as
// it has its welcome, so the new connection can join before the old one
// gets there, and then the old one is the one to go. join reports whether
// c is the terminal's connection.
func (h *Hub) join(c *conn) bool {
	h.mu.Lock()
	old := h.conns[c.term.ID]
	if old != nil && old.welcomed > c.welcomed {
		h.mu.Unlock()
		c.close("replaced by a new connection")
		return false
	}
	h.conns[c.term.ID] = c
	h.mu.Unlock()
	if old != nil {
		old.close("replaced by a new connection")
	}
	return true
}

func (h *Hub) leave(c *conn) {
	h.mu.Lock()
	if h.conns[c.term.ID] == c {
		delete(h.conns, c.term.ID)
	}
	h.mu.Unlock()
}

func (h *Hub) conn(terminalID string) *conn {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.conns[terminalID]
}

// Abort asks the terminal running a payment to stop it. It reports whether
// the terminal was connected to be asked.
func (h *Hub) Abort(ctx context.Context, paymentID string) (bool, error) {
	p, err := h.c.Payments.Get(ctx, paymentID)
	if err != nil {
		return false, err
	}
	if !p.InProgress() {
		return false, gateway.Conflict("payment %s is already %s", p.ID, p.Status)
	}
	c := h.conn(p.DeviceID)
	if c == nil {
		return false, nil
	}
	c.sendMsg(paymentMsg{Type: "abort", PaymentID: p.ID})
	return true, nil
}

// Reprint prints again, marked DUPLICATA, the receipts of an approved
// payment (its bank ticket and its ticket's note) on the terminal that took
// it. It reports whether that terminal was connected to print them.
func (h *Hub) Reprint(ctx context.Context, paymentID string) (bool, error) {
	p, err := h.c.Payments.Get(ctx, paymentID)
	if err != nil {
		return false, err
	}
	if p.Status != gateway.PaymentApproved {
		return false, gateway.Conflict("payment %s is %s: only an approved payment has receipts", p.ID, p.Status)
	}
	c := h.conn(p.DeviceID)
	if c == nil {
		return false, nil
	}
	if c.cols == 0 {
		return false, gateway.Conflict("terminal %s has no printer", p.Terminal)
	}
	jobs, err := h.c.Sessions.Duplicata(ctx, p, []string{gateway.PrintBank, gateway.PrintNote}, c.cols)
	if err != nil {
		return false, err
	}
	for _, lines := range jobs {
		c.sendMsg(gateway.PrintJob{Type: "print", JobID: gateway.NewID("prn", time.Now()), Lines: lines, Cut: true})
	}
	h.c.Log.Info("receipts printed again", "payment", p.ID, "terminal", p.Terminal)
	return true, nil
}

// Run follows the event log to refresh terminals' screens and disconnect
// revoked terminals, and expires payments left pending by terminals that
// went away. A failed read of the log is retried, with backoff, while the
// terminals are served all the same; a log unreadable for EventOutage makes
// Run return the error, so that the errgroup stops the gateway for the
// service manager to restart it. It returns nil when ctx is done. Either
// way, it closes every connection first.
func (h *Hub) Run(ctx context.Context) error {
	ctx, stop := context.WithCancel(ctx)
	expired := make(chan struct{})
	go func() {
		defer close(expired)
		h.expire(ctx)
	}()
	err := h.follow(ctx)
	stop()
	<-expired
	h.cancel()
	h.mu.Lock()
	h.stopped = true
	for _, c := range h.conns {
		c.close("gateway shutting down")
	}
	h.mu.Unlock()
	h.wg.Wait()
	return err
}

// follow reads the event log until ctx is done, or until it has been
// unreadable for EventOutage.
func (h *Hub) follow(ctx context.Context) error {
	after := h.c.Events.Last()
	var since time.Time // of the first failed read in a row
	retry := h.c.EventRetry
	for {
		evs, err := h.c.Events.Wait(ctx, after, "", 500)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			if since.IsZero() {
				since = time.Now()
				h.setDown(since)
			}
			if time.Since(since) >= h.c.EventOutage {
				h.c.Log.Error("terminals: the event log stays unreadable: stopping the gateway", "for", time.Since(since).Round(time.Second), "err", err)
				return fmt.Errorf("terminals: the event log unreadable for %v: %w", h.c.EventOutage, err)
			}
			h.c.Log.Warn("terminals: cannot read the event log: screens are not refreshed until it reads again", "retry_in", retry, "err", err)
			if !sleep(ctx, retry) {
				return nil
			}
			retry = min(2*retry, MaxEventRetry)
			continue
		}
		if !since.IsZero() {
			h.c.Log.Info("terminals: the event log reads again", "after", time.Since(since).Round(time.Millisecond))
			since, retry = time.Time{}, h.c.EventRetry
			h.setDown(time.Time{})
		}
		after = evs[len(evs)-1].Seq
		if ids := h.learn(evs, nil); len(ids) > 0 {
			ids, after = h.gather(ctx, ids, after)
			h.tell(ids)
		}
	}
}

// gather learns of the events that follow after within the coalescing
// window, and returns the tickets they change with ids, and the last seq
// read: the terminals then hear of them all at once, one refresh and one
// frame each, rather than one per change. The engine learns of each at
// once (learn), so that a list built meanwhile, such as the one a key
// opens, has them. A failed read ends the window early; the next read of
// follow meets it.
func (h *Hub) gather(ctx context.Context, ids []string, after int64) ([]string, int64) {
	if h.c.Coalesce <= 0 {
		return ids, after
	}
	wctx, cancel := context.WithTimeout(ctx, h.c.Coalesce)
	defer cancel()
	for n := 0; n < maxCoalesced; {
		evs, err := h.c.Events.Wait(wctx, after, "", maxCoalesced-n)
		if err != nil || len(evs) == 0 {
			break
		}
		n += len(evs)
		after = evs[len(evs)-1].Seq
		ids = h.learn(evs, ids)
	}
	return ids, after
}

// changesScreen reports whether e may change what a terminal shows.
func changesScreen(e gateway.Event) bool {
	return e.TicketID != "" && changesScreens(e.Type)
}

// sleep waits for d, or until ctx is done (false).
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (h *Hub) setDown(since time.Time) {
	h.mu.Lock()
	h.downSince = since
	h.mu.Unlock()
}

// Health is nil while the hub follows the event log, else what is wrong:
// terminals are then served, but their screens are not refreshed by other
// terminals' payments or the tills' changes, a revoked terminal stays
// connected and a till key revoked by the CLI is still accepted, until the
// log reads again. It says nothing of the store's
// error itself (logged): /healthz needs no key.
func (h *Hub) Health() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.downSince.IsZero() {
		return nil
	}
	return fmt.Errorf("cannot read the event log since %s", h.downSince.UTC().Format(time.RFC3339))
}

// learn handles a batch of events: revocations and renames at once, and
// the changes to tickets, which the engine learns of before the terminals
// are told (tell), so that a burst of changes (a till posting fast,
// payments on other terminals) costs the terminals on a list one refresh,
// and the engine one read of the list. It returns ids with the tickets
// changed added, each once.
func (h *Hub) learn(evs []gateway.Event, ids []string) []string {
	for _, e := range evs {
		switch e.Type {
		case gateway.EventTerminalRevoked:
			h.revoked(e)
			continue
		case gateway.EventTerminalRenamed:
			h.renamed(e)
			continue
		case gateway.EventTillRevoked:
			if h.c.Tills != nil {
				h.c.Tills.Forget(e.TillID)
			}
			continue
		}
		if !changesScreen(e) {
			continue
		}
		h.c.Sessions.Changed(e)
		if !slices.Contains(ids, e.TicketID) {
			ids = append(ids, e.TicketID)
		}
	}
	return ids
}

// tell has every terminal refresh what it shows of the tickets ids.
func (h *Hub) tell(ids []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.conns {
		for _, id := range ids {
			c.ticketChanged(id)
		}
	}
}

func (h *Hub) revoked(e gateway.Event) {
	if v, err := gateway.ParseTerminalEvent(e); err == nil {
		if c := h.conn(v.TerminalID); c != nil {
			c.close("terminal revoked")
		}
	}
}

// renamed gives a connected terminal its new name at once (its keys and
// payments go by it), rather than at its next connection.
func (h *Hub) renamed(e gateway.Event) {
	if v, err := gateway.ParseTerminalEvent(e); err == nil {
		if c := h.conn(v.TerminalID); c != nil {
			c.rename(v.Name)
		}
	}
}

// changesScreens reports whether an event can change what a terminal shows
// of a ticket (lines, total, paid, due, status). A payment that starts or
// ends without money taken changes none of it; skipping those spares every
// terminal on a list a refresh per payment.
func changesScreens(typ string) bool {
	switch typ {
	case gateway.EventPaymentStarted, gateway.EventPaymentDeclined, gateway.EventPaymentCancelled,
		gateway.EventPaymentError, gateway.EventPaymentUnknown:
		return false
	}
	return true
}

func (h *Hub) expire(ctx context.Context) {
	t := time.NewTicker(h.c.ExpireInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n, err := h.c.Payments.Expire(ctx, h.Running); err != nil && ctx.Err() == nil {
			h.c.Log.Error("expire payments", "err", err)
		} else if n > 0 {
			h.c.Log.Warn("payments past their deadline are now unknown: the manager must resolve them", "count", n)
		}
	}
}
