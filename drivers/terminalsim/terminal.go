package terminalsim

import (
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/passerelle/passerelle/gateway"
)

// Protocol constants and the simulator's timings.
const (
	Subprotocol      = "passerelle.v1"
	Path             = "/ws/terminal"
	HelloTimeout     = 10 * time.Second
	DefaultSlowDelay = 5 * time.Second
	// readTimeout is beyond the gateway's 20 s pings: a connection silent
	// this long is dead.
	readTimeout  = 90 * time.Second
	writeTimeout = 10 * time.Second
	maxFrame     = 1 << 20
)

// TypeDisconnected and TypeReconnected are not protocol messages: Next
// returns TypeDisconnected when the connection ends, with the reason in
// Text, and TypeReconnected when a following terminal (Options.Follow)
// connected again by itself, with the gateway's URL in Text.
const (
	TypeDisconnected = "disconnected"
	TypeReconnected  = "reconnected"
)

// Errors a caller may test for.
var (
	ErrUnauthorized = errors.New("terminalsim: the gateway refused the pairing code or token")
	ErrNotPaired    = errors.New("terminalsim: the terminal is not paired: a pairing code is needed (`passerelle terminal code`)")
	ErrNotConnected = errors.New("terminalsim: not connected")
	ErrNoScreen     = errors.New("terminalsim: no screen is shown")
	ErrNoPayment    = errors.New("terminalsim: no card payment is asked")
	// ErrImpostor is a gateway whose certificate is not the one the
	// terminal pinned: refused before the terminal says anything to it.
	ErrImpostor = errors.New("terminalsim: possible impostor: fingerprint changed")
)

// Options configure a simulated terminal.
type Options struct {
	// URL is the gateway: http(s)://host:port (ws(s):// also works); the
	// path /ws/terminal is added if the URL has none. Without it the
	// terminal tries URLs, then the state file's last URL, then looks for
	// its gateway in Gateways.
	URL string
	// URLs are tried after URL, in order: a pairing link's addresses, or
	// those of the gateway chosen from mDNS.
	URLs []string
	// Code is a pairing code, used when the terminal has no token or when
	// the gateway refuses its token.
	Code string
	// Token, if set, is used instead of the state file's.
	Token string
	// StateFile keeps the token and the unfinished payments; "" keeps them
	// in memory only.
	StateFile   string
	Serial      string // default: the state file's, else a new one
	Model       string // default "passerelle-sim"
	AppVersion  string // default "terminalsim"
	PrinterCols int    // default 32
	Keys        []string
	// Fingerprint pins the gateway's certificate by the hex SHA-256 of its
	// DER, as the gateway logs it, or by its first characters (at least
	// MinFingerprintPrefix hex digits) that a person compared on both
	// screens. A terminal that paired over TLS pins the certificate it saw
	// then, and refuses any other later (ErrImpostor).
	Fingerprint string
	// GatewayID and GatewayName are those of the gateway chosen by mDNS,
	// kept in the state file when pairing.
	GatewayID, GatewayName string
	// Gateways is what the terminal hears of the gateways on the LAN. A
	// terminal whose addresses fail looks there for its gateway: by its
	// pinned certificate, else its id, else the address it knew. One that
	// announces the same name or id with another certificate is refused.
	Gateways GatewaySource
	// FindTimeout bounds that look; DefaultFindTimeout if 0.
	FindTimeout time.Duration
	// Follow, with Gateways, keeps the terminal connected by itself: when
	// its gateway announces other addresses it moves there, and after a
	// lost connection it connects again (TypeReconnected).
	Follow bool
	// Insecure accepts any certificate when nothing is pinned.
	Insecure bool
	// SlowDelay is how long a Slow card step takes; DefaultSlowDelay if 0.
	SlowDelay time.Duration
	// Menus, if set, decodes the items of menu screens once for all the
	// terminals that share it; a fleet shares one.
	Menus *MenuCache
	// V1Only offers passerelle.v1 alone, as a terminal of before v1.1.
	V1Only bool
	// Rows is the display's rows, told in hello: on v1.1 the gateway
	// pages menus to fit (a row for the title). Default 8; negative
	// tells none, and menus come in one page of up to 50.
	Rows int
	Log  *slog.Logger
}

