// Package webhook delivers the event log to the tills that have a callback
// URL: each event POSTed on its own, signed, in order per till, retried with
// backoff until the till answers 2xx. The queue is the event log itself and
// a per-till cursor in the store, so a restart loses nothing; an event may be
// delivered again if the gateway stops between the till's 2xx and the
// cursor's commit, which is why each carries its id (receivers dedupe on it).
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

// Store is what delivery needs from persistence.
type Store interface {
	Tills(ctx context.Context) ([]gateway.Till, error)
	WebhookCursor(ctx context.Context, tillID string) (int64, error)
	// SaveWebhookCursor saves c if url is still the till's and the cursor
	// still at from, else returns gateway.ErrCursorMoved.
	SaveWebhookCursor(ctx context.Context, c gateway.WebhookCursor, from int64, url string) error
}

// Config holds what New needs. Zero durations take the defaults.
type Config struct {
	Store  Store
	Events *gateway.EventLog
	Log    *slog.Logger
	// Client defaults to a 10 s timeout. Its redirects are never followed,
	// its Transport (nil or an *http.Transport) gets a dialer that refuses
	// the addresses CallbackAddrProblem refuses, and no proxy.
	Client     *http.Client
	MinBackoff time.Duration // default 1 s
	MaxBackoff time.Duration // default 5 min
	Rescan     time.Duration // how often the till list is re-read; default 5 s
	// AllowLoopback lets deliveries connect to loopback addresses. Only
	// tests set it, to deliver to an httptest server on 127.0.0.1;
	// link-local and unspecified addresses stay refused.
	AllowLoopback bool
}

// Deliverer runs one delivery loop per till with a callback URL.
type Deliverer struct {
	c Config

	mu     sync.Mutex
	wake   map[string]chan struct{} // by till: closed by Retry to cut a backoff short
	rescan chan struct{}            // Rescan's poke
}

// New returns a Deliverer.
func New(c Config) *Deliverer {
	if c.Client == nil {
		c.Client = &http.Client{Timeout: 10 * time.Second}
	}
	// A redirect is a failed delivery, never followed: a 301/302/303 would
	// turn the POST into a GET without the event, whose 2xx would count as
	// delivered, and a 307/308 would send the signed event wherever
	// Location says. The till fixes its URL; the event waits for it.
	client := *c.Client
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	client.Transport = guarded(client.Transport, c.AllowLoopback)
	c.Client = &client
	if c.MinBackoff == 0 {
		c.MinBackoff = time.Second
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = 5 * time.Minute
	}
	if c.Rescan == 0 {
		c.Rescan = 5 * time.Second
	}
	return &Deliverer{c: c, wake: map[string]chan struct{}{}, rescan: make(chan struct{}, 1)}
}

// Run delivers until ctx is done. A till added, revoked or given another
// callback URL is picked up at the next rescan, or at once after Rescan.
func (d *Deliverer) Run(ctx context.Context) error {
	type loop struct {
		url    string
		cancel context.CancelFunc
		done   chan struct{}
	}
	loops := map[string]loop{}
	var wg sync.WaitGroup
	defer wg.Wait()
	tick := time.NewTicker(d.c.Rescan)
	defer tick.Stop()
	for {
		// A failed read keeps the loops as they are: taken for "no tills",
		// it would cut every delivery under way.
		tills, err := d.c.Store.Tills(ctx)
		if err != nil && ctx.Err() == nil {
			d.c.Log.Error("webhook: list tills", "err", err)
		}
		if err == nil {
			want := map[string]gateway.Till{}
			for _, t := range tills {
				if t.CallbackURL != "" && t.RevokedAt == nil {
					want[t.ID] = t
				}
			}
			for id, l := range loops {
				if t, ok := want[id]; !ok || t.CallbackURL != l.url || ended(l.done) {
					// Its replacement starts once it has stopped: two
					// loops of one till would race for its cursor.
					l.cancel()
					<-l.done
					delete(loops, id)
				}
			}
			for id, t := range want {
				if _, ok := loops[id]; ok {
					continue
				}
				lctx, cancel := context.WithCancel(ctx)
				l := loop{url: t.CallbackURL, cancel: cancel, done: make(chan struct{})}
				loops[id] = l
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer close(l.done)
					d.deliverTill(lctx, t)
				}()
			}
		}
		select {
		case <-ctx.Done():
			for _, l := range loops {
				l.cancel()
			}
			return nil
		case <-tick.C:
		case <-d.rescan:
		}
	}
}

