package gateway

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"
)

// Pairing limits, from the terminal protocol.
const (
	PairingCodeTTL   = 10 * time.Minute
	BadTriesAllowed  = 5
	BadTriesWindow   = time.Minute
	MaxTerminalField = 64
	// PairingBadCodesAllowed wrong pairing codes within PairingCodeTTL,
	// from all addresses together, void every outstanding code: the
	// per-address limit alone lets a LAN of addresses guess thousands of
	// times in a code's life.
	PairingBadCodesAllowed = 10
)

// Terminal is a paired payment terminal.
type Terminal struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Serial      string     `json:"serial"`
	Model       string     `json:"model"`
	AppVersion  string     `json:"app_version"`
	TokenHash   []byte     `json:"-"`
	DisplayCols int        `json:"display_cols"`
	DisplayRows int        `json:"display_rows"`
	PrinterCols int        `json:"printer_cols"` // as the terminal said; 0: no printer
	Keys        []string   `json:"keys"`
	PairedAt    time.Time  `json:"paired_at"`
	LastSeen    *time.Time `json:"last_seen,omitempty"`
	RevokedAt   *time.Time `json:"revoked_at,omitempty"`
}

// The widths receipts are laid out for: below MinPrinterCols a receipt's
// amounts and labels no longer fit together, past MaxPrinterCols lines are
// only longer.
const (
	MinPrinterCols = 24
	MaxPrinterCols = 64
)

// ReceiptCols is the width the terminal's receipts are laid out for: its
// printer's, or the nearest one a receipt can take (a 20-column printer
// gets 24-column lines, which it wraps; an 80-column one 64). 0 if it has
// no printer: nothing is printed on it.
func (t Terminal) ReceiptCols() int {
	if t.PrinterCols <= 0 {
		return 0
	}
	return min(max(t.PrinterCols, MinPrinterCols), MaxPrinterCols)
}

// Hello is what a terminal says of itself when it connects.
type Hello struct {
	Serial      string
	Model       string
	AppVersion  string
	PairingCode string
	Token       string
	DisplayCols int
	DisplayRows int
	PrinterCols int
	Keys        []string
}

// TerminalStore is what the terminal service needs beyond Store.
type TerminalStore interface {
	Store
	TerminalByTokenHash(ctx context.Context, hash []byte) (Terminal, error)
	TerminalByName(ctx context.Context, name string) (Terminal, error)
	TerminalByID(ctx context.Context, id string) (Terminal, error)
	Terminals(ctx context.Context) ([]Terminal, error)
}

// Terminals pairs terminals and manages them.
type Terminals struct {
	store TerminalStore
	now   func() time.Time
	tries *badTries

	// pairing serialises the attempts with a pairing code, so that no
	// guess is checked between the one that spends the budget and the
	// void it brings.
	pairing sync.Mutex
	wrong   []wrongCode // within PairingCodeTTL, since the last void

	voidMu   sync.Mutex // apart: the admin page does not wait for pairings
	lastVoid PairingVoid
	// lastVoidMono is lastVoid.At with its monotonic reading: its age.
	lastVoidMono time.Time
}

type wrongCode struct {
	at   time.Time
	addr string
}

// PairingVoid is a void of the outstanding pairing codes after too many
// wrong ones.
type PairingVoid struct {
	At    time.Time // UTC
	Codes int       // live codes voided
	Wrong int       // wrong codes tried, from all addresses
	Addrs int       // how many addresses they came from
}

// NewTerminals returns the terminal service.
func NewTerminals(store TerminalStore, now func() time.Time) *Terminals {
	return &Terminals{store: store, now: now, tries: &badTries{byAddr: map[string][]time.Time{}}}
}

// ErrTooManyTries is returned while an address waits after bad codes.
var ErrTooManyTries = errors.New("too many bad pairing tries from this address: wait a minute")

// ErrPairingCodesVoided is the wrong pairing code that spent the budget:
// every outstanding code is void. It is an ErrUnauthorized too.
var ErrPairingCodesVoided = fmt.Errorf("%w: too many wrong pairing codes: every outstanding code is void", ErrUnauthorized)

// NewPairingCode returns a fresh 6-digit code, valid PairingCodeTTL, single
// use.
func (s *Terminals) NewPairingCode(ctx context.Context) (string, time.Time, error) {
	for {
		n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
		if err != nil {
			return "", time.Time{}, fmt.Errorf("pairing code: %w", err)
		}
		code := fmt.Sprintf("%06d", n.Int64())
		now := s.now().UTC()
		exp := now.Add(PairingCodeTTL)
		err = s.store.Update(ctx, func(tx Tx) error {
			return tx.InsertPairingCode(ctx, HashKey(code), now, exp)
		})
		var c *ConflictError
		if !errors.As(err, &c) { // a live code drew the same digits: draw again
			return code, exp, err
		}
	}
}

