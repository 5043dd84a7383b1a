// Command hubload is the hub's load tool (bench/hub-load.sh):
//
//	hubload push --url URL --keys FILE [--events N] [--batch N]
//
// pushes N events for each shop of FILE (one "store_id key" a line), every
// shop at once, in batches, the way gateways do, and prints the events per
// second the hub took;
//
//	hubload proxy --listen ADDR --to URL --for D
//
// forwards to the hub for D and prints how many requests went through, by
// method and path kind (the idle cost of a gateway's sync).
//
// Only loopback addresses are targets: this is a bench of this machine.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/passerelle/passerelle/sync/wire"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: hubload push|proxy [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "push":
		err = push(ctx, os.Args[2:])
	case "proxy":
		err = proxy(ctx, os.Args[2:])
	default:
		err = errors.New("usage: hubload push|proxy [flags]")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "hubload:", err)
		os.Exit(1)
	}
}

type shop struct{ id, key string }

func readKeys(path string) ([]shop, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []shop
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(l)
		if len(f) != 2 {
			return nil, fmt.Errorf("%s: want \"store_id key\" lines", path)
		}
		out = append(out, shop{f[0], f[1]})
	}
	return out, nil
}

// loopback refuses any target but this machine.
func loopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	ip := net.ParseIP(u.Hostname())
	if u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%s is not a loopback address", raw)
	}
	return nil
}

// ticketData is an event's data of the usual size (about 1.5 KB): a
// ticket of a few lines with a payment.
func ticketData(seq int64) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"type":"payment.approved","ticket_id":"tkt_%d","ticket_ref":"T%d","payment_id":"pay_%d","at":"2026-12-02T12:00:00Z",
"ticket":{"id":"tkt_%d","ref":"T%d","table":"5","currency":"EUR","lines":[{"label":"PLAT DU JOUR","qty":2,"unit_price":1450,"vat_rate":1000},
{"label":"CAFE","qty":2,"unit_price":250,"vat_rate":1000},{"label":"VIN ROUGE 25CL","qty":1,"unit_price":900,"vat_rate":2000}],
"total":4300,"status":"paid","paid":4300,"due":0,"vat":[{"rate":1000,"base":3091,"amount":309,"total":3400},{"rate":2000,"base":750,"amount":150,"total":900}],
"version":1,"source":"till","till":"Caisse 1","created_at":"2026-12-02T11:40:00Z","updated_at":"2026-12-02T12:00:00Z",
"payments":[{"id":"pay_%d","ticket_id":"tkt_%d","device_id":"trm_1","terminal":"TPE 1","requested":4300,"amount":4300,"tip":0,"currency":"EUR",
"status":"approved","card":{"scheme":"CB","masked_pan":"#####5743","entry":"chip"},"auth_code":"185568","transaction_ref":"TX%09d",
"merchant_id":"0000015000","terminal_id":"02189020000","created_at":"2026-12-02T11:59:30Z","deadline":"2026-12-02T12:04:30Z","completed_at":"2026-12-02T12:00:00Z"}]}}`,
		seq, seq, seq, seq, seq, seq, seq, seq))
}

func push(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("push", flag.ContinueOnError)
	hub := fs.String("url", "", "the hub's URL (loopback)")
	keys := fs.String("keys", "", "file of \"store_id key\" lines, one a shop")
	events := fs.Int64("events", 20000, "events per shop")
	batch := fs.Int("batch", wire.MaxEvents, "events per batch")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := loopback(*hub); err != nil {
		return err
	}
	shops, err := readKeys(*keys)
	if err != nil {
		return err
	}
	tr := &http.Transport{MaxIdleConnsPerHost: len(shops) + 2}
	hc := &http.Client{Transport: tr, Timeout: time.Minute}
	var sent, retries atomic.Int64
	var lats []time.Duration
	var mu sync.Mutex
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, len(shops))
	for _, s := range shops {
		wg.Go(func() {
			var mine []time.Duration
			for from := int64(1); from <= *events; {
				n := min(int64(*batch), *events-from+1)
				var b wire.Builder
				for seq := from; seq < from+n; seq++ {
					if err := b.Add(wire.Event{Seq: seq, Type: "payment.approved", At: time.Now().UTC(), Day: "2026-12-02", Data: ticketData(seq)}); err != nil {
						break // full: the hub's acked_through says where the next starts
					}
				}
				t0 := time.Now()
				acked, status, err := post(ctx, hc, *hub, s, b.Bytes())
				mine = append(mine, time.Since(t0))
				switch {
				case err != nil && ctx.Err() != nil:
					errs <- ctx.Err()
					return
				case err != nil || status >= 500 || status == http.StatusTooManyRequests:
					retries.Add(1)
					continue
				case status != http.StatusOK && status != http.StatusConflict:
					errs <- fmt.Errorf("store %s: the hub answered %d", s.id, status)
					return
				}
				sent.Add(acked + 1 - from)
				from = acked + 1
			}
			mu.Lock()
			lats = append(lats, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	took := time.Since(start)
	close(errs)
	for err := range errs {
		return err
	}
	sort.Slice(lats, func(i, j int) bool { return lats[i] < lats[j] })
	q := func(p float64) float64 {
		if len(lats) == 0 {
			return 0
		}
		return float64(lats[int(p*float64(len(lats)-1))].Microseconds()) / 1000
	}
	fmt.Printf("events %d shops %d batches %d retries %d seconds %.2f rate %.0f events/s batch p50 %.1f p99 %.1f ms\n",
		sent.Load(), len(shops), len(lats), retries.Load(), took.Seconds(), float64(sent.Load())/took.Seconds(), q(0.5), q(0.99))
	return nil
}

func post(ctx context.Context, hc *http.Client, hub string, s shop, body []byte) (int64, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(hub, "/")+"/api/v1/stores/"+s.id+"/events", bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+s.key)
	resp, err := hc.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var ack wire.Ack
	if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusConflict {
		if err := json.Unmarshal(raw, &ack); err != nil {
			return 0, 0, err
		}
	}
	return ack.AckedThrough, resp.StatusCode, nil
}

func proxy(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "where to listen")
	to := fs.String("to", "", "the hub's URL (loopback)")
	dur := fs.Duration("for", time.Minute, "how long to count")
	ready := fs.String("ready", "", "file to write the proxy's URL to once it listens")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := loopback(*to); err != nil {
		return err
	}
	u, _ := url.Parse(*to)
	rp := httputil.NewSingleHostReverseProxy(u)
	var mu sync.Mutex
	counts := map[string]int{}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind := r.Method + " " + r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		mu.Lock()
		counts[kind]++
		mu.Unlock()
		rp.ServeHTTP(w, r)
	})}
	go srv.Serve(ln)
	if *ready != "" {
		if err := os.WriteFile(*ready, []byte("http://"+ln.Addr().String()+"\n"), 0o600); err != nil {
			return err
		}
	}
	select {
	case <-time.After(*dur):
	case <-ctx.Done():
	}
	srv.Close()
	mu.Lock()
	defer mu.Unlock()
	fmt.Printf("requests in %s:", *dur)
	for k, n := range counts {
		fmt.Printf(" %q %d", k, n)
	}
	fmt.Println()
	return nil
}
