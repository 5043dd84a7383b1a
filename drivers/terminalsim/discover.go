package terminalsim

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/passerelle/passerelle/drivers/mdns"
)

// Timings of finding the gateway.
const (
	// DefaultFindTimeout is how long a terminal whose addresses fail looks
	// for its gateway on the LAN.
	DefaultFindTimeout = 5 * time.Second
	// attemptTimeout bounds one address's try: on a LAN a gateway that
	// does not answer within it is not there.
	attemptTimeout = 5 * time.Second
	// connectTimeout bounds the TCP connection of a terminal that can
	// look for its gateway elsewhere.
	connectTimeout = 1500 * time.Millisecond
	// retryMax is the longest a following terminal waits between two
	// attempts to connect again.
	retryMax = 10 * time.Second
)

// GatewaySource is what a terminal hears of the gateways on the LAN;
// *mdns.GatewayList is one.
type GatewaySource interface {
	List() []mdns.Gateway // the most recently heard first
	Changed() <-chan struct{}
}

// connect connects to the gateway: the given URLs first, then the state
// file's last one, then where Gateways says the gateway is.
func (t *Terminal) connect(ctx context.Context) error {
	t.dialMu.Lock()
	defer t.dialMu.Unlock()
	return t.connectLocked(ctx)
}

func (t *Terminal) connectLocked(ctx context.Context) error {
	var candidates []string
	if t.opts.URL != "" {
		candidates = append(candidates, t.opts.URL)
	}
	candidates = append(candidates, t.opts.URLs...)
	if t.opts.URL == "" {
		candidates = append(candidates, t.State().GatewayURL)
	}
	var lastErr, impostor error
	tried := map[string]bool{"": true}
	for _, u := range candidates {
		if tried[u] {
			continue
		}
		tried[u] = true
		err := t.attempt(ctx, u)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, ErrImpostor):
			impostor = err // maybe another box took the gateway's old address
		case final(err):
			return err
		default:
			lastErr = err
		}
	}
	if t.opts.Gateways != nil && t.recognisable() {
		return t.find(ctx, lastErr, impostor)
	}
	switch {
	case impostor != nil:
		return impostor
	case lastErr != nil:
		return lastErr
	}
	return errors.New("terminalsim: no address of the gateway: give its URL, or a pairing link, or let the terminal find it by mDNS")
}

// final errors come from a gateway that answered: trying elsewhere would
// not help.
func final(err error) bool {
	return errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrNotPaired)
}

// attempt tries one URL, for at most attemptTimeout.
func (t *Terminal) attempt(ctx context.Context, u string) error {
	actx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	err := t.connectURL(actx, u)
	if err != nil {
		t.log.Info("gateway not reached", "url", u, "err", err)
	}
	return err
}

// find waits for the gateway to be announced on the LAN, for at most
// FindTimeout, and connects to it.
func (t *Terminal) find(ctx context.Context, lastErr, impostor error) error {
	wait := t.opts.FindTimeout
	if wait <= 0 {
		wait = DefaultFindTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	t.log.Info("looking for the gateway on the LAN (mDNS)")
	for {
		changed := t.opts.Gateways.Changed()
		good, bad := t.match(t.opts.Gateways.List())
		for _, g := range good {
			for _, u := range g.URLs() {
				err := t.attempt(ctx, u)
				switch {
				case err == nil:
					t.learn(g)
					return nil
				case errors.Is(err, ErrImpostor):
					impostor = err // it announced the right certificate, and showed another
				case final(err):
					return err
				default:
					lastErr = err
				}
			}
		}
		if len(bad) > 0 && impostor == nil {
			impostor = t.impostorError(bad[0])
		}
		select {
		case <-changed:
		case <-ctx.Done():
			switch {
			case impostor != nil:
				return impostor
			case lastErr != nil:
				return fmt.Errorf("terminalsim: the gateway was not reached at its addresses nor found on the LAN within %s: %w", wait, lastErr)
			}
			return fmt.Errorf("terminalsim: the gateway was not found on the LAN (mDNS) within %s", wait)
		}
	}
}

func (t *Terminal) impostorError(g mdns.Gateway) error {
	pin := t.pin()
	got := "no certificate (tls=0)"
	if g.TXT.TLS {
		got = "certificate " + fingerprintShort(g.TXT.Fingerprint)
	}
	return fmt.Errorf("%w: %q at %s announces %s, not the pinned %s; refused. If the manager replaced the gateway's certificate, pair the terminal again",
		ErrImpostor, g.Name, g.From, got, fingerprintShort(pin))
}

// pin is the fingerprint the terminal checks gateways against: the one
// it pinned when pairing, else a whole one it was given.
func (t *Terminal) pin() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.st.Fingerprint != "" {
		return t.st.Fingerprint
	}
	if p, err := parseFingerprint(t.opts.Fingerprint); err == nil && len(p) == 64 {
		return p
	}
	return ""
}