// Connect authenticates a terminal's hello: by token, or by pairing code
// (which pairs it and returns its new token, shown once). addr is the
// remote address, for the bad-tries limit.
func (s *Terminals) Connect(ctx context.Context, addr string, h Hello) (Terminal, string, error) {
	if err := h.Validate(); err != nil {
		return Terminal{}, "", err
	}
	now := s.now()
	if s.tries.blocked(addr, now) {
		return Terminal{}, "", ErrTooManyTries
	}
	var t Terminal
	var token string
	var err error
	switch {
	case h.Token != "":
		t, err = s.store.TerminalByTokenHash(ctx, HashKey(h.Token))
	case h.PairingCode != "":
		t, token, err = s.pairCounted(ctx, addr, h)
	default:
		err = ErrUnauthorized
	}
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrUnauthorized) {
		s.tries.add(addr, now)
		if errors.Is(err, ErrPairingCodesVoided) {
			return Terminal{}, "", ErrPairingCodesVoided
		}
		return Terminal{}, "", ErrUnauthorized
	}
	if err != nil {
		return Terminal{}, "", err
	}
	return t, token, s.seen(ctx, &t, h)
}

// pairCounted pairs with h's code, counting a wrong one against the
// budget of all addresses: the one that spends it voids every outstanding
// code (ErrPairingCodesVoided).
func (s *Terminals) pairCounted(ctx context.Context, addr string, h Hello) (Terminal, string, error) {
	s.pairing.Lock()
	defer s.pairing.Unlock()
	// A void that failed (the store) is owed before any code is checked.
	if _, err := s.voidIfSpent(ctx); err != nil {
		return Terminal{}, "", err
	}
	t, token, err := s.pair(ctx, h)
	if !errors.Is(err, ErrUnauthorized) && !errors.Is(err, ErrNotFound) {
		return t, token, err
	}
	s.wrong = append(s.wrong, wrongCode{at: s.now(), addr: addr})
	voided, verr := s.voidIfSpent(ctx)
	switch {
	case verr != nil:
		return Terminal{}, "", verr
	case voided:
		return Terminal{}, "", ErrPairingCodesVoided
	}
	return Terminal{}, "", err
}

