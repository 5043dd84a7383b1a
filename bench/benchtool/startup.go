package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"slices"
	"syscall"
	"time"
)

// startup times `passerelle run` from the process's start to the first
// request it answers (GET /healthz, polled in a tight loop), runs times,
// and prints each time and their median.
func startup(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("startup", flag.ContinueOnError)
	bin := fs.String("bin", "", "the passerelle binary")
	data := fs.String("data", "", "the data directory")
	runs := fs.Int("runs", 5, "how many starts")
	limit := fs.Duration("timeout", 30*time.Second, "how long one start may take")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *bin == "" || *data == "" || *runs < 1 {
		return fmt.Errorf("startup: --bin, --data and a positive --runs are required")
	}
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var times []time.Duration
	for i := range *runs {
		d, err := startOnce(ctx, hc, *bin, *data, *limit)
		if err != nil {
			return fmt.Errorf("startup: run %d: %w", i+1, err)
		}
		fmt.Fprintf(out, "startup: run %d: %.1f ms\n", i+1, ms(d))
		times = append(times, d)
	}
	slices.Sort(times)
	fmt.Fprintf(out, "startup: median %.1f ms, min %.1f ms, max %.1f ms of %d runs\n",
		ms(times[len(times)/2]), ms(times[0]), ms(times[len(times)-1]), len(times))
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func startOnce(ctx context.Context, hc *http.Client, bin, data string, limit time.Duration) (time.Duration, error) {
	port, err := freePort()
	if err != nil {
		return 0, err
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/healthz", port)
	cmd := exec.Command(bin, "run", "--data", data, "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--no-tls")
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	exited := make(chan error, 1)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}()
	deadline := start.Add(limit)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			exited <- err // for the deferred wait
			return 0, fmt.Errorf("the gateway exited: %v", err)
		case <-ctx.Done():
			return 0, ctx.Err()
		default:
		}
		resp, err := hc.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(start), nil
			}
		}
		// A pause short against the target (300 ms) that leaves the CPU to
		// the starting gateway.
		time.Sleep(200 * time.Microsecond)
	}
	return 0, fmt.Errorf("no answer from %s within %s", url, limit)
}

// freePort finds a loopback port nobody listens on; the gateway takes it
// a moment later.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
