package main

import (
	"bufio"
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/passerelle/passerelle/drivers/terminalsim"
	"github.com/passerelle/passerelle/drivers/tillsim"
)

// maxSimTerminals bounds --count: each terminal holds a connection and a
// few goroutines.
const maxSimTerminals = 10000

const simTerminalsHelp = `usage: passerelle sim terminals --codes FILE [flags]

Many simulated terminals at once, to load a gateway: each pairs with one of
the codes in FILE (one per line, as ` + "`passerelle terminal code`" + ` prints them
last; - reads them from standard input), then, for --duration, runs the
scenario of --key in a loop: F1 takes a ticket from the list (--pick, one
another of these terminals has not taken unless --claim=false), F2 types a
table number; the ticket is paid in full and the card approved.
Every screen is looked at for about --think before it is answered. With
--key none the terminals only stay connected.

With --till-rate, a till posts tickets meanwhile (as ` + "`passerelle sim till`" + ` does,
key from --till-key or PASSERELLE_TILL_KEY), and the time from each POST to
the ticket's arrival on a list a terminal shows is measured.

flags:
`

func simTerminals(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sim terminals", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, simTerminalsHelp)
		fs.PrintDefaults()
	}
	rawURL := fs.String("url", "http://localhost:8420", "the gateway's base URL: http:// or https://")
	codesPath := fs.String("codes", "", "file of pairing codes, one per line; - for standard input")
	count := fs.Int("count", 0, "how many terminals; default one per code")
	key := fs.String("key", "F1", "the scenario's key, F1 or F2; several, such as F1,F2, shared out among the terminals; none to stay idle")
	pick := fs.String("pick", terminalsim.PickRandom, "which ticket of a list to take: first or random")
	claim := fs.Bool("claim", true, "leave the tickets another of these terminals took, as waiters paying their own tables do; false: all reach for the same")
	think := fs.Duration("think", 300*time.Millisecond, "how long a waiter looks at a screen, give or take half")
	duration := fs.Duration("duration", 30*time.Second, "how long to run")
	tables := fs.Int("tables", tillsim.Tables, "F2 types a table number from 1 to this")
	dialConc := fs.Int("dial-concurrency", 16, "hellos in flight while connecting")
	tillRate := fs.Float64("till-rate", 0, "tickets per second a till posts meanwhile; 0 = none")
	tillConc := fs.Int("till-concurrency", 16, "the till's POSTs in flight at most")
	// No default shown for the key: -h must never print it.
	tillKey := fs.String("till-key", "", "the till's key (default: env PASSERELLE_TILL_KEY)")
	fingerprint := fs.String("fingerprint", "", "pin the gateway's certificate by its SHA-256 (hex, as the gateway logs it)")
	insecure := fs.Bool("insecure", false, "do not check the gateway's certificate")
	v1Only := fs.Bool("v1", false, "speak terminal protocol passerelle.v1 only, as terminals before v1.1 (menus whole at every change)")
	rows := fs.Int("rows", 8, "the display's rows, told in hello: on v1.1 menus come in pages of rows-1 tickets; 0 tells none (one page of up to 50)")
	seed := fs.Uint64("seed", 0, "seed of the terminals' choices and the till's tickets; 0 = from the clock")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("sim terminals: unexpected argument %q", fs.Arg(0))
	}
	switch {
	case *codesPath == "":
		return errors.New("sim terminals: --codes is required (`passerelle terminal code` makes one code)")
	case *count < 0 || *count > maxSimTerminals:
		return fmt.Errorf("sim terminals: --count must be between 1 and %d", maxSimTerminals)
	case *duration <= 0 || *think < 0:
		return errors.New("sim terminals: --duration must be positive and --think not negative")
	case *tillRate < 0:
		return errors.New("sim terminals: --till-rate must be 0 or more")
	case *tillConc < 1 || *tillConc > maxSimConcurrency:
		return fmt.Errorf("sim terminals: --till-concurrency must be between 1 and %d", maxSimConcurrency)
	case *pick != terminalsim.PickFirst && *pick != terminalsim.PickRandom:
		return fmt.Errorf("sim terminals: --pick must be first or random, not %q", *pick)
	}
	if strings.EqualFold(*key, "none") {
		*key = ""
	} else {
		for k := range strings.SplitSeq(*key, ",") {
			if !simKeyName.MatchString(k) {
				return fmt.Errorf("sim terminals: --key must be keys such as F1 or F1,F2, or none, not %q", *key)
			}
		}
	}
	if *tillKey == "" {
		*tillKey = os.Getenv("PASSERELLE_TILL_KEY")
	}
	if *tillRate > 0 && *tillKey == "" {
		return errors.New("sim terminals: --till-rate needs a till key: --till-key or PASSERELLE_TILL_KEY")
	}
	u, err := url.Parse(*rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("sim terminals: --url must be http(s)://host:port, not %q", *rawURL)
	}
	codes, err := readCodes(*codesPath)
	if err != nil {
		return fmt.Errorf("sim terminals: %w", err)
	}
	if *count > 0 {
		if *count > len(codes) {
			return fmt.Errorf("sim terminals: --count %d but only %d codes", *count, len(codes))
		}
		codes = codes[:*count]
	}
	if len(codes) > maxSimTerminals {
		return fmt.Errorf("sim terminals: %d codes, at most %d terminals", len(codes), maxSimTerminals)
	}
	if *seed == 0 {
		*seed = uint64(time.Now().UnixNano())
	}
	// The gateway's refusals are counted in the report: a warning for each
	// would drown it.
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError}))

	sent := &sentTimes{at: map[string]time.Time{}}
	load := terminalsim.Load{
		Options: terminalsim.Options{URL: u.String(), Fingerprint: *fingerprint, Insecure: *insecure,
			Model: "passerelle-load", Log: log, V1Only: *v1Only, Rows: cmp.Or(*rows, -1)},
		Codes: codes, DialConcurrency: *dialConc, Key: *key, Pick: *pick, Claim: *claim, Tables: *tables,
		Think: *think, Seed: *seed, SentAt: sent.get,
	}
	fleet, err := load.Connect(ctx)
	if err != nil {
		return fmt.Errorf("sim terminals: %w", err)
	}
	defer fleet.Close()
	fmt.Fprintf(stderr, "%d terminals connected; running for %s\n", len(codes), *duration)

	var (
		tillRep  *tillsim.Report
		tillDone = make(chan struct{})
	)
	runCtx, stopRun := context.WithTimeout(ctx, *duration)
	defer stopRun()
	if *tillRate > 0 {
		var tlsConf *tls.Config
		if u.Scheme == "https" {
			if tlsConf, err = tillsim.TLSConfig(*fingerprint, *insecure); err != nil {
				return fmt.Errorf("sim terminals: --fingerprint: %w", err)
			}
		}
		client := tillsim.NewClient(tillsim.ClientConfig{URL: u.String(), Key: *tillKey, TLS: tlsConf, Conn: *tillConc})
		tl := tillsim.Load{Tickets: int(*tillRate * duration.Seconds()), Concurrency: *tillConc, Rate: *tillRate,
			OnSend: sent.set}
		gen := tillsim.NewGenerator(*seed, tillsim.RunPrefix())
		go func() {
			defer close(tillDone)
			rep := tl.Run(runCtx, client, gen)
			tillRep = &rep
		}()
	} else {
		close(tillDone)
	}
	rep := fleet.Run(ctx, *duration)
	<-tillDone
	rep.WriteTo(stdout)
	if tillRep != nil {
		tillRep.WriteTo(stdout)
	}
	switch {
	case ctx.Err() != nil:
		return nil
	case rep.Connected < rep.Terminals:
		return fmt.Errorf("sim terminals: %d of %d terminals were not connected at the end", rep.Terminals-rep.Connected, rep.Terminals)
	case tillRep != nil && tillRep.Failed() > 0:
		return fmt.Errorf("sim terminals: %d of %d tickets failed", tillRep.Failed(), tillRep.Sent)
	}
	return nil
}

// readCodes reads pairing codes, one per line; blank lines are skipped.
func readCodes(path string) ([]string, error) {
	var r io.Reader = os.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	var codes []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if c := strings.TrimSpace(sc.Text()); c != "" {
			codes = append(codes, c)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read codes: %w", err)
	}
	if len(codes) == 0 {
		return nil, errors.New("no pairing codes in " + path)
	}
	return codes, nil
}

// sentTimes remembers when each ticket's POST left.
type sentTimes struct {
	mu sync.Mutex
	at map[string]time.Time
}

func (s *sentTimes) set(ref string, t time.Time) {
	s.mu.Lock()
	s.at[ref] = t
	s.mu.Unlock()
}

func (s *sentTimes) get(ref string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.at[ref]
	return t, ok
}
