package tillsim

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

// Load says how to send tickets.
type Load struct {
	Tickets     int     // how many
	Concurrency int     // POSTs in flight at most; 1 when zero
	Rate        float64 // tickets per second started at most; 0 = as fast as answered

	// OnSend, if set, is called just before each POST leaves.
	OnSend func(ref string, at time.Time)
}

// Run sends l.Tickets tickets from gen through c and reports how it went.
// When ctx is done it stops sending and reports what was sent so far.
func (l Load) Run(ctx context.Context, c *Client, gen *Generator) Report {
	conc := max(l.Concurrency, 1)
	jobs := make(chan gateway.TicketInput)
	var (
		mu  sync.Mutex
		rep = Report{ByStatus: map[int]int{}, Problems: map[int]string{}}
		lat Latencies
		end time.Time
	)
	start := time.Now()
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for in := range jobs {
				body, err := json.Marshal(in)
				if err != nil {
					panic(err) // a TicketInput always encodes
				}
				t0 := time.Now()
				if l.OnSend != nil {
					l.OnSend(in.Ref, t0)
				}
				res, err := c.PostTicket(ctx, body)
				done := time.Now()
				if err != nil && ctx.Err() != nil {
					continue // interrupted: neither a success nor a failure
				}
				if res.Status != 0 {
					lat.Add(done.Sub(t0))
				}
				mu.Lock()
				rep.Sent++
				switch {
				case res.Status != 0:
					rep.ByStatus[res.Status]++
					if res.Problem != "" && rep.Problems[res.Status] == "" {
						rep.Problems[res.Status] = res.Problem
					}
				default:
					rep.Errors++
					if rep.FirstErr == nil {
						rep.FirstErr = err
					}
				}
				end = done
				mu.Unlock()
			}
		})
	}

	// Ticket i is due at start + i/rate: an open schedule, so that a slow
	// answer delays the tickets behind it only when every worker is busy.
send:
	for i := range l.Tickets {
		if l.Rate > 0 {
			due := start.Add(time.Duration(float64(i) / l.Rate * float64(time.Second)))
			if d := time.Until(due); d > 0 {
				t := time.NewTimer(d)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
					break send
				}
			}
		}
		select {
		case jobs <- gen.Next():
		case <-ctx.Done():
			break send
		}
	}
	close(jobs)
	wg.Wait()
	if !end.IsZero() {
		rep.Elapsed = end.Sub(start)
	}
	rep.Latency = lat.Summary()
	return rep
}