// Message is one message from the gateway; the fields its type uses are
// set.
type Message struct {
	Type string `json:"type"`
	// welcome
	TerminalID string `json:"terminal_id,omitempty"`
	Name       string `json:"name,omitempty"`
	// screen and done
	ScreenID string             `json:"screen_id,omitempty"`
	Kind     string             `json:"kind,omitempty"`
	Title    string             `json:"title,omitempty"`
	Items    []gateway.MenuItem `json:"items,omitempty"`
	Input    string             `json:"input,omitempty"`
	Min      int                `json:"min,omitempty"`
	Max      int                `json:"max,omitempty"`
	Lines    []string           `json:"lines,omitempty"` // screen lines, or a print job's
	Total    *int64             `json:"total,omitempty"`
	Due      *int64             `json:"due,omitempty"`
	Choices  []gateway.MenuItem `json:"choices,omitempty"`
	TimeoutS int                `json:"timeout_s,omitempty"`
	// v1.1: a menu's version, page and whether a page follows (More is
	// nil in a list_delta that leaves it as it was); a list_delta's
	// versions and changes.
	Page    int                `json:"page,omitempty"`
	More    *bool              `json:"more,omitempty"`
	Version int64              `json:"version,omitempty"`
	From    int64              `json:"from,omitempty"`
	Removed []string           `json:"removed,omitempty"`
	Changed []gateway.MenuItem `json:"changed,omitempty"`
	Added   []AddedItem        `json:"added,omitempty"`
	// pay, ack, status_request, abort, payment_state
	PaymentID string `json:"payment_id,omitempty"`
	Amount    int64  `json:"amount,omitempty"`
	Tip       int64  `json:"tip,omitempty"`
	Currency  string `json:"currency,omitempty"`
	TicketRef string `json:"ticket_ref,omitempty"`
	Label     string `json:"label,omitempty"`
	Status    string `json:"status,omitempty"`
	// print
	JobID string `json:"job_id,omitempty"`
	Cut   bool   `json:"cut,omitempty"`
	// error, and TypeDisconnected
	Code string `json:"code,omitempty"`
	Text string `json:"message,omitempty"`
}

// PrintJob is what the terminal printed.
type PrintJob struct {
	JobID string
	Lines []string
	Cut   bool
}

// Terminal is one simulated terminal. Its methods are safe for concurrent
// use; Next is meant for one reader.
type Terminal struct {
	opts Options
	log  *slog.Logger
	q    queue
	wmu  sync.Mutex // one writer on the socket at a time

	mu        sync.Mutex
	st        State
	conn      *conn
	paired    bool     // the last hello paired with a code
	screen    *Message // the screen shown
	pay       *Message // the pay request whose card step has not ended
	cardID    string   // the payment whose card step runs in Card
	cardAbort chan struct{}
	printed   []PrintJob
	closed    bool
	cardHook  func() // tests: called once a card step runs
	url       string // of the connection
	moving    *conn  // the connection being replaced: its end is no news

	// DropDeltas makes the terminal lose that many list_delta frames, as
	// a test of the recovery; Deltas counts those applied, Snapshots
	// those it could not apply and asked a snapshot for.
	DropDeltas, Deltas, Snapshots atomic.Int32
	// BytesIn counts the bytes of the frames received, to measure what a
	// change costs a terminal.
	BytesIn atomic.Int64

	dialMu     sync.Mutex         // one connection attempt at a time
	stopFollow context.CancelFunc // ends follow, if it runs
	followDone chan struct{}
}

type conn struct {
	ws   *websocket.Conn
	done chan struct{} // closed when its reader has ended
}

