package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// sse holds event streams open, as that many tills following their events
// would, and counts the events they receive.
func sse(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("sse", flag.ContinueOnError)
	base := fs.String("url", "", "the gateway's base URL")
	key := fs.String("key", "", "a till key")
	clients := fs.Int("clients", 50, "streams to hold open")
	hold := fs.Duration("for", 10*time.Second, "how long to hold them, once all are open")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *base == "" || *key == "" || *clients < 1 {
		return fmt.Errorf("sse: --url, --key and a positive --clients are required")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = *clients
	hc := &http.Client{Transport: tr}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var (
		open, events atomic.Int64
		wg           sync.WaitGroup
		errs         = make(chan error, *clients)
		ready        = make(chan struct{}, *clients)
	)
	url := strings.TrimRight(*base, "/") + "/api/v1/events"
	for range *clients {
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			req.Header.Set("Authorization", "Bearer "+*key)
			req.Header.Set("Accept", "text/event-stream")
			resp, err := hc.Do(req)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				errs <- fmt.Errorf("sse: %s", resp.Status)
				return
			}
			open.Add(1)
			ready <- struct{}{}
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				if strings.HasPrefix(sc.Text(), "id:") {
					events.Add(1)
				}
			}
		})
	}
	for range *clients {
		select {
		case <-ready:
		case err := <-errs:
			return fmt.Errorf("sse: a stream did not open: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	fmt.Fprintf(out, "sse: %d streams open\n", open.Load())
	t := time.NewTimer(*hold)
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	cancel()
	wg.Wait()
	fmt.Fprintf(out, "sse: %d streams held, %d events received\n", open.Load(), events.Load())
	return nil
}
