package tillsim

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Latencies collects durations from many goroutines.
type Latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

// Add records one duration.
func (l *Latencies) Add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

// Summary returns the count and percentiles of what was recorded.
func (l *Latencies) Summary() LatencySummary {
	l.mu.Lock()
	d := slices.Clone(l.d)
	l.mu.Unlock()
	slices.Sort(d)
	if len(d) == 0 {
		return LatencySummary{}
	}
	return LatencySummary{N: len(d), P50: percentile(d, 0.50), P99: percentile(d, 0.99), Max: d[len(d)-1]}
}

// percentile is the nearest-rank percentile of sorted: the smallest value
// that at least p of the values do not exceed.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// LatencySummary is the shape of a set of latencies.
type LatencySummary struct {
	N             int
	P50, P99, Max time.Duration
}

func (s LatencySummary) String() string {
	if s.N == 0 {
		return "none measured"
	}
	return fmt.Sprintf("p50 %s   p99 %s   max %s", ms(s.P50), ms(s.P99), ms(s.Max))
}

// ms prints a duration in milliseconds, which is what people compare.
func ms(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

// Report is the outcome of a load run.
type Report struct {
	Sent     int            // POSTs that got an answer or failed
	ByStatus map[int]int    // answers by HTTP status
	Problems map[int]string // the first problem detail seen per error status
	Errors   int            // POSTs that got no answer (connection refused, timeout…)
	FirstErr error          // the first of those
	Elapsed  time.Duration  // from the first POST to the last answer
	Latency  LatencySummary // of the POSTs that got an answer

	// Filled by the caller when the event stream was measured.
	Delivery *DeliveryReport
}

// Created is how many tickets the gateway created (201).
func (r Report) Created() int { return r.ByStatus[http.StatusCreated] }

// Failed is how many POSTs did not succeed: no answer, or not a 2xx.
func (r Report) Failed() int {
	n := r.Errors
	for st, c := range r.ByStatus {
		if st < 200 || st > 299 {
			n += c
		}
	}
	return n
}

// Throughput is answered POSTs per second.
func (r Report) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Sent-r.Errors) / r.Elapsed.Seconds()
}

// WriteTo prints the summary for a person; the line prefixes are stable so
// that scripts (bench/till-load.sh) can pick values out.
func (r Report) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "tickets    %d sent, %d created, %d failed, in %.3f s: %.1f tickets/s\n",
		r.Sent, r.Created(), r.Failed(), r.Elapsed.Seconds(), r.Throughput())
	codes := make([]int, 0, len(r.ByStatus))
	for st := range r.ByStatus {
		codes = append(codes, st)
	}
	slices.Sort(codes)
	for _, st := range codes {
		fmt.Fprintf(&b, "status     %d %s: %d", st, http.StatusText(st), r.ByStatus[st])
		if p := r.Problems[st]; p != "" {
			fmt.Fprintf(&b, " (%s)", p)
		}
		b.WriteByte('\n')
	}
	if r.Errors > 0 {
		fmt.Fprintf(&b, "errors     %d without an answer, first: %v\n", r.Errors, r.FirstErr)
	}
	fmt.Fprintf(&b, "latency    %s\n", r.Latency)
	if d := r.Delivery; d != nil {
		fmt.Fprintf(&b, "events     %d of %d delivered, POST→SSE %s\n", d.Latency.N, d.Expected, d.Latency)
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

// DeliveryReport says how quickly created tickets came back on the event
// stream.
type DeliveryReport struct {
	Expected int // tickets created
	Latency  LatencySummary
}

// Delivery matches ticket.created events to the POSTs that caused them, by
// ticket ref, and measures the time in between.
type Delivery struct {
	mu      sync.Mutex
	sent    map[string]time.Time
	lat     Latencies
	seen    int
	changed chan struct{} // closed and replaced at each match
}

// NewDelivery returns an empty tracker.
func NewDelivery() *Delivery {
	return &Delivery{sent: map[string]time.Time{}, changed: make(chan struct{})}
}

// Sent records that the POST of ref left at t. It must be called before the
// POST, or its event could arrive first.
func (d *Delivery) Sent(ref string, t time.Time) {
	d.mu.Lock()
	d.sent[ref] = t
	d.mu.Unlock()
}

// Received records ref's ticket.created event, which arrived at t. Refs that
// were not sent by this run, or already seen, are ignored.
func (d *Delivery) Received(ref string, t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	t0, ok := d.sent[ref]
	if !ok {
		return
	}
	delete(d.sent, ref)
	d.lat.Add(t.Sub(t0))
	d.seen++
	close(d.changed)
	d.changed = make(chan struct{})
}

// Wait returns once n events were matched, or when ctx is done.
func (d *Delivery) Wait(ctx context.Context, n int) error {
	for {
		d.mu.Lock()
		seen, ch := d.seen, d.changed
		d.mu.Unlock()
		if seen >= n {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Report summarises the deliveries, expected being how many tickets were
// created.
func (d *Delivery) Report(expected int) *DeliveryReport {
	return &DeliveryReport{Expected: expected, Latency: d.lat.Summary()}
}