// Dial loads the terminal's state, connects to the gateway and says hello:
// with its token if it has one, else with opts.Code. Results that were not
// acknowledged before are sent again.
func Dial(ctx context.Context, opts Options) (*Terminal, error) {
	if opts.Model == "" {
		opts.Model = "passerelle-sim"
	}
	if opts.AppVersion == "" {
		opts.AppVersion = "terminalsim"
	}
	if opts.PrinterCols == 0 {
		opts.PrinterCols = 32
	}
	if opts.Keys == nil {
		opts.Keys = []string{"F1", "F2"}
	}
	if opts.SlowDelay == 0 {
		opts.SlowDelay = DefaultSlowDelay
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.URL != "" {
		if _, err := wsURL(opts.URL); err != nil {
			return nil, err
		}
	}
	if opts.Fingerprint != "" {
		if _, err := parseFingerprint(opts.Fingerprint); err != nil {
			return nil, err
		}
	}
	for _, u := range opts.URLs {
		if _, err := wsURL(u); err != nil {
			return nil, err
		}
	}
	st, err := LoadState(opts.StateFile)
	if err != nil {
		return nil, err
	}
	switch {
	case opts.Serial != "":
		st.Serial = opts.Serial
	case st.Serial == "":
		st.Serial = NewSerial()
	}
	// The terminal stopped during these card steps: the simulated kernel
	// never completed them, so nothing was charged.
	now := time.Now()
	for i := range st.Payments {
		if p := &st.Payments[i]; p.Step == StepCard {
			p.Result, p.Step = cardResult(*p, "cancelled", now), StepResult
		}
	}
	t := &Terminal{opts: opts, log: opts.Log, st: st, q: queue{signal: make(chan struct{}, 1)}}
	t.mu.Lock()
	err = t.saveLocked()
	t.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if err := t.connect(ctx); err != nil {
		return nil, err
	}
	if opts.Follow && opts.Gateways != nil {
		fctx, stop := context.WithCancel(context.Background())
		t.stopFollow, t.followDone = stop, make(chan struct{})
		go t.follow(fctx)
	}
	return t, nil
}

// NewSerial is a serial number for a new simulated terminal.
func NewSerial() string { return fmt.Sprintf("SIM%08d", rand.IntN(100_000_000)) }

// connectURL says hello to the gateway at u: with the token if the
// terminal has one, else (or if the gateway refuses it) with the code.
func (t *Terminal) connectURL(ctx context.Context, u string) error {
	t.mu.Lock()
	token := t.opts.Token
	if token == "" {
		token = t.st.Token
	}
	t.mu.Unlock()
	if token != "" {
		err := t.dial(ctx, u, token, "")
		if err == nil || !errors.Is(err, ErrUnauthorized) || t.opts.Code == "" {
			return err
		}
		t.log.Warn("the gateway refused the terminal's token: pairing again with the code")
	} else if t.opts.Code == "" {
		return ErrNotPaired
	}
	return t.dial(ctx, u, "", t.opts.Code)
}

type helloMsg struct {
	Type        string   `json:"type"`
	Serial      string   `json:"serial"`
	Model       string   `json:"model"`
	AppVersion  string   `json:"app_version"`
	PairingCode string   `json:"pairing_code,omitempty"`
	Token       string   `json:"token,omitempty"`
	Display     size     `json:"display"`
	Printer     size     `json:"printer"`
	Keys        []string `json:"keys"`
}

type size struct {
	Cols int `json:"cols"`
	Rows int `json:"rows,omitempty"`
}

// refMsg is start, answer, cancel, printed, resume and payment_state.
type refMsg struct {
	Type      string  `json:"type"`
	Key       string  `json:"key,omitempty"`
	ScreenID  string  `json:"screen_id,omitempty"`
	Value     *string `json:"value,omitempty"`
	PaymentID string  `json:"payment_id,omitempty"`
	Status    string  `json:"status,omitempty"`
	JobID     string  `json:"job_id,omitempty"`
	Page      int     `json:"page,omitempty"`
}

// dial opens one connection to base and says hello with token or code.
func (t *Terminal) dial(ctx context.Context, base, token, code string) error {
	u, err := wsURL(base)
	if err != nil {
		return err
	}
	protos := []string{SubprotocolV11, Subprotocol}
	if t.opts.V1Only {
		protos = []string{Subprotocol}
	}
	d := websocket.Dialer{Subprotocols: protos, HandshakeTimeout: HelloTimeout,
		ReadBufferSize: 4096, WriteBufferSize: 4096}
	if t.opts.Gateways != nil {
		// An address that does not even take the connection at once is
		// not the gateway's any more (a LAN answers in milliseconds, a
		// host gone in seconds of ARP): mDNS will say where it went.
		d.NetDialContext = (&net.Dialer{Timeout: connectTimeout}).DialContext
	}
	var seen string
	if u.Scheme == "wss" {
		pins := []string{t.opts.Fingerprint}
		if code == "" { // pairing is when a terminal learns what to pin
			t.mu.Lock()
			pins = append(pins, t.st.Fingerprint)
			t.mu.Unlock()
		}
		tc, err := tlsConfig(pins, t.opts.Insecure, &seen)
		if err != nil {
			return err
		}
		d.TLSClientConfig = tc
	}
	ws, resp, err := d.DialContext(ctx, u.String(), nil)
	if err != nil {
		if resp != nil {
			return fmt.Errorf("terminalsim: connect to %s: %w (%s)", u.Redacted(), err, resp.Status)
		}
		return fmt.Errorf("terminalsim: connect to %s: %w", u.Redacted(), err)
	}
	if !slices.Contains(protos, ws.Subprotocol()) {
		ws.Close()
		return fmt.Errorf("terminalsim: %s does not speak %s", u.Redacted(), Subprotocol)
	}
	t.mu.Lock()
	serial := t.st.Serial
	t.mu.Unlock()
	hello := helloMsg{Type: "hello", Serial: serial, Model: t.opts.Model, AppVersion: t.opts.AppVersion,
		PairingCode: code, Token: token, Display: size{Cols: 16, Rows: max(cmp.Or(t.opts.Rows, 8), 0)}, Printer: size{Cols: t.opts.PrinterCols},
		Keys: t.opts.Keys}
	ws.SetWriteDeadline(time.Now().Add(writeTimeout))
	if err := ws.WriteJSON(hello); err != nil {
		ws.Close()
		return fmt.Errorf("terminalsim: hello: %w", err)
	}
	ws.SetReadDeadline(time.Now().Add(HelloTimeout))
	_, data, err := ws.ReadMessage()
	if err != nil {
		ws.Close()
		return fmt.Errorf("terminalsim: waiting for welcome: %w", err)
	}
	var welcome struct {
		Message
		Token string `json:"token"`
	}
	if err := json.Unmarshal(data, &welcome); err != nil {
		ws.Close()
		return fmt.Errorf("terminalsim: welcome: %w", err)
	}
	switch {
	case welcome.Type == "error" && welcome.Code == "unauthorized":
		ws.Close()
		return fmt.Errorf("%w (%s)", ErrUnauthorized, welcome.Text)
	case welcome.Type == "error":
		ws.Close()
		return fmt.Errorf("terminalsim: the gateway refused the hello: %s: %s", welcome.Code, welcome.Text)
	case welcome.Type != "welcome":
		ws.Close()
		return fmt.Errorf("terminalsim: the gateway answered hello with %q, not welcome", welcome.Type)
	}

	c := &conn{ws: ws, done: make(chan struct{})}
	t.mu.Lock()
	t.st.TerminalID, t.st.Name = welcome.TerminalID, welcome.Name
	t.paired = code != ""
	if welcome.Token != "" {
		t.st.Token = welcome.Token
	}
	if code != "" {
		t.st.Fingerprint = seen // "" over plain HTTP: nothing to pin
		t.st.GatewayID, t.st.GatewayName = t.opts.GatewayID, t.opts.GatewayName
	}
	t.st.GatewayURL, t.url = base, base
	if err := t.saveLocked(); err != nil {
		t.mu.Unlock()
		ws.Close()
		return err
	}
	t.conn, t.screen = c, nil // a new connection starts idle
	var resend []Result
	for _, p := range t.st.Payments {
		if p.Result != nil {
			resend = append(resend, *p.Result)
		}
	}
	t.mu.Unlock()
	t.log.Info("terminal connected", "terminal", welcome.Name, "id", welcome.TerminalID, "paired", code != "")
	go t.read(c)
	for _, r := range resend {
		t.log.Info("sending again a result the gateway did not acknowledge", "payment", r.PaymentID, "status", r.Status)
		if err := t.write(c, r); err != nil {
			break // the next connection sends it
		}
	}
	return nil
}

func (t *Terminal) read(c *conn) {
	defer close(c.done)
	c.ws.SetReadLimit(maxFrame)
	c.ws.SetPingHandler(func(data string) error {
		c.ws.SetReadDeadline(time.Now().Add(readTimeout))
		err := c.ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(writeTimeout))
		if errors.Is(err, websocket.ErrCloseSent) {
			return nil
		}
		return err
	})
	for {
		c.ws.SetReadDeadline(time.Now().Add(readTimeout))
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			t.mu.Lock()
			current := t.conn == c
			if current {
				t.conn = nil
			}
			closed, moving := t.closed, t.moving == c
			t.mu.Unlock()
			// A connection the terminal replaces (it moves to its gateway's
			// new address) ends without a word.
			if !closed && current && !moving {
				t.log.Info("terminal disconnected", "err", err)
				t.q.push(Message{Type: TypeDisconnected, Text: err.Error()})
			}
			return
		}
		t.BytesIn.Add(int64(len(data)))
		m, err := t.opts.Menus.decode(data)
		if err != nil {
			t.log.Warn("the gateway sent something that is not a message", "err", err)
			continue
		}
		if m.Type == "list_delta" {
			if t.DropDeltas.Load() > 0 {
				t.DropDeltas.Add(-1) // tests: a frame lost
				continue
			}
			t.mu.Lock()
			m, err = ApplyDelta(t.screen, m)
			t.mu.Unlock()
			if err != nil {
				// The menu shown is not the one the delta follows: ask
				// for it whole, and show nothing new until it comes.
				t.Snapshots.Add(1)
				t.write(c, snapshotMsg{Type: "snapshot"})
				continue
			}
			t.Deltas.Add(1)
		}
		t.handle(c, m)
		t.q.push(m)
	}
}

