package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

// Long polling of the web orders.
const (
	// PollWait is the wait the gateway asks of the hub: idle, it makes
	// one request per PollWait.
	PollWait = 25 * time.Second
	// maxOrdersAnswer bounds a pull's answer: 100 orders of at most
	// 256 KiB of ticket each.
	maxOrdersAnswer = 100*256<<10 + 64<<10
)

// Orders is where pulled web orders go: the gateway's tickets.
type Orders interface {
	ApplyWebOrders(ctx context.Context, orders []gateway.WebOrder, cursor string, log *slog.Logger) ([]gateway.WebOrderResult, error)
}

// pulledOrder is an order as the hub sends it down.
type pulledOrder struct {
	gateway.TicketInput
	Status  string `json:"status"`
	Version int64  `json:"version"`
	Source  string `json:"source"`
}

type pullAnswer struct {
	Orders []pulledOrder `json:"orders"`
	Cursor string        `json:"cursor"`
}

// pullLoop pulls web orders until ctx is done.
func (c *Client) pullLoop(ctx context.Context) {
	var hc *http.Client
	var target Target
	attempt := 0
	for ctx.Err() == nil {
		t, on, err := c.resolve()
		if !on || err != nil {
			sleepCtx(ctx, c.c.SettingsPoll)
			continue
		}
		if hc == nil || !t.Equal(target) {
			hc, target, attempt = NewHTTPClient(t, PollWait+c.c.Timeout), t, 0
		}
		wait, err := c.pullOnce(ctx, hc, t)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			attempt++
			c.c.Log.Warn("upstream: pull web orders", "err", err)
			if wait == 0 {
				ceiling := c.c.MaxBackoff
				if attempt < 30 {
					ceiling = min(c.c.MinBackoff<<(attempt-1), c.c.MaxBackoff)
				}
				wait = c.c.Jitter(ceiling)
			}
			sleepCtx(ctx, wait)
			continue
		}
		attempt = 0
	}
}

// pullOnce asks for the orders after the cursor and applies them; it
// returns how long to wait before the next try if the hub said so.
func (c *Client) pullOnce(ctx context.Context, hc *http.Client, t Target) (time.Duration, error) {
	cursor, err := c.c.OrderCursor(ctx)
	if err != nil {
		return 0, err
	}
	u := t.URL + "/api/v1/stores/" + url.PathEscape(t.StoreID) + "/orders?wait=" + fmt.Sprint(int(c.pollWait()/time.Second)) +
		"&after=" + url.QueryEscape(cursor)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, fmt.Errorf("upstream: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+t.Key)
	resp, err := hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("upstream: %w", err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return c.c.RefusedRetry, fmt.Errorf("upstream: the hub refused the store key (%d)", resp.StatusCode)
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return retryAfter(resp.Header.Get("Retry-After"), time.Now()), fmt.Errorf("upstream: the hub answered %d", resp.StatusCode)
	case resp.StatusCode != http.StatusOK:
		return c.c.RefusedRetry, fmt.Errorf("upstream: the hub answered %d to the pull", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxOrdersAnswer+1))
	if err != nil {
		return 0, fmt.Errorf("upstream: read the orders: %w", err)
	}
	if len(body) > maxOrdersAnswer {
		return c.c.RefusedRetry, errors.New("upstream: the hub's orders are larger than a pull may be")
	}
	var a pullAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return c.c.RefusedRetry, fmt.Errorf("upstream: the hub's orders: %w", err)
	}
	if len(a.Orders) == 0 {
		return 0, nil
	}
	orders := make([]gateway.WebOrder, len(a.Orders))
	for i, o := range a.Orders {
		orders[i] = gateway.WebOrder{Input: o.TicketInput, Cancelled: o.Status == "cancelled"}
	}
	res, err := c.c.Orders.ApplyWebOrders(ctx, orders, a.Cursor, c.c.Log)
	if err != nil {
		return 0, err
	}
	c.c.Log.Info("upstream: web orders applied", "orders", len(res), "cursor", a.Cursor)
	return 0, nil
}

// pollWait is the long poll's wait: whole seconds, at least one, so that
// an idle gateway never loops on the hub.
func (c *Client) pollWait() time.Duration {
	if c.c.PollWait <= 0 {
		return PollWait
	}
	return max(c.c.PollWait.Truncate(time.Second), time.Second)
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
