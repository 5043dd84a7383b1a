package terminalws

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/passerelle/passerelle/gateway"
)

// conn is one terminal's connection.
type conn struct {
	h    *Hub
	ws   *websocket.Conn
	addr string
	term gateway.Terminal // the loop's; its Name changes on a rename
	cols int              // receipts' width: set by the handshake, then read by any goroutine
	v11  bool             // speaks passerelle.v1.1: set before the connection runs
	list lists            // v1.1: the menu the terminal shows, the writer's own

	// The messages to the terminal wait in outbox for a writer: a
	// goroutine started when the first comes, which ends when none is
	// left. An idle terminal has neither writer nor queue: a timer
	// (pinger) queues its pings.
	outMu   sync.Mutex
	outbox  []any
	writing bool           // a writer runs
	ended   bool           // the connection ends: no writer starts any more
	broken  bool           // a write failed: nothing more is written
	writers sync.WaitGroup // the writer, while one runs
	pinger  *time.Timer

	in      chan []byte            // from the reader
	changed chan string            // ticket IDs whose screens may need a refresh
	missed  atomic.Bool            // changed was full: an ID was dropped
	kick    chan struct{}          // wakes the loop for a dropped ID
	newName atomic.Pointer[string] // the terminal's name since a rename, for the loop
	renamed chan struct{}          // wakes the loop for newName
	done    chan struct{}          // closed when the connection ends
	once    sync.Once
	reason  string
	sess    *gateway.Session
	bad     int // malformed messages in a row
	bucket  tokenBucket
	// paying is the payment the session waits for the result of, as of
	// the loop's last step: the hub's sweep reads it from its goroutine.
	paying atomic.Pointer[string]
	logged map[string]bool // fields ignored, already logged once
	// welcomed numbers this connection's welcome among all the hub's: of
	// two connections of one terminal, the later welcomed is the live one.
	welcomed uint64
}

func newConn(h *Hub, ws *websocket.Conn, addr string) *conn {
	return &conn{h: h, ws: ws, addr: addr, in: make(chan []byte),
		changed: make(chan string, 64), kick: make(chan struct{}, 1), renamed: make(chan struct{}, 1), done: make(chan struct{}),
		bucket: tokenBucket{rate: h.c.RateLimit, burst: h.c.RateBurst, tokens: h.c.RateBurst}}
}

// close ends the connection; safe from any goroutine, more than once.
func (c *conn) close(reason string) {
	c.once.Do(func() {
		c.reason = reason
		close(c.done)
	})
}

// sendMsg queues a message for the writer, and starts one if none runs. A
// terminal that does not read fast enough to drain OutboxSize messages is
// dropped, not waited for.
func (c *conn) sendMsg(m any) {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	switch {
	case c.ended || c.broken:
		return
	case len(c.outbox) >= OutboxSize:
		c.close("terminal too slow to read")
		return
	}
	c.outbox = append(c.outbox, m)
	if !c.writing {
		c.writing = true
		c.writers.Add(1)
		go c.writer()
	}
}

// ticketChanged is called by the hub for every ticket event; it never
// blocks: a full queue means the loop is busy, and it will refresh
// whatever it shows.
func (c *conn) ticketChanged(id string) {
	select {
	case c.changed <- id:
	default:
		// The loop may have drained the queue since: the kick makes sure
		// it sees the flag.
		c.missed.Store(true)
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
}

// rename is called by the hub when the terminal is renamed; the loop, which
// owns the session, applies it. It never blocks.
func (c *conn) rename(name string) {
	c.newName.Store(&name)
	select {
	case c.renamed <- struct{}{}:
	default:
	}
}

func (c *conn) run(ctx context.Context) {
	c.outMu.Lock() // the first ping takes it: c.pinger is set by then
	c.pinger = time.AfterFunc(c.h.c.PingInterval, c.ping)
	c.outMu.Unlock()
	go c.reader()
	defer func() {
		c.close("closed")
		c.endWrites() // what is queued (a last error) is sent first
		c.ws.Close()
	}()
	// The handshake and the session's setup query the store, which grows
	// a goroutine's stack to 8 or 16 KiB: they run on a goroutine that
	// ends with them, so that this one, which waits in the loop for as
	// long as the terminal stays connected, keeps the small stack that
	// waiting needs (a GC halves a stack only while it is three quarters
	// unused, a step per cycle: idle terminals kept 9 KiB each).
	joined := make(chan bool)
	go func() { joined <- c.start(ctx) }()
	if !<-joined {
		return
	}
	defer c.h.leave(c)
	c.loop(ctx)
	c.h.c.Log.Info("terminal disconnected", "terminal", c.term.Name, "reason", c.reason)
}

// start runs the handshake, joins the hub and sets the session up; it
// reports whether the connection is the terminal's, to loop on.
func (c *conn) start(ctx context.Context) bool {
	if !c.handshake(ctx) {
		return false
	}
	if !c.h.join(c) {
		c.h.c.Log.Info("terminal disconnected", "terminal", c.term.Name, "reason", c.reason)
		return false
	}
	c.sess = c.h.c.Sessions.New(c.term, func(m gateway.Message) { c.sendMsg(m) })
	if c.v11 {
		c.sess.PageBy(c.term.DisplayRows)
	}
	// A rename committed since hello read the terminal, but told before
	// join, would be missed: read the name again, now that any later
	// rename reaches this connection.
	if t, err := c.h.c.Terminals.Find(ctx, c.term.ID); err == nil && t.Name != c.term.Name {
		c.rename(t.Name)
	}
	c.askPending(ctx)
	return true
}

func (c *conn) loop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			c.close("gateway shutting down")
			return
		case <-c.done:
			return
		case data := <-c.in:
			c.handle(ctx, data)
		case id := <-c.changed:
			c.refresh(ctx, c.moreChanged([]string{id}))
		case <-c.kick:
			c.refresh(ctx, c.moreChanged([]string{}))
		case <-c.renamed:
			if name := c.newName.Swap(nil); name != nil {
				c.h.c.Log.Info("terminal renamed", "terminal", *name, "was", c.term.Name)
				c.term.Name = *name
				c.sess.Renamed(*name)
			}
		}
		id := c.sess.Paying()
		c.paying.Store(&id)
	}
}