// handle does what the terminal does by itself for a message, before the
// caller sees it.
func (t *Terminal) handle(c *conn, m Message) {
	switch m.Type {
	case "screen":
		t.mu.Lock()
		t.screen = &m
		t.mu.Unlock()
	case "done":
		t.mu.Lock()
		t.screen = nil
		t.mu.Unlock()
	case "pay":
		t.startCard(c, m)
	case "print":
		t.mu.Lock()
		t.printed = append(t.printed, PrintJob{JobID: m.JobID, Lines: m.Lines, Cut: m.Cut})
		t.mu.Unlock()
		t.write(c, refMsg{Type: "printed", JobID: m.JobID})
	case "ack":
		t.mu.Lock()
		if p := t.st.payment(m.PaymentID); p != nil && p.Step == StepResult {
			t.st.remove(m.PaymentID)
			if err := t.saveLocked(); err != nil {
				t.log.Error("acknowledged result kept in the state file", "payment", m.PaymentID, "err", err)
			}
		}
		t.mu.Unlock()
	case "status_request":
		t.write(c, t.status(m.PaymentID))
	case "abort":
		t.abort(c, m.PaymentID)
	case "error":
		t.log.Warn("the gateway reports an error", "code", m.Code, "message", m.Text)
	}
}

// startCard records a pay request as in card step before anything else
// happens to it.
func (t *Terminal) startCard(c *conn, m Message) {
	p := Payment{PaymentID: m.PaymentID, Step: StepCard, Amount: m.Amount, Tip: m.Tip, Currency: m.Currency,
		TicketRef: m.TicketRef, Label: m.Label, StartedAt: time.Now().UTC()}
	t.mu.Lock()
	if t.st.payment(m.PaymentID) != nil {
		t.mu.Unlock()
		return // a copy of a request this terminal already has
	}
	t.st.Payments = append(t.st.Payments, p)
	err := t.saveLocked()
	if err != nil {
		t.st.remove(p.PaymentID)
	} else {
		t.pay = &m
	}
	t.mu.Unlock()
	if err != nil {
		// A card step the terminal could not record must not start.
		t.log.Error("payment refused: the state file cannot be written", "payment", p.PaymentID, "err", err)
		t.write(c, cardResult(p, "error", time.Now()))
	}
}