// deliverTill returns when ctx is done, or when the till's cursor moved
// with its callback URL (then Run starts it again, from the new cursor to
// the new URL). A store error (a full disk, a lock held too long) is waited
// out here like a till that does not answer.
func (d *Deliverer) deliverTill(ctx context.Context, till gateway.Till) {
	log := d.c.Log.With("till", till.Name)
	cursor, err := d.readCursor(ctx, till, log)
	if err != nil {
		return
	}
	// saved is the cursor as the store has it, which a failed save leaves
	// behind cursor: the next save is from there.
	saved := cursor
	attempts := 0
	for {
		evs, err := d.c.Events.Wait(ctx, cursor, till.ID, 1)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			log.Error("webhook: read events", "err", err)
			if !sleep(ctx, Backoff(1, d.c.MinBackoff, d.c.MaxBackoff)) {
				return
			}
			continue
		}
		e := evs[0]
		if !gateway.ForTills(e.Type) {
			// The till's own revocation: tills are sent no such event.
			// The cursor is saved with the next delivery.
			cursor = e.Seq
			continue
		}
		// Taken before the attempt: a Retry during it still cuts the
		// backoff that follows.
		retry := d.retried(till.ID)
		err = d.post(ctx, till, e)
		if err != nil && ctx.Err() != nil {
			return // cut short by the stop, not the till's failure
		}
		attempts++
		state := gateway.WebhookCursor{TillID: till.ID, DeliveredSeq: cursor, Attempts: attempts, LastAttempt: time.Now().UTC()}
		if err == nil {
			state.DeliveredSeq, state.Attempts = e.Seq, 0
		} else {
			state.LastError = err.Error()
		}
		// Saved even when ctx has just ended: the till has the event, and a
		// clean stop must not send it again after the restart.
		serr := d.c.Store.SaveWebhookCursor(context.WithoutCancel(ctx), state, saved, till.CallbackURL)
		if serr == nil {
			saved = state.DeliveredSeq
		}
		if errors.Is(serr, gateway.ErrCursorMoved) {
			// The callback URL changed meanwhile: this event is for the
			// new one, from where the change put the cursor.
			log.Info("webhook: the callback URL changed: delivery starts again")
			d.Rescan()
			return
		}
		if serr != nil {
			if ctx.Err() != nil {
				return
			}
			// The till has the event or not whatever the store says; the
			// next save records the cursor. Only a restart before it
			// sends the event again.
			log.Error("webhook: save cursor", "err", serr)
		}
		if err == nil {
			cursor, attempts = e.Seq, 0
			continue
		}
		wait := Backoff(attempts, d.c.MinBackoff, d.c.MaxBackoff)
		log.Warn("webhook delivery failed", "seq", e.Seq, "attempt", attempts, "retry_in", wait, "err", err)
		if !sleepOr(ctx, wait, retry) {
			return
		}
	}
}

// readCursor reads the till's cursor, trying again while the store fails,
// until ctx is done.
func (d *Deliverer) readCursor(ctx context.Context, till gateway.Till, log *slog.Logger) (int64, error) {
	for fails := 1; ; fails++ {
		cursor, err := d.c.Store.WebhookCursor(ctx, till.ID)
		if err == nil || ctx.Err() != nil {
			return cursor, err
		}
		log.Error("webhook: read cursor", "err", err)
		if !sleep(ctx, Backoff(fails, d.c.MinBackoff, d.c.MaxBackoff)) {
			return 0, ctx.Err()
		}
	}
}

// ended reports whether done is closed.
func ended(done <-chan struct{}) bool {
	select {
	case <-done:
		return true
	default:
		return false
	}
}

// Rescan has Run read the tills' callback URLs again now, rather than at
// its next rescan: for a manager who has just changed one.
func (d *Deliverer) Rescan() {
	select {
	case d.rescan <- struct{}{}:
	default:
	}
}

// Retry makes the delivery to a till that is waiting out a backoff try
// again now: for a manager who has just fixed the till's side.
func (d *Deliverer) Retry(tillID string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if ch, ok := d.wake[tillID]; ok {
		close(ch)
		delete(d.wake, tillID)
	}
}

