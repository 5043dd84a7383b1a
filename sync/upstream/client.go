// Package upstream is the gateway's side of upstream sync (spec/sync.md):
// it pushes the event log to the hub in seq order, from the position the
// hub last acknowledged, which it keeps in the gateway's store. It never
// blocks the shop: it reads the log, and writes only its cursor.
package upstream

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/sync/wire"
)

// Store is what sync needs from the gateway's store.
type Store interface {
	EventsAfter(ctx context.Context, q gateway.EventQuery) ([]gateway.Event, error)
	LastSeq(ctx context.Context) (int64, error)
	UpstreamCursor(ctx context.Context) (gateway.UpstreamCursor, error)
	SaveUpstreamCursor(ctx context.Context, c gateway.UpstreamCursor) error
}

// Defaults of the timings (Config's zero values).
const (
	DefaultMinBackoff   = time.Second
	DefaultMaxBackoff   = 5 * time.Minute
	DefaultRefusedRetry = time.Minute // a refused key: at most once a minute
	DefaultSettingsPoll = time.Second // the spec asks for 5 s at most
	DefaultTimeout      = 30 * time.Second
	// MaxRetryAfter bounds how long a hub's Retry-After may hold sync.
	MaxRetryAfter = time.Hour
	// maxAnswer bounds what is read of the hub's answer.
	maxAnswer = 64 << 10
)

// Config holds what New needs.
type Config struct {
	Store  Store
	Events *gateway.EventLog
	// Settings returns the upstream settings in force: called at every
	// step, so that a change (passerelle upstream set) is picked up
	// within SettingsPoll.
	Settings func() (gateway.Upstream, error)
	DataDir  string                // key_file and ca_file are relative to it
	Location func() *time.Location // the shop's time zone, for each event's day
	Log      *slog.Logger
	Now      func() time.Time

	// Orders and OrderCursor turn on the pull of web orders (nil: off).
	Orders      Orders
	OrderCursor func(ctx context.Context) (string, error)

	MinBackoff, MaxBackoff, RefusedRetry, SettingsPoll, Timeout time.Duration
	PollWait                                                    time.Duration // the long poll's wait, PollWait when zero
	// Jitter returns a random duration in [0, d); rand.N by default.
	Jitter func(d time.Duration) time.Duration
}

// Client pushes the event log upstream.
type Client struct {
	c       Config
	http    *http.Client
	target  Target
	attempt int // failures in a row, for the backoff
}