// status is the answer to a status_request.
func (t *Terminal) status(id string) any {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.st.payment(id)
	switch {
	case p == nil:
		return refMsg{Type: "payment_state", PaymentID: id, Status: "not_found"}
	case p.Result != nil:
		return *p.Result
	}
	return refMsg{Type: "payment_state", PaymentID: id, Status: "pending"} // its result will come
}

// abort stops a card step that has not completed; a completed one's
// result is sent as it is.
func (t *Terminal) abort(c *conn, id string) {
	t.mu.Lock()
	p := t.st.payment(id)
	var answer any
	switch {
	case p == nil:
		answer = refMsg{Type: "payment_state", PaymentID: id, Status: "not_found"}
	case p.Result != nil:
		answer = *p.Result
	case t.cardID == id: // Card is running it: it sends the cancelled result
		if t.cardAbort != nil {
			close(t.cardAbort)
			t.cardAbort = nil
		}
	default: // waiting for a card
		p.Result, p.Step = cardResult(*p, "cancelled", time.Now()), StepResult
		if err := t.saveLocked(); err != nil {
			t.log.Error("cancelled result not stored", "payment", id, "err", err)
		}
		if t.pay != nil && t.pay.PaymentID == id {
			t.pay = nil
		}
		answer = *p.Result
	}
	t.mu.Unlock()
	if answer != nil {
		t.write(c, answer)
	}
}