// payingFor reports whether the session waits for the result of payment id.
func (c *conn) payingFor(id string) bool {
	p := c.paying.Load()
	return p != nil && *p == id
}

func (c *conn) refresh(ctx context.Context, ids []string) {
	if err := c.sess.TicketsChanged(ctx, ids); err != nil {
		c.h.c.Log.Error("refresh terminal screen", "terminal", c.term.Name, "err", err)
	}
}

// moreChanged returns ids with the other ticket IDs already queued, each
// once: a burst of changes (a till posting fast, payments on other
// terminals) then costs one refresh, not one per change. It returns nil,
// any ticket, if some were dropped.
func (c *conn) moreChanged(ids []string) []string {
	for {
		select {
		case id := <-c.changed:
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		default:
			if c.missed.Swap(false) {
				return nil
			}
			return ids
		}
	}
}

// handshake waits for a valid hello and answers welcome, or error and
// false.
func (c *conn) handshake(ctx context.Context) bool {
	timer := time.NewTimer(HelloTimeout)
	defer timer.Stop()
	var data []byte
	select {
	case data = <-c.in:
	case <-timer.C:
		c.sendMsg(errorMsg{Type: "error", Code: codeUnauthorized, Message: "say hello first"})
		return false
	case <-c.done:
		return false
	case <-ctx.Done():
		return false
	}
	m, err := Decode(data)
	if err == nil && m.typ != "hello" {
		err = bad(codeUnauthorized, "the first message must be hello")
	}
	if err != nil {
		c.sendError(err)
		return false
	}
	h := m.v.(*helloMsg).hello()
	term, token, err := c.h.c.Terminals.Connect(ctx, c.addr, h)
	c.logRefused(h, err)
	switch {
	case errors.Is(err, gateway.ErrTooManyTries):
		c.sendMsg(errorMsg{Type: "error", Code: codeWait, Message: err.Error()})
		return false
	case errors.Is(err, gateway.ErrUnauthorized):
		c.sendMsg(errorMsg{Type: "error", Code: codeUnauthorized, Message: "unknown pairing code or token"})
		return false
	case err != nil:
		c.sendError(err)
		return false
	}
	c.term, c.cols = term, term.ReceiptCols()
	c.welcomed = c.h.welcomes.Add(1)
	c.sendMsg(welcomeMsg{Type: "welcome", TerminalID: term.ID, Name: term.Name, Token: token})
	c.h.c.Log.Info("terminal connected", "terminal", term.Name, "id", term.ID, "addr", c.addr, "paired", token != "")
	return true
}

// logRefused logs a refused hello, never its code or token: a few lines a
// minute, however many come, and every void of the pairing codes.
func (c *conn) logRefused(h gateway.Hello, err error) {
	log := c.h.c.Log
	switch {
	case errors.Is(err, gateway.ErrTooManyTries):
		c.h.refusals.Warn(log, "tries", "terminal refused: too many bad tries from this address", "addr", c.addr)
	case errors.Is(err, gateway.ErrUnauthorized):
		what := "terminal refused: unknown or revoked token"
		switch {
		case h.PairingCode != "":
			what = "terminal refused: unknown pairing code"
		case h.Token == "":
			what = "terminal refused: neither pairing code nor token"
		}
		c.h.refusals.Warn(log, "unauthorized", what, "addr", c.addr, "serial", h.Serial)
	}
	if errors.Is(err, gateway.ErrPairingCodesVoided) {
		v, _ := c.h.c.Terminals.LastPairingVoid()
		c.h.refusals.Warn(log, "void", "pairing codes voided: too many wrong codes from all addresses; the manager makes a new one",
			"wrong_codes", v.Wrong, "addresses", v.Addrs, "codes_voided", v.Codes)
	}
}