// New returns the client; Run starts it.
func New(c Config) *Client {
	if c.MinBackoff == 0 {
		c.MinBackoff = DefaultMinBackoff
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.RefusedRetry == 0 {
		c.RefusedRetry = DefaultRefusedRetry
	}
	if c.SettingsPoll == 0 {
		c.SettingsPoll = DefaultSettingsPoll
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Jitter == nil {
		c.Jitter = func(d time.Duration) time.Duration {
			if d <= 0 {
				return 0
			}
			return rand.N(d)
		}
	}
	if c.Location == nil {
		c.Location = func() *time.Location { return time.UTC }
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return &Client{c: c}
}

// outcome is what one step asks the loop to do next.
type outcome struct {
	wait time.Duration // before the next step; 0: at once
	// untilChange: wait until the settings change (or wait passes, if
	// set), for a hub that refused what a retry would not change.
	untilChange bool
}

// Run pushes until ctx is done. Errors are the hub's or the network's:
// they are recorded and shown, and never stop the gateway.
func (c *Client) Run(ctx context.Context) error {
	if c.c.Orders != nil && c.c.OrderCursor != nil {
		done := make(chan struct{})
		defer func() { <-done }()
		go func() {
			defer close(done)
			c.pullLoop(ctx)
		}()
	}
	for ctx.Err() == nil {
		out := c.step(ctx)
		c.pause(ctx, out)
	}
	return nil
}

// pause waits as out says, waking every SettingsPoll to see whether the
// settings changed: new settings are tried at once.
func (c *Client) pause(ctx context.Context, out outcome) {
	if out.wait <= 0 && !out.untilChange {
		return
	}
	deadline := c.c.Now().Add(out.wait)
	before := c.target
	for {
		d := c.c.SettingsPoll
		if out.wait > 0 {
			d = min(d, time.Until(deadline))
		}
		if d <= 0 {
			return
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if t, on, err := c.resolve(); err == nil && (!on || !t.Equal(before)) {
			return
		}
		if out.wait > 0 && !c.c.Now().Before(deadline) {
			return
		}
	}
}

// resolve reads the settings and reports whether sync is on.
func (c *Client) resolve() (Target, bool, error) {
	u, err := c.c.Settings()
	if err != nil {
		return Target{}, true, err
	}
	if !u.On() {
		return Target{}, false, nil
	}
	t, err := Resolve(u, c.c.DataDir)
	return t, true, err
}

// step does one thing: waits for events to push, or pushes one batch.
func (c *Client) step(ctx context.Context) outcome {
	t, on, err := c.resolve()
	if !on {
		c.target = Target{}
		return outcome{wait: c.c.SettingsPoll}
	}
	if err != nil {
		c.fail(ctx, err, true)
		return outcome{untilChange: true}
	}
	if !t.Equal(c.target) {
		c.use(t)
	}
	cur, err := c.c.Store.UpstreamCursor(ctx)
	if err != nil {
		c.c.Log.Error("upstream: read the cursor", "err", err)
		return outcome{wait: c.c.SettingsPoll}
	}
	wctx, cancel := context.WithTimeout(ctx, c.c.SettingsPoll)
	evs, err := c.c.Events.Wait(wctx, cur.AckedThrough, "", wire.MaxEvents)
	cancel()
	if err != nil {
		if ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) {
			c.c.Log.Error("upstream: read the event log", "err", err)
			return outcome{wait: c.c.SettingsPoll}
		}
		return outcome{} // nothing new: look at the settings again
	}
	return c.push(ctx, cur, evs)
}

// use builds the HTTP client for a new target.
func (c *Client) use(t Target) {
	if c.http != nil {
		c.http.CloseIdleConnections()
	}
	c.http = NewHTTPClient(t, c.c.Timeout)
	c.target = t
	c.attempt = 0
}

// push sends one batch from the events after the cursor.
func (c *Client) push(ctx context.Context, cur gateway.UpstreamCursor, evs []gateway.Event) outcome {
	var b wire.Builder
	loc := c.c.Location()
	for _, e := range evs {
		err := b.Add(wire.Event{Seq: e.Seq, Type: e.Type, At: e.At.UTC(), Day: e.At.In(loc).Format(time.DateOnly), Data: e.Data})
		if errors.Is(err, wire.ErrFull) {
			break
		}
		if err != nil {
			c.fail(ctx, err, true)
			return outcome{untilChange: true}
		}
	}
	status, ack, retryAfter, err := c.post(ctx, b.Bytes())
	if err != nil {
		if ctx.Err() != nil {
			return outcome{}
		}
		refused := errors.Is(err, ErrPin)
		c.fail(ctx, err, refused)
		if refused {
			return outcome{wait: c.c.RefusedRetry}
		}
		return outcome{wait: c.backoff(0)}
	}
	switch {
	case status == http.StatusOK:
		return c.acked(ctx, cur, ack, b.Last())
	case status == http.StatusConflict:
		return c.gap(ctx, cur, ack)
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		c.fail(ctx, fmt.Errorf("upstream: the hub refused the store key (%d): check store_id and key", status), true)
		return outcome{wait: c.c.RefusedRetry}
	case status == http.StatusTooManyRequests || status >= 500:
		c.fail(ctx, fmt.Errorf("upstream: the hub answered %d", status), false)
		return outcome{wait: c.backoff(retryAfter)}
	default:
		c.fail(ctx, fmt.Errorf("upstream: the hub refused the batch from %d (%d)", cur.AckedThrough+1, status), true)
		return outcome{untilChange: true}
	}
}

// acked moves the cursor after a 200.
func (c *Client) acked(ctx context.Context, cur gateway.UpstreamCursor, ack wire.Ack, sent int64) outcome {
	last, err := c.c.Store.LastSeq(ctx)
	if err != nil {
		return outcome{wait: c.c.SettingsPoll}
	}
	if ack.AckedThrough > last {
		c.fail(ctx, fmt.Errorf("upstream: the hub has events up to %d but this gateway's log ends at %d: was the database restored from a backup? (see docs/sync.md)", ack.AckedThrough, last), true)
		return outcome{wait: c.c.RefusedRetry}
	}
	if ack.AckedThrough < sent {
		// A 200 acknowledges what was sent; less is a broken hub.
		c.fail(ctx, fmt.Errorf("upstream: the hub acknowledged %d of a batch up to %d", ack.AckedThrough, sent), false)
		return outcome{wait: c.backoff(0)}
	}
	c.attempt = 0
	next := gateway.UpstreamCursor{AckedThrough: ack.AckedThrough, LastSuccess: c.c.Now()}
	if err := c.c.Store.SaveUpstreamCursor(ctx, next); err != nil {
		c.c.Log.Error("upstream: save the cursor", "err", err)
		return outcome{wait: c.c.SettingsPoll}
	}
	if cur.LastError != "" {
		c.c.Log.Info("upstream: the hub acknowledges again", "acked_through", ack.AckedThrough)
	}
	return outcome{}
}

// gap follows a 409: the hub says where it stands, and the next batch
// starts right after.
func (c *Client) gap(ctx context.Context, cur gateway.UpstreamCursor, ack wire.Ack) outcome {
	last, err := c.c.Store.LastSeq(ctx)
	if err != nil {
		return outcome{wait: c.c.SettingsPoll}
	}
	if ack.AckedThrough > last || ack.AckedThrough < 0 {
		c.fail(ctx, fmt.Errorf("upstream: the hub has events up to %d but this gateway's log ends at %d: was the database restored from a backup? (see docs/sync.md)", ack.AckedThrough, last), true)
		return outcome{wait: c.c.RefusedRetry}
	}
	if ack.AckedThrough == cur.AckedThrough {
		c.fail(ctx, fmt.Errorf("upstream: the hub answered 409 at %d, where the batch starts", ack.AckedThrough), false)
		return outcome{wait: c.backoff(0)}
	}
	c.c.Log.Info("upstream: the hub stands elsewhere; resending from there", "was", cur.AckedThrough, "hub", ack.AckedThrough)
	cur.AckedThrough = ack.AckedThrough
	if err := c.c.Store.SaveUpstreamCursor(ctx, cur); err != nil {
		c.c.Log.Error("upstream: save the cursor", "err", err)
		return outcome{wait: c.c.SettingsPoll}
	}
	return outcome{}
}

// backoff is the next wait after a failure: the hub's Retry-After if it
// gave one, else full jitter, a random time up to MinBackoff doubled at
// each failure in a row, at most MaxBackoff.
func (c *Client) backoff(retryAfter time.Duration) time.Duration {
	c.attempt++
	if retryAfter > 0 {
		return min(retryAfter, MaxRetryAfter)
	}
	ceiling := c.c.MaxBackoff
	if c.attempt < 30 {
		ceiling = min(c.c.MinBackoff<<(c.attempt-1), c.c.MaxBackoff)
	}
	return c.c.Jitter(ceiling)
}

// fail records an error for the admin page, /healthz and upstream status.
// The cursor stays where it is.
func (c *Client) fail(ctx context.Context, err error, needsAction bool) {
	cur, rerr := c.c.Store.UpstreamCursor(ctx)
	if rerr != nil {
		c.c.Log.Error("upstream: read the cursor", "err", rerr)
		return
	}
	msg := err.Error()
	if len(msg) > gateway.MaxUpstreamError {
		msg = msg[:gateway.MaxUpstreamError]
	}
	if cur.LastError != msg || cur.NeedsAction != needsAction {
		c.c.Log.Warn("upstream: sync failed", "err", msg, "acked_through", cur.AckedThrough, "needs_action", needsAction)
	}
	cur.LastError, cur.LastErrorAt, cur.NeedsAction = msg, c.c.Now(), needsAction
	if serr := c.c.Store.SaveUpstreamCursor(ctx, cur); serr != nil && ctx.Err() == nil {
		c.c.Log.Error("upstream: save the cursor", "err", serr)
	}
}

// post sends a batch and reads the answer: its status, the acked_through
// of a 200 or 409, and a Retry-After.
func (c *Client) post(ctx context.Context, body []byte) (int, wire.Ack, time.Duration, error) {
	return Post(ctx, c.http, c.target, body)
}

// Post sends one batch to the target (also the connection test of
// `passerelle upstream set`, with an empty batch).
func Post(ctx context.Context, hc *http.Client, t Target, body []byte) (int, wire.Ack, time.Duration, error) {
	var ack wire.Ack
	u := t.URL + "/api/v1/stores/" + pathEscape(t.StoreID) + "/events"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return 0, ack, 0, fmt.Errorf("upstream: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+t.Key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		var verr *tls.CertificateVerificationError
		if errors.Is(err, ErrPin) || errors.As(err, &verr) {
			return 0, ack, 0, fmt.Errorf("%w: %w", ErrPin, err)
		}
		return 0, ack, 0, fmt.Errorf("upstream: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return 0, ack, 0, fmt.Errorf("upstream: read the hub's answer: %w", err)
	}
	if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusConflict {
		if err := json.Unmarshal(raw, &ack); err != nil {
			return 0, ack, 0, fmt.Errorf("upstream: the hub's answer (%d) is not an acknowledgement: %w", resp.StatusCode, err)
		}
	}
	return resp.StatusCode, ack, retryAfter(resp.Header.Get("Retry-After"), time.Now()), nil
}

// NewHTTPClient returns an HTTP client for t.
func NewHTTPClient(t Target, timeout time.Duration) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = t.TLSConfig()
	tr.Proxy = nil // a shop's box talks to its hub directly
	return &http.Client{Transport: tr, Timeout: timeout}
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(min(s, int(MaxRetryAfter/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}