// Card runs the card step of the pay request shown, stores its result and
// sends it (except with Drop, which loses the connection instead: the
// result goes out after Reconnect).
func (t *Terminal) Card(ctx context.Context, o Outcome) (Result, error) {
	if _, err := ParseOutcome(string(o)); err != nil {
		return Result{}, err
	}
	t.mu.Lock()
	var id string
	if t.pay != nil {
		id = t.pay.PaymentID
	}
	if p := t.st.payment(id); p == nil || p.Step != StepCard {
		t.pay = nil
		t.mu.Unlock()
		return Result{}, ErrNoPayment
	}
	abort := make(chan struct{})
	t.cardID, t.cardAbort = id, abort
	hook := t.cardHook
	t.mu.Unlock()
	if hook != nil {
		hook()
	}

	status := "approved"
	switch o {
	case Decline:
		status = "declined"
	case Slow:
		tm := time.NewTimer(t.opts.SlowDelay)
		defer tm.Stop()
		select {
		case <-tm.C:
		case <-abort:
			status = "cancelled"
		case <-ctx.Done():
			t.mu.Lock()
			t.cardID, t.cardAbort = "", nil
			t.mu.Unlock()
			return Result{}, ctx.Err()
		}
	}

	t.mu.Lock()
	t.cardID, t.cardAbort, t.pay = "", nil, nil
	p := t.st.payment(id)
	if p == nil || p.Result != nil {
		t.mu.Unlock()
		return Result{}, ErrNoPayment
	}
	r := cardResult(*p, status, time.Now())
	p.Result, p.Step = r, StepResult
	err := t.saveLocked()
	c := t.conn
	t.mu.Unlock()
	if err != nil {
		return *r, err
	}
	if o == Drop {
		t.Drop()
		return *r, nil
	}
	if c != nil {
		t.write(c, r) // if it fails, the result goes again on the next connection
	}
	return *r, nil
}

