package tillsim

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestLatencySummary(t *testing.T) {
	tests := []struct {
		name          string
		in            []int // milliseconds, in any order
		p50, p99, max int
	}{
		{"one", []int{5}, 5, 5, 5},
		{"two", []int{9, 1}, 1, 9, 9},
		{"ten", []int{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, 5, 10, 10},
		{"hundred", seq(100), 50, 99, 100},
		{"thousand", seq(1000), 500, 990, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l Latencies
			for _, v := range tt.in {
				l.Add(time.Duration(v) * time.Millisecond)
			}
			s := l.Summary()
			got := []time.Duration{s.P50, s.P99, s.Max}
			want := []time.Duration{time.Duration(tt.p50) * time.Millisecond, time.Duration(tt.p99) * time.Millisecond, time.Duration(tt.max) * time.Millisecond}
			if s.N != len(tt.in) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
				t.Errorf("got N=%d p50/p99/max %v, want N=%d %v", s.N, got, len(tt.in), want)
			}
		})
	}
	if s := new(Latencies).Summary(); s.N != 0 || s.String() != "none measured" {
		t.Errorf("empty: %+v %q", s, s)
	}
}

// seq is 1..n shuffled a little, so that sorting matters.
func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = n - i
	}
	return out
}

func TestReportSummary(t *testing.T) {
	r := Report{
		Sent:     12,
		ByStatus: map[int]int{201: 9, 422: 1, 200: 1},
		Problems: map[int]string{422: "Invalid ticket: lines[0].qty"},
		Errors:   1,
		FirstErr: errors.New("connection refused"),
		Elapsed:  2 * time.Second,
		Latency:  LatencySummary{N: 11, P50: 1500 * time.Microsecond, P99: 9 * time.Millisecond, Max: 12 * time.Millisecond},
		Delivery: &DeliveryReport{Expected: 9, Latency: LatencySummary{N: 8, P50: time.Millisecond, P99: 2 * time.Millisecond, Max: 3 * time.Millisecond}},
	}
	if r.Created() != 9 || r.Failed() != 2 || math.Abs(r.Throughput()-5.5) > 1e-9 {
		t.Errorf("created %d failed %d throughput %v, want 9 2 5.5", r.Created(), r.Failed(), r.Throughput())
	}
	var b strings.Builder
	r.WriteTo(&b)
	for _, want := range []string{
		"tickets    12 sent, 9 created, 2 failed, in 2.000 s: 5.5 tickets/s\n",
		"status     200 OK: 1\nstatus     201 Created: 9\nstatus     422 Unprocessable Entity: 1 (Invalid ticket: lines[0].qty)\n",
		"errors     1 without an answer, first: connection refused\n",
		"latency    p50 1.50 ms   p99 9.00 ms   max 12.00 ms\n",
		"events     8 of 9 delivered, POST→SSE p50 1.00 ms   p99 2.00 ms   max 3.00 ms\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, b.String())
		}
	}
}

func TestDelivery(t *testing.T) {
	d := NewDelivery()
	t0 := time.Unix(1000, 0)
	d.Sent("A", t0)
	d.Sent("B", t0)
	d.Received("X", t0.Add(time.Second))        // not ours
	d.Received("A", t0.Add(3*time.Millisecond)) // matched
	d.Received("A", t0.Add(time.Second))        // seen already
	d.Received("B", t0.Add(5*time.Millisecond)) // matched
	// Both are in: Wait must not block.
	if err := d.Wait(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	r := d.Report(3)
	if r.Expected != 3 || r.Latency.N != 2 || r.Latency.P50 != 3*time.Millisecond || r.Latency.Max != 5*time.Millisecond {
		t.Errorf("report %+v", r)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	d.Sent("C", t0)
	go func() { done <- d.Wait(ctx, 3) }()
	d.Received("C", t0.Add(time.Millisecond))
	if err := <-done; err != nil {
		t.Errorf("Wait for the third: %v", err)
	}
	cancel()
	if err := d.Wait(ctx, 4); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait for one too many: %v, want context.Canceled", err)
	}
}

func TestMoney(t *testing.T) {
	tests := []struct {
		cents    int64
		currency string
		want     string
	}{
		{5350, "EUR", "53,50 €"},
		{5, "", "0,05 €"},
		{0, "EUR", "0,00 €"},
		{-500, "EUR", "-5,00 €"},
		{125350, "EUR", "1 253,50 €"},
		{100000000, "EUR", "1 000 000,00 €"},
		{1999, "CHF", "19,99 CHF"},
		{math.MinInt64, "EUR", "-92 233 720 368 547 758,08 €"},
	}
	for _, tt := range tests {
		if got := Money(tt.cents, tt.currency); got != tt.want {
			t.Errorf("Money(%d, %q) = %q, want %q", tt.cents, tt.currency, got, tt.want)
		}
	}
}
