package tillsim

import (
	"context"
	"encoding/json"
	"sync"
	"time"
)

// Load says how to send tickets.
type Load struct {
	Tickets     int     // how many
	Concurrency int     // POSTs in flight at most; 1 when zero
	Rate        float64 // tickets per second started at most; 0 = as fast as answered

	// OnSend, if set, is called just before each POST leaves.
	OnSend func(ref string, at time.Time)
}

// maxAhead bounds the tickets encoded before a run starts: about 40 MiB.
const maxAhead = 1 << 16

type job struct {
	ref  string
	body []byte
}

// Run sends l.Tickets tickets from gen through c and reports how it went.
// When ctx is done it stops sending and reports what was sent so far.
func (l Load) Run(ctx context.Context, c *Client, gen *Generator) Report {
	conc := max(l.Concurrency, 1)
	// Tickets are generated and encoded ahead, so that no worker waits for
	// the next. As fast as answered, up to maxAhead of them are made before
	// the clock starts: generating and encoding is a quarter of the tool's
	// CPU, taken from the gateway on a shared box. At a rate, a few per
	// worker, each put in the queue when it is due.
	ahead := 4 * conc
	if l.Rate == 0 {
		ahead = max(ahead, min(l.Tickets, maxAhead))
	}
	jobs := make(chan job, ahead)
	next := func() job {
		in := gen.Next()
		body, err := json.Marshal(in)
		if err != nil {
			panic(err) // a TicketInput always encodes
		}
		return job{ref: in.Ref, body: body}
	}
	first := 0
	if l.Rate == 0 {
		for ; first < ahead && first < l.Tickets && ctx.Err() == nil; first++ {
			jobs <- next()
		}
	}
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
			pc, dialErr := c.PostConn()
			if pc != nil {
				defer pc.Close()
			}
			for j := range jobs {
				t0 := time.Now()
				if l.OnSend != nil {
					l.OnSend(j.ref, t0)
				}
				res, err := PostResult{}, dialErr
				if pc != nil {
					res, err = pc.Post(ctx, j.body)
				}
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
	for i := first; i < l.Tickets; i++ {
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
		case jobs <- next():
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