// Start presses a key: the gateway starts the scenario mapped to it.
func (t *Terminal) Start(key string) error {
	return t.send(refMsg{Type: "start", Key: key})
}

// Answer answers the screen shown.
func (t *Terminal) Answer(value string) error {
	s := t.Screen()
	if s == nil {
		return ErrNoScreen
	}
	return t.AnswerScreen(s.ScreenID, value)
}

// AnswerScreen answers screen id.
func (t *Terminal) AnswerScreen(id, value string) error {
	return t.send(refMsg{Type: "answer", ScreenID: id, Value: &value})
}

// Page asks for page n of the menu shown (v1.1): it comes as a new menu.
func (t *Terminal) Page(n int) error {
	s := t.Screen()
	if s == nil {
		return ErrNoScreen
	}
	return t.send(refMsg{Type: "page", ScreenID: s.ScreenID, Page: n})
}

// Cancel leaves the scenario from the screen shown; the terminal is idle.
func (t *Terminal) Cancel() error {
	s := t.Screen()
	if s == nil {
		return ErrNoScreen
	}
	if err := t.send(refMsg{Type: "cancel", ScreenID: s.ScreenID}); err != nil {
		return err
	}
	t.mu.Lock()
	if t.screen != nil && t.screen.ScreenID == s.ScreenID {
		t.screen = nil
	}
	t.mu.Unlock()
	return nil
}

// Resume asks the gateway where a payment stands; the answer comes as a
// payment_state message.
func (t *Terminal) Resume(paymentID string) error {
	return t.send(refMsg{Type: "resume", PaymentID: paymentID})
}

// Next returns the next message from the gateway, in order, including
// those the terminal handled by itself (print, ack, status_request, abort)
// and TypeDisconnected.
func (t *Terminal) Next(ctx context.Context) (Message, error) {
	return t.q.pop(ctx)
}

// Screen returns the screen shown, or nil.
func (t *Terminal) Screen() *Message {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.screen == nil {
		return nil
	}
	s := *t.screen
	return &s
}

// Pay returns the pay request whose card step waits for Card, or nil.
func (t *Terminal) Pay() *Message {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.pay == nil {
		return nil
	}
	p := *t.pay
	return &p
}

// Printed returns what the terminal printed, oldest first.
func (t *Terminal) Printed() []PrintJob {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]PrintJob(nil), t.printed...)
}

// State returns a copy of the terminal's state, as in its state file.
func (t *Terminal) State() State {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.st.clone()
}

// ID returns the terminal's ID at the gateway.
func (t *Terminal) ID() string { return t.State().TerminalID }

// Name returns the terminal's name at the gateway.
func (t *Terminal) Name() string { return t.State().Name }

// Paired reports whether the last connection paired with a code rather
// than saying hello with the token.
func (t *Terminal) Paired() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.paired
}

// Connected reports whether the terminal has a connection.
func (t *Terminal) Connected() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.conn != nil
}

// Drop loses the connection as a network failure would: no close frame.
func (t *Terminal) Drop() {
	t.mu.Lock()
	c := t.conn
	t.mu.Unlock()
	if c == nil {
		return
	}
	c.ws.NetConn().Close()
	<-c.done
}

// Reconnect drops the connection if there is one and connects again.
func (t *Terminal) Reconnect(ctx context.Context) error {
	t.Drop()
	return t.connect(ctx)
}

// URL is the gateway's base URL of the connection, or of the last one.
func (t *Terminal) URL() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.url
}

// Close ends the connection cleanly. The state file keeps what is
// unfinished.
func (t *Terminal) Close() error {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	if t.stopFollow != nil {
		t.stopFollow()
		<-t.followDone
	}
	t.mu.Lock()
	c := t.conn
	t.mu.Unlock()
	if c == nil {
		return nil
	}
	c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye"),
		time.Now().Add(time.Second))
	err := c.ws.Close()
	<-c.done
	return err
}