// voidIfSpent voids every outstanding code if the wrong codes within
// PairingCodeTTL reach the budget, and starts a new count. The count is
// kept if the store fails, so that the void is tried again.
func (s *Terminals) voidIfSpent(ctx context.Context) (bool, error) {
	// mono keeps the monotonic reading (UTC strips it): the window of
	// wrong codes counts time really elapsed, whatever the wall clock does.
	mono := s.now()
	now := mono.UTC()
	keep := s.wrong[:0]
	for _, w := range s.wrong {
		if mono.Sub(w.at) < PairingCodeTTL {
			keep = append(keep, w)
		}
	}
	s.wrong = keep
	if len(s.wrong) < PairingBadCodesAllowed {
		return false, nil
	}
	var n int
	err := s.store.Update(ctx, func(tx Tx) error {
		var err error
		n, err = tx.VoidPairingCodes(ctx, now)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("void pairing codes: %w", err)
	}
	addrs := map[string]bool{}
	for _, w := range s.wrong {
		addrs[w.addr] = true
	}
	s.voidMu.Lock()
	s.lastVoid = PairingVoid{At: now, Codes: n, Wrong: len(s.wrong), Addrs: len(addrs)}
	s.lastVoidMono = mono
	s.voidMu.Unlock()
	s.wrong = nil
	return true, nil
}

// LastPairingVoid returns the last void of the outstanding codes while a
// code it voided could still be live (PairingCodeTTL): the admin page says
// why the code it showed no longer pairs, and that someone guesses.
func (s *Terminals) LastPairingVoid() (PairingVoid, bool) {
	s.voidMu.Lock()
	defer s.voidMu.Unlock()
	v := s.lastVoid
	if v.At.IsZero() || s.now().Sub(s.lastVoidMono) >= PairingCodeTTL {
		return PairingVoid{}, false
	}
	return v, true
}

func (s *Terminals) pair(ctx context.Context, h Hello) (Terminal, string, error) {
	now := s.now().UTC()
	token := NewSecret("ptt", 32)
	t := Terminal{ID: NewID("trm", now), Serial: h.Serial, Model: h.Model, TokenHash: HashKey(token), PairedAt: now}
	err := s.store.Update(ctx, func(tx Tx) error {
		if err := tx.UsePairingCode(ctx, HashKey(h.PairingCode), now); err != nil {
			return err
		}
		name, err := s.freeName(ctx, h)
		if err != nil {
			return err
		}
		t.Name = name
		applyHello(&t, h)
		if err := tx.InsertTerminal(ctx, &t); err != nil {
			return err
		}
		return appendTerminalEvent(ctx, tx, EventTerminalPaired, &t, now)
	})
	return t, token, err
}

// freeName names a new terminal after its model and serial, as the manager
// would recognise it; the manager can rename it.
func (s *Terminals) freeName(ctx context.Context, h Hello) (string, error) {
	base := "Terminal"
	if h.Serial != "" {
		base = "Terminal " + h.Serial
	}
	name := base
	for i := 2; ; i++ {
		_, err := s.store.TerminalByName(ctx, name)
		if errors.Is(err, ErrNotFound) {
			return name, nil
		}
		if err != nil {
			return "", err
		}
		name = fmt.Sprintf("%s (%d)", base, i)
	}
}

func applyHello(t *Terminal, h Hello) {
	t.AppVersion, t.Keys = h.AppVersion, h.Keys
	if h.DisplayCols > 0 {
		t.DisplayCols, t.DisplayRows = h.DisplayCols, h.DisplayRows
	}
	t.PrinterCols = h.PrinterCols
	if t.Keys == nil {
		t.Keys = []string{}
	}
}

// seen records what the terminal says of itself and when it connected. It
// writes those columns only, and only if the terminal is still not revoked
// (ErrUnauthorized otherwise): t was read before this transaction, and a
// revoke may have been committed since.
func (s *Terminals) seen(ctx context.Context, t *Terminal, h Hello) error {
	now := s.now().UTC()
	applyHello(t, h)
	t.LastSeen = &now
	return s.store.Update(ctx, func(tx Tx) error {
		got, err := tx.TouchTerminal(ctx, t)
		if err == nil {
			*t = got
		}
		return err
	})
}

// Rename gives a terminal the name the manager wants. The terminal.renamed
// event tells its connection, which goes by the new name at once: the
// terminal's own keys and its payments' name follow it.
func (s *Terminals) Rename(ctx context.Context, nameOrID, newName string) (Terminal, error) {
	if msg := CheckText(newName, 1, MaxTerminalField); msg != "" {
		return Terminal{}, &ValidationError{Fields: []FieldError{{Field: "name", Message: msg}}}
	}
	t, err := s.Find(ctx, nameOrID)
	if err != nil {
		return t, err
	}
	err = s.store.Update(ctx, func(tx Tx) error {
		if t, err = tx.RenameTerminal(ctx, t.ID, newName); err != nil {
			return err
		}
		return appendTerminalEvent(ctx, tx, EventTerminalRenamed, &t, s.now().UTC())
	})
	return t, err
}

// Revoke stops a terminal's token; the connection, if any, is closed as soon
// as the terminal.revoked event is seen.
func (s *Terminals) Revoke(ctx context.Context, nameOrID string) (Terminal, error) {
	t, err := s.Find(ctx, nameOrID)
	if err != nil {
		return t, err
	}
	now := s.now().UTC()
	err = s.store.Update(ctx, func(tx Tx) error {
		if t, err = tx.RevokeTerminal(ctx, t.ID, now); err != nil {
			return err
		}
		return appendTerminalEvent(ctx, tx, EventTerminalRevoked, &t, now)
	})
	return t, err
}

// Find returns a terminal by ID or name.
func (s *Terminals) Find(ctx context.Context, nameOrID string) (Terminal, error) {
	t, err := s.store.TerminalByID(ctx, nameOrID)
	if errors.Is(err, ErrNotFound) {
		t, err = s.store.TerminalByName(ctx, nameOrID)
	}
	if err != nil {
		return t, fmt.Errorf("terminal %q: %w", nameOrID, err)
	}
	return t, nil
}

// List returns every terminal, revoked ones included.
func (s *Terminals) List(ctx context.Context) ([]Terminal, error) { return s.store.Terminals(ctx) }

// badTries remembers bad pairing codes and tokens per address, in memory:
// a restart forgives, which is fine for a one-minute wait.
type badTries struct {
	mu     sync.Mutex
	byAddr map[string][]time.Time
}

func (b *badTries) recent(addr string, now time.Time) []time.Time {
	var keep []time.Time
	for _, at := range b.byAddr[addr] {
		if now.Sub(at) < BadTriesWindow {
			keep = append(keep, at)
		}
	}
	if keep == nil {
		delete(b.byAddr, addr)
	} else {
		b.byAddr[addr] = keep
	}
	return keep
}

func (b *badTries) blocked(addr string, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.recent(addr, now)) >= BadTriesAllowed
}

func (b *badTries) add(addr string, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.byAddr[addr] = append(b.recent(addr, now), now)
}

// Validate checks what a terminal says of itself.
func (h Hello) Validate() error {
	var fe fieldErrors
	for _, f := range []struct{ name, v string }{{"serial", h.Serial}, {"model", h.Model}, {"app_version", h.AppVersion}} {
		if msg := CheckText(f.v, 0, MaxTerminalField); msg != "" {
			fe.add(f.name, "%s", msg)
		}
	}
	if h.DisplayCols != 0 && (h.DisplayCols < 8 || h.DisplayCols > 80) {
		fe.add("display.cols", "must be between 8 and 80")
	}
	if h.DisplayRows < 0 || h.DisplayRows > 40 {
		fe.add("display.rows", "must be between 1 and 40")
	}
	// Any width is taken (see ReceiptCols): a terminal is not refused
	// for its printer.
	if h.PrinterCols < 0 {
		fe.add("printer.cols", "must be 0 (no printer) or more")
	}
	if len(h.Keys) > 32 {
		fe.add("keys", "at most 32 keys")
	}
	for i, k := range h.Keys {
		if msg := CheckText(k, 1, 16); msg != "" {
			fe.add(fmt.Sprintf("keys[%d]", i), "%s", msg)
		}
	}
	return fe.err()
}
