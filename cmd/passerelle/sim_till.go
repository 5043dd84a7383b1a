package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/passerelle/passerelle/drivers/tillsim"
	"github.com/passerelle/passerelle/gateway"
)

// maxSimConcurrency bounds --concurrency: each worker holds a connection.
const maxSimConcurrency = 1024

func simTill(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sim till", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rawURL := fs.String("url", "https://localhost:8420", "the gateway's base URL")
	// No default shown for the key: -h must never print it.
	key := fs.String("key", "", "till key (default: env PASSERELLE_TILL_KEY)")
	tickets := fs.Int("tickets", 10, "how many tickets to send")
	rate := fs.Float64("rate", 0, "tickets per second at most; 0 = as fast as the gateway answers")
	conc := fs.Int("concurrency", 1, "POSTs in flight at most")
	seed := fs.Uint64("seed", 0, "generator seed, to replay a run's tickets; 0 = from the clock (printed at the end)")
	prefix := fs.String("ref-prefix", "", "ticket refs are PREFIX-000001, …; default SIM- and random letters, new each run")
	fingerprint := fs.String("fingerprint", "", "pin the gateway's certificate by its SHA-256 (hex, as the gateway logs it)")
	insecure := fs.Bool("insecure", false, "do not check the gateway's certificate at all")
	follow := fs.Bool("follow", false, "also print the event stream, until interrupted")
	measure := fs.Bool("measure-events", false, "follow the event stream and report POST→SSE delivery latency")
	eventWait := fs.Duration("event-wait", 10*time.Second, "with --measure-events, how long to wait for the last events after the last POST")
	cpuProfile := fs.String("cpuprofile", "", "write the simulator's own CPU profile to this file, to check that the load tool is not what it measures")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("sim till: unexpected argument %q", fs.Arg(0))
	}
	if *key == "" {
		*key = os.Getenv("PASSERELLE_TILL_KEY")
	}
	if *key == "" {
		return errors.New("sim till: a till key is required: --key or PASSERELLE_TILL_KEY (`passerelle till add NAME` makes one)")
	}
	switch {
	case *tickets < 0:
		return errors.New("sim till: --tickets must be 0 or more")
	case *conc < 1 || *conc > maxSimConcurrency:
		return fmt.Errorf("sim till: --concurrency must be between 1 and %d", maxSimConcurrency)
	case *rate < 0:
		return errors.New("sim till: --rate must be 0 or more")
	case *eventWait <= 0:
		return errors.New("sim till: --event-wait must be positive")
	}
	u, err := url.Parse(*rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("sim till: --url must be http(s)://host:port, not %q", *rawURL)
	}
	if *prefix == "" {
		*prefix = tillsim.RunPrefix()
	} else if msg := gateway.CheckText(*prefix+"-000000", 1, gateway.MaxRefLen); msg != "" {
		return fmt.Errorf("sim till: --ref-prefix: %s", msg)
	}
	if *seed == 0 {
		*seed = uint64(time.Now().UnixNano())
	}

	log := slog.New(slog.NewTextHandler(stderr, nil))
	var tlsConf *tls.Config
	if u.Scheme == "https" {
		if tlsConf, err = tillsim.TLSConfig(*fingerprint, *insecure); err != nil {
			return fmt.Errorf("sim till: --fingerprint: %w", err)
		}
		if *fingerprint == "" && *insecure {
			log.Warn("--insecure: the gateway's certificate is not checked, anyone on the network could pose as it; prefer --fingerprint")
		}
	} else if *fingerprint != "" || *insecure {
		log.Warn("--fingerprint and --insecure are ignored with an http URL")
	}

	out := &syncWriter{w: stdout}
	client := tillsim.NewClient(tillsim.ClientConfig{URL: u.String(), Key: *key, TLS: tlsConf, Conn: *conc})
	load := tillsim.Load{Tickets: *tickets, Concurrency: *conc, Rate: *rate}

	var delivery *tillsim.Delivery
	followCtx, stopFollow := context.WithCancel(ctx)
	defer stopFollow()
	followDone := make(chan error, 1)
	if *follow || *measure {
		if *measure {
			delivery = tillsim.NewDelivery()
			load.OnSend = delivery.Sent
		}
		opened := make(chan struct{})
		var once sync.Once
		f := &tillsim.Follow{}
		f.OnConnect = func() { once.Do(func() { close(opened) }) }
		f.OnDrop = func(err error, retry time.Duration) {
			log.Warn("event stream lost, resuming", "err", err, "retry_in", retry, "last_event_id", f.LastID)
		}
		f.OnEvent = func(e tillsim.Event) {
			if delivery != nil && e.Type == gateway.EventTicketCreated {
				delivery.Received(e.TicketRef, e.Received)
			}
			if *follow {
				fmt.Fprintln(out, e)
			}
		}
		go func() { followDone <- client.Follow(followCtx, f) }()
		// Post only once the stream is open: it starts at the present, and
		// an event from before it would be missed.
		t := time.NewTimer(tillsim.RequestTimeout)
		defer t.Stop()
		select {
		case <-opened:
		case err := <-followDone:
			return fmt.Errorf("sim till: %w", err)
		case <-t.C:
			return fmt.Errorf("sim till: the event stream did not open within %s", tillsim.RequestTimeout)
		case <-ctx.Done():
			return nil
		}
	}

	gen := tillsim.NewGenerator(*seed, *prefix)
	stopProfile, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return fmt.Errorf("sim till: --cpuprofile: %w", err)
	}
	rep := load.Run(ctx, client, gen)
	stopProfile()
	var undelivered int
	if delivery != nil {
		wctx, cancel := context.WithTimeout(ctx, *eventWait)
		delivery.Wait(wctx, rep.Created())
		cancel()
		rep.Delivery = delivery.Report(rep.Created())
		undelivered = rep.Delivery.Expected - rep.Delivery.Latency.N
	}
	rep.WriteTo(out)
	var cve *tls.CertificateVerificationError
	if errors.As(rep.FirstErr, &cve) {
		log.Error("the gateway's certificate is self-signed: pin it with --fingerprint (the gateway logs it at start), or pass --insecure")
	}
	if n := gen.Generated(); n > 0 {
		fmt.Fprintf(out, "run        seed %d, refs %s-000001 to %s-%06d\n", *seed, *prefix, *prefix, n)
	}

	var followErr error
	following := *follow || *measure
	if *follow {
		// Keep printing events until interrupted, or the stream is refused.
		select {
		case <-ctx.Done():
		case followErr = <-followDone:
			following = false
		}
	}
	stopFollow()
	if following {
		followErr = <-followDone
	}
	switch {
	case followErr != nil:
		return fmt.Errorf("sim till: %w", followErr)
	case rep.Failed() > 0:
		return fmt.Errorf("sim till: %d of %d tickets failed", rep.Failed(), rep.Sent)
	case undelivered > 0 && ctx.Err() == nil:
		return fmt.Errorf("sim till: %d created tickets had no ticket.created event within %s", undelivered, *eventWait)
	}
	return nil
}

// syncWriter serialises the event lines and the summary, which come from
// two goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