// askPending asks the terminal about payments it left pending.
func (c *conn) askPending(ctx context.Context) {
	ps, err := c.h.c.Payments.InProgressOn(ctx, c.term.ID)
	if err != nil {
		c.h.c.Log.Error("pending payments", "terminal", c.term.Name, "err", err)
		return
	}
	for _, p := range ps {
		c.sendMsg(paymentMsg{Type: "status_request", PaymentID: p.ID})
	}
}

func (c *conn) reader() {
	defer c.close("read ended")
	c.ws.SetReadLimit(HardReadLimit)
	c.ws.SetReadDeadline(time.Now().Add(c.h.c.ReadTimeout))
	c.ws.SetPongHandler(func(string) error {
		return c.ws.SetReadDeadline(time.Now().Add(c.h.c.ReadTimeout))
	})
	for {
		kind, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		c.ws.SetReadDeadline(time.Now().Add(c.h.c.ReadTimeout))
		if kind != websocket.TextMessage {
			data = nil // handled as a bad message
		}
		select {
		case c.in <- data:
		case <-c.done:
			return
		}
	}
}

// writer writes the messages queued, in order, until none is left.
func (c *conn) writer() {
	defer c.writers.Done()
	for {
		c.outMu.Lock()
		if len(c.outbox) == 0 {
			c.writing = false
			c.outbox = nil // an idle terminal holds no queue
			c.outMu.Unlock()
			return
		}
		m := c.outbox[0]
		c.outbox[0] = nil
		c.outbox = c.outbox[1:]
		c.outMu.Unlock()
		if !c.write(m) {
			c.outMu.Lock()
			c.broken, c.writing, c.outbox = true, false, nil
			c.outMu.Unlock()
			if _, ok := m.(pingReq); ok {
				c.close("ping failed")
			} else {
				c.close("write failed")
			}
			return
		}
	}
}

// write sends one message; only a writer calls it, one at a time.
func (c *conn) write(m any) bool {
	if _, ok := m.(pingReq); ok {
		return c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(WriteTimeout)) == nil
	}
	c.ws.SetWriteDeadline(time.Now().Add(WriteTimeout))
	if c.v11 {
		if _, ok := m.(menuGone); ok {
			c.list.shown = nil
			return true
		}
		if _, ok := m.(snapshotReq); ok {
			if c.list.shown == nil {
				return true // no menu shown: nothing to send again
			}
			return c.h.menus.writeVersioned(c.ws, *c.list.shown, c.list.version) == nil
		}
		out, whole := c.list.next(m, &c.h.deltas)
		if whole {
			return c.h.menus.writeVersioned(c.ws, out.(gateway.Screen), c.list.version) == nil
		}
		if f, ok := out.(deltaFrame); ok {
			return c.ws.WriteMessage(websocket.TextMessage, f) == nil
		}
	}
	if sc, ok := m.(gateway.Screen); ok && len(sc.Items) > 0 {
		return c.h.menus.writeMenu(c.ws, sc) == nil
	}
	return c.ws.WriteJSON(m) == nil
}

// pingReq tells the writer to send a ping.
type pingReq struct{}

// ping runs on the pinger's goroutine, every PingInterval. The ping is
// queued as a message rather than written from here: it never comes
// between the frames of a long message.
func (c *conn) ping() {
	c.sendMsg(pingReq{})
	c.outMu.Lock()
	defer c.outMu.Unlock()
	if !c.ended && !c.broken {
		c.pinger.Reset(c.h.c.PingInterval)
	}
}

// endWrites stops the pings, waits until the writer has sent what is
// queued, such as the error that ends the connection, and says goodbye.
func (c *conn) endWrites() {
	c.outMu.Lock()
	c.ended = true
	c.pinger.Stop()
	c.outMu.Unlock()
	c.writers.Wait()
	c.outMu.Lock()
	broken := c.broken
	c.outMu.Unlock()
	if !broken {
		c.ws.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseNormalClosure, c.reason), time.Now().Add(time.Second))
	}
}

func (c *conn) sendError(err error) {
	var pe *protoError
	var verr *gateway.ValidationError
	switch {
	case errors.As(err, &pe):
		c.sendMsg(errorMsg{Type: "error", Code: pe.code, Message: pe.msg})
	case errors.As(err, &verr):
		c.sendMsg(errorMsg{Type: "error", Code: codeInvalid, Message: verr.Error()})
	case errors.Is(err, gateway.ErrStorageFull):
		c.h.c.Log.Error("terminal message", "terminal", c.term.Name, "err", err)
		c.sendMsg(errorMsg{Type: "error", Code: codeStorageFull, Message: "MÉMOIRE PLEINE : rien n'est enregistré, prévenez le responsable"})
	default:
		c.h.c.Log.Error("terminal message", "terminal", c.term.Name, "err", err)
		c.sendMsg(errorMsg{Type: "error", Code: codeInternal, Message: "the gateway could not handle that message; nothing changed"})
	}
}