func (t *Terminal) send(v any) error {
	t.mu.Lock()
	c := t.conn
	t.mu.Unlock()
	if c == nil {
		return ErrNotConnected
	}
	return t.write(c, v)
}

func (t *Terminal) write(c *conn, v any) error {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	c.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
	if err := c.ws.WriteJSON(v); err != nil {
		return fmt.Errorf("terminalsim: send: %w", err)
	}
	return nil
}

func (t *Terminal) saveLocked() error {
	return saveState(t.opts.StateFile, t.st)
}

// wsURL turns the gateway's address into its WebSocket endpoint.
func wsURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("terminalsim: the gateway URL must be http(s)://host:port, not %q", raw)
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	case "ws", "wss":
	default:
		return nil, fmt.Errorf("terminalsim: the gateway URL must be http(s)://host:port, not %q", raw)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = Path
	}
	return u, nil
}

// MinFingerprintPrefix is the fewest hex digits of a fingerprint that pin
// a certificate: what a person compares on two screens. 16 digits are 64
// bits, beyond what anyone makes a look-alike certificate for.
const MinFingerprintPrefix = 16

// parseFingerprint reads a fingerprint, or its first characters: hex
// digits, colons and spaces ignored, lower case.
func parseFingerprint(s string) (string, error) {
	h := strings.ToLower(strings.NewReplacer(":", "", " ", "").Replace(s))
	if _, err := hex.DecodeString(h + h[:len(h)%2]); err != nil || len(h) < MinFingerprintPrefix || len(h) > 2*sha256.Size {
		return "", fmt.Errorf("terminalsim: a fingerprint is the 64 hex digits of a SHA-256, or at least its first %d", MinFingerprintPrefix)
	}
	return h, nil
}

// tlsConfig checks the gateway's certificate: against each pin set (the
// hex SHA-256 of its DER, or its first characters), not at all if insecure
// and nothing is pinned, else against the system's roots. It records the
// certificate's fingerprint in seen.
func tlsConfig(pins []string, insecure bool, seen *string) (*tls.Config, error) {
	var want []string
	for _, p := range pins {
		if p == "" {
			continue
		}
		h, err := parseFingerprint(p)
		if err != nil {
			return nil, err
		}
		want = append(want, h)
	}
	return &tls.Config{
		// A pin replaces the chain check: the certificate is self-signed.
		InsecureSkipVerify: want != nil || insecure,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("terminalsim: the gateway sent no certificate")
			}
			sum := sha256.Sum256(cs.PeerCertificates[0].Raw)
			got := hex.EncodeToString(sum[:])
			*seen = got
			for _, w := range want {
				if !strings.HasPrefix(got, w) {
					return fmt.Errorf("%w: the gateway's certificate is %s, not the pinned %s: another box, or a new certificate that needs the terminal paired again",
						ErrImpostor, fingerprintShort(got), fingerprintShort(w))
				}
			}
			return nil
		},
		MinVersion: tls.VersionTLS12,
	}, nil
}

// fingerprintShort is a fingerprint's first characters, as people compare
// them.
func fingerprintShort(fp string) string {
	return gateway.FormatFingerprint(fp, MinFingerprintPrefix) + "…"
}

// queue holds the messages for Next; it never blocks the reader, so a
// caller that does not read cannot stall the connection.
type queue struct {
	mu     sync.Mutex
	items  []Message
	signal chan struct{}
}

func (q *queue) push(m Message) {
	q.mu.Lock()
	q.items = append(q.items, m)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

func (q *queue) pop(ctx context.Context) (Message, error) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			m := q.items[0]
			q.items = q.items[1:]
			q.mu.Unlock()
			return m, nil
		}
		q.mu.Unlock()
		select {
		case <-q.signal:
		case <-ctx.Done():
			return Message{}, ctx.Err()
		}
	}
}