// recognisable reports whether the terminal knows anything to recognise
// its gateway by among those announced.
func (t *Terminal) recognisable() bool {
	st := t.State()
	return t.pin() != "" || st.GatewayID != "" || st.GatewayURL != ""
}

// match sorts the gateways heard into the terminal's own (by its pinned
// certificate, else its id, else the address it knew) and impostors: the
// same name or id with another certificate, or none.
func (t *Terminal) match(gws []mdns.Gateway) (good, impostors []mdns.Gateway) {
	pin := t.pin()
	st := t.State()
	for _, g := range gws {
		same := (st.GatewayID != "" && g.TXT.ID == st.GatewayID) ||
			(st.GatewayName != "" && strings.EqualFold(g.Name, st.GatewayName))
		switch {
		case pin != "":
			if g.TXT.TLS && g.TXT.Fingerprint == pin {
				good = append(good, g)
			} else if same {
				impostors = append(impostors, g)
			}
		case st.GatewayID != "":
			if g.TXT.ID == st.GatewayID {
				good = append(good, g)
			}
		case st.GatewayURL != "":
			if g.Has(st.GatewayURL) {
				good = append(good, g)
			}
		}
	}
	return good, impostors
}

// learn keeps the id and name of the gateway reached through mDNS: a
// terminal paired by address recognises it by them from then on.
func (t *Terminal) learn(g mdns.Gateway) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.st.GatewayID == g.TXT.ID && t.st.GatewayName == g.Name {
		return
	}
	t.st.GatewayID, t.st.GatewayName = g.TXT.ID, g.Name
	if err := t.saveLocked(); err != nil {
		t.log.Warn("gateway's id not kept", "err", err)
	}
}

// follow keeps a terminal with its gateway: it moves to the addresses the
// gateway announces when the connection's is not among them any more, and
// connects again after a lost connection.
func (t *Terminal) follow(ctx context.Context) {
	defer close(t.followDone)
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	backoff := time.Second
	for {
		changed := t.opts.Gateways.Changed()
		if ok := t.checkGateway(ctx); ok {
			backoff = time.Second
		} else {
			retry.Reset(backoff)
			backoff = min(2*backoff, retryMax)
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-retry.C:
		case <-t.lostSignal():
		}
	}
}

// lostSignal is closed once the connection is lost.
func (t *Terminal) lostSignal() <-chan struct{} {
	t.mu.Lock()
	c := t.conn
	t.mu.Unlock()
	if c == nil {
		return nil // already lost: the retry timer runs
	}
	return c.done
}

// checkGateway moves the terminal where its gateway is, if it is not
// there; it reports whether the terminal is connected.
func (t *Terminal) checkGateway(ctx context.Context) bool {
	t.dialMu.Lock()
	defer t.dialMu.Unlock()
	t.mu.Lock()
	c, cur, closed := t.conn, t.url, t.closed
	t.mu.Unlock()
	if closed || ctx.Err() != nil {
		return true
	}
	good, _ := t.match(t.opts.Gateways.List())
	if c != nil && (len(good) == 0 || good[0].Has(cur)) {
		return true // where the gateway says it is, or it says nothing
	}
	if c != nil {
		t.log.Info("the gateway announces other addresses: moving there", "from", cur, "to", strings.Join(good[0].URLs(), ","))
		// The gateway closes the old connection when the new one says
		// hello, maybe before the terminal has the new one.
		t.mu.Lock()
		t.moving = c
		t.mu.Unlock()
		defer func() {
			t.mu.Lock()
			t.moving = nil
			t.mu.Unlock()
		}()
	}
	for _, g := range good {
		for _, u := range g.URLs() {
			if u == cur && c != nil {
				continue
			}
			if err := t.attempt(ctx, u); err != nil {
				continue
			}
			t.learn(g)
			if c != nil {
				c.ws.NetConn().Close() // replaced: its reader ends without a word
			}
			t.q.push(Message{Type: TypeReconnected, Text: u})
			return true
		}
	}
	if c != nil {
		select {
		case <-c.done: // lost meanwhile, quietly: say it now
			t.q.push(Message{Type: TypeDisconnected, Text: "the gateway moved and was not reached at its new addresses"})
			return false
		default:
			return true // still connected where it was
		}
	}
	// Lost, and not announced elsewhere: the known addresses, then mDNS.
	if err := t.connectLocked(ctx); err != nil {
		t.log.Info("gateway not reached; trying again", "err", err)
		return false
	}
	t.q.push(Message{Type: TypeReconnected, Text: t.URL()})
	return true
}

// Following reports whether the terminal keeps itself connected to its
// gateway (Options.Follow).
func (t *Terminal) Following() bool { return t.stopFollow != nil }