// retried returns a channel that Retry(tillID) closes.
func (d *Deliverer) retried(tillID string) <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	ch, ok := d.wake[tillID]
	if !ok {
		ch = make(chan struct{})
		d.wake[tillID] = ch
	}
	return ch
}

// sleepOr is sleep cut short when wake is closed (a nil wake never is).
func sleepOr(ctx context.Context, d time.Duration, wake <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	case <-wake:
	}
	return true
}

// sleep waits d, or less if ctx is done first; it reports whether ctx is
// still live.
func sleep(ctx context.Context, d time.Duration) bool { return sleepOr(ctx, d, nil) }

func (d *Deliverer) post(ctx context.Context, till gateway.Till, e gateway.Event) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, till.CallbackURL, bytes.NewReader(e.Data))
	if err != nil {
		return fmt.Errorf("request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Passerelle-Event-Id", strconv.FormatInt(e.Seq, 10))
	req.Header.Set("Passerelle-Event-Type", e.Type)
	req.Header.Set("Passerelle-Signature", Sign(till.WebhookSecret, time.Now(), e.Data))
	resp, err := d.c.Client.Do(req)
	var refused *refusedAddrError
	if errors.As(err, &refused) {
		target := req.URL.Hostname() + " resolves to " + refused.ip.String() + ","
		if ip, perr := netip.ParseAddr(req.URL.Hostname()); perr == nil && ip.Unmap().WithZone("") == refused.ip {
			target = refused.ip.String() + " is"
		}
		return fmt.Errorf("callback refused: %s %s: webhooks go to the shop's LAN or beyond, never to this box nor to a link-local address",
			target, refused.why)
	}
	var ne net.Error
	if err != nil && errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil {
		// Said plainly for the manager: a till that works before it
		// answers never gets past a slow event.
		return fmt.Errorf("callback did not answer within %s (a till answers 2xx at once, then handles the event): %w",
			d.c.Client.Timeout, err)
	}
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode >= 300 && resp.StatusCode <= 399 {
		return fmt.Errorf("callback answered %s (redirect to %q not followed: the till's callback URL needs fixing)",
			resp.Status, redacted(resp.Header.Get("Location")))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("callback answered %s", resp.Status)
	}
	return nil
}

// guarded returns a copy of rt (nil is http.DefaultTransport) whose dialer
// checks every address it is about to connect to, after DNS resolution:
// the URL was checked when it was set, but its name may resolve to the box
// (or be made to, by DNS rebinding). No proxy: it would connect on the
// gateway's behalf, past the check.
func guarded(rt http.RoundTripper, allowLoopback bool) http.RoundTripper {
	if rt == nil {
		rt = http.DefaultTransport
	}
	base, ok := rt.(*http.Transport)
	if !ok {
		panic(fmt.Sprintf("webhook: Config.Client.Transport is a %T: it must be an *http.Transport, whose dialer is guarded", rt))
	}
	t := base.Clone()
	t.Proxy = nil
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("webhook: dial %q: %w", address, err)
			}
			if why := gateway.CallbackAddrProblem(ap.Addr(), allowLoopback); why != "" {
				return &refusedAddrError{ip: ap.Addr().Unmap().WithZone(""), why: why}
			}
			return nil
		}}
	t.DialContext = dialer.DialContext
	return t
}

// refusedAddrError is a connection the guarded dialer did not make.
type refusedAddrError struct {
	ip  netip.Addr
	why string
}

func (e *refusedAddrError) Error() string {
	return fmt.Sprintf("webhook: %s refused: %s", e.ip, e.why)
}

// redacted is a redirect's Location without what may hold a secret (user
// info, query, fragment): enough for the manager to fix the URL.
func redacted(location string) string {
	u, err := url.Parse(location)
	if err != nil {
		return "(unreadable)"
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	return u.String()
}

// Sign returns the Passerelle-Signature header value for body:
// t=<unix>,v1=<hex hmac-sha256(secret, t + "." + body)>.
func Sign(secret string, at time.Time, body []byte) string {
	t := strconv.FormatInt(at.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(t + "."))
	mac.Write(body)
	return "t=" + t + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// Backoff is the wait before attempt n+1: min doubling to max, with up to
// 20 % jitter so that tills coming back together are not hit together.
func Backoff(attempts int, min, max time.Duration) time.Duration {
	d := min
	for i := 1; i < attempts && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	return d - time.Duration(rand.Int64N(int64(d)/5+1))
}
