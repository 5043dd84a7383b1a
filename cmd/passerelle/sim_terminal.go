package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/passerelle/passerelle/drivers/mdns"
	"github.com/passerelle/passerelle/drivers/terminalsim"
	"github.com/passerelle/passerelle/gateway"
)

// simStdin is what the interactive simulator reads the waiter's keys from.
var simStdin io.Reader = os.Stdin

const simTerminalHelp = `usage: passerelle sim terminal [flags]

A simulated payment terminal. The first time, pair it with a code from
` + "`passerelle terminal code`" + `: with --link (the pairing link it prints, which
names the gateway's addresses, its certificate and the code), with --url
and --code, or with --code alone: the terminal then finds the gateway on the
LAN by mDNS (several: it lists them and asks which), shows the first
characters of its certificate's fingerprint and asks you to compare them
with the manager's screen (or takes them from --fingerprint). The token, the
pinned certificate and the unfinished payments are then kept in the state
file (--state); later runs need no code, and without --url find the gateway
again by mDNS wherever its address went. A gateway with another
certificate is refused ("possible impostor"), whatever it announces.

While it runs, the terminal announces itself as _passerelle-tpe._tcp (the
gateway lists it in ` + "`passerelle terminal list --discovered`" + `), and, without
--url, follows its gateway: when the gateway announces another address, or
the connection drops, it connects again by itself. --discover lists the
gateways on the LAN and exits.

Without --script it is interactive: each screen the gateway sends is drawn
here, and each line you type is a key:
  F1, F2, ...       start the scenario of that key
  a number          pick that menu item or choice
  digits or text    answer an input screen
  ok                acknowledge a message, or pick the highlighted item
  up, down          move the highlight
  cancel            leave the scenario
  approve, decline, slow, drop
                    at "PIN?": the card step's outcome
  reconnect, quit

Script (--script 'F2; 5; full; approve; wait', or --script-file): the same
steps, separated by ';' (or lines in a file, # for comments), each waiting
for what it needs from the gateway:
  F1, F2, ...       press a key: start a scenario
  a value           answer the screen shown: for a menu a number (1 = first
                    item) or an item id; for a ticket screen a choice id
                    (full, split, amount, tip, next, stop) or its number; for
                    an input screen the value; for a message anything
  ok                acknowledge a message screen
  cancel            leave the scenario
  pay               wait for the gateway to ask for a card payment
  approve           the card is accepted
  decline           the bank refuses the card
  slow              approve after --slow, unless the gateway aborts meanwhile
  drop              approve, lose the connection before sending the result,
                    reconnect and send it (the scenario is over)
  wait              wait for the scenario's end (done)
The exit status is 0 when every step succeeded and the last scenario ended
with done; otherwise 1, with the reason.

flags:
`

func simTerminal(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sim terminal", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, simTerminalHelp)
		fs.PrintDefaults()
	}
	rawURL := fs.String("url", "", "the gateway's base URL, http:// or https:// (default: the last one that worked, else found by mDNS)")
	rawLink := fs.String("link", "", "pair with this pairing link (passerelle://pair?addr=...&fp=...&code=...)")
	code := fs.String("code", "", "pairing code, to pair the first time")
	statePath := fs.String("state", "passerelle-terminal.json", "the terminal's state file: its token and unfinished payments")
	script := fs.String("script", "", "steps separated by ';', instead of the console")
	scriptFile := fs.String("script-file", "", "read the script from this file")
	fingerprint := fs.String("fingerprint", "", "pin the gateway's certificate by its SHA-256 (hex, as the gateway logs it), or its first 16 characters or more")
	insecure := fs.Bool("insecure", false, "pair without checking the gateway's certificate (it is pinned from then on)")
	serial := fs.String("serial", "", "the terminal's serial number (default: the state file's, else a new one)")
	slow := fs.Duration("slow", terminalsim.DefaultSlowDelay, "how long a slow card step takes")
	timeout := fs.Duration("timeout", 30*time.Second, "in a script, how long a step waits for the gateway")
	verbose := fs.Bool("v", false, "log connections and protocol events")
	useMDNS := fs.Bool("mdns", true, "find the gateway and announce this terminal over mDNS (never with a loopback --url)")
	mdnsHost := fs.String("mdns-host", "", "the host name this terminal announces itself under (default tpe-<serial>)")
	mdnsIfaces := fs.String("mdns-interfaces", "", "comma-separated interfaces to use mDNS on (default: every suitable one)")
	browse := fs.Duration("browse", 3*time.Second, "how long to look for gateways on the LAN")
	discover := fs.Bool("discover", false, "list the gateways announced on the LAN as they are heard, for --browse, and exit")
	choose := fs.String("gateway", "", "when mDNS finds several gateways, the name or id of the one to pair with")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("sim terminal: unexpected argument %q", fs.Arg(0))
	}
	if *script != "" && *scriptFile != "" {
		return errors.New("sim terminal: --script and --script-file exclude each other")
	}
	if *slow <= 0 || *timeout <= 0 || *browse <= 0 {
		return errors.New("sim terminal: --slow, --timeout and --browse must be positive")
	}
	if *rawURL != "" && *rawLink != "" {
		return errors.New("sim terminal: --url and --link exclude each other")
	}
	var link gateway.PairingLink
	if *rawLink != "" {
		var err error
		if link, err = gateway.ParsePairingLink(*rawLink); err != nil {
			return fmt.Errorf("sim terminal: --link: %w", err)
		}
		if *code == "" {
			*code = link.Code
		}
		if *fingerprint == "" {
			*fingerprint = link.Fingerprint
		}
	}
	var steps []string
	scripted := *script != "" || *scriptFile != ""
	switch {
	case *script != "":
		steps = parseSimScript(*script)
	case *scriptFile != "":
		data, err := os.ReadFile(*scriptFile)
		if err != nil {
			return fmt.Errorf("sim terminal: %w", err)
		}
		steps = parseSimScript(string(data))
	}
	if scripted && len(steps) == 0 {
		return errors.New("sim terminal: the script has no steps")
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if *insecure && *fingerprint == "" && strings.HasPrefix(*rawURL, "https:") {
		log.Warn("--insecure: the certificate is not checked when pairing; the terminal pins the one it sees")
	}

	in := &lineReader{r: simStdin}
	opts := terminalsim.Options{URL: *rawURL, URLs: link.URLs(), Code: *code, StateFile: *statePath, Model: terminalModel,
		Serial: *serial, Fingerprint: *fingerprint, Insecure: *insecure, SlowDelay: *slow, Log: log, FindTimeout: *browse}
	st, err := terminalsim.LoadState(*statePath)
	if err != nil {
		return fmt.Errorf("sim terminal: %w", err)
	}
	if opts.Serial == "" {
		opts.Serial = st.Serial
	}
	if opts.Serial == "" {
		opts.Serial = terminalsim.NewSerial()
	}
	var gateways *mdns.GatewayList
	if *useMDNS && !loopbackURL(*rawURL) {
		ifaces := splitList(*mdnsIfaces)
		mctx, stopMDNS := context.WithCancel(ctx)
		var wg sync.WaitGroup
		defer func() { stopMDNS(); wg.Wait() }() // the goodbye goes out before the process ends
		if gateways, err = mdns.WatchGateways(mctx, ifaces, log); err != nil {
			log.Warn("mDNS is not available: the terminal neither finds the gateway nor announces itself", "err", err)
			gateways = nil
		}
		if !*discover {
			host := *mdnsHost
			if host == "" {
				host = "tpe-" + opts.Serial
			}
			adv := &mdns.Advertiser{Service: mdns.TerminalService, Instance: opts.Serial, Host: mdns.HostLabel(host),
				Port: terminalPort, Text: mdns.TerminalTXT{Serial: opts.Serial, Model: terminalModel}.Strings(),
				Interfaces: ifaces, Log: log}
			wg.Add(1)
			go func() { defer wg.Done(); adv.Run(mctx) }()
		}
	}
	if *discover {
		return discoverGateways(ctx, gateways, *browse, stdout)
	}
	if gateways != nil {
		opts.Gateways = gateways
		opts.Follow = *rawURL == ""
	}
	if st.Token == "" && *rawURL == "" && *rawLink == "" {
		// Pairing with a gateway found on the LAN.
		if gateways == nil {
			return errors.New("sim terminal: the terminal is not paired and mDNS is off: give --link, or --url and --code")
		}
		g, err := chooseGateway(ctx, gateways, *browse, *choose, in, stdout)
		if err != nil {
			return fmt.Errorf("sim terminal: %w", err)
		}
		if opts.Fingerprint, err = confirmFingerprint(g, *fingerprint, in, stdout); err != nil {
			return fmt.Errorf("sim terminal: %w", err)
		}
		if opts.Code == "" {
			if opts.Code, err = in.ask(ctx, stdout, "pairing code (from `passerelle terminal code` or the admin page): "); err != nil {
				return fmt.Errorf("sim terminal: %w (or pass --code)", terminalsim.ErrNotPaired)
			}
		}
		opts.URLs, opts.GatewayID, opts.GatewayName = g.URLs(), g.TXT.ID, g.Name
	}

	dctx, cancel := context.WithTimeout(ctx, *timeout)
	term, err := terminalsim.Dial(dctx, opts)
	cancel()
	var cve *tls.CertificateVerificationError
	switch {
	case errors.Is(err, terminalsim.ErrUnauthorized):
		return fmt.Errorf("sim terminal: %w: get a new code with `passerelle terminal code` and pass it with --code", err)
	case errors.Is(err, terminalsim.ErrImpostor):
		return fmt.Errorf("sim terminal: %w", err)
	case errors.As(err, &cve):
		return fmt.Errorf("sim terminal: %w: pin the gateway's certificate with --fingerprint (the gateway logs it at start), or pair with --insecure", err)
	case err != nil:
		return fmt.Errorf("sim terminal: %w", err)
	}
	defer term.Close()
	if term.Paired() {
		fmt.Fprintf(stdout, "paired with the gateway as %q (%s) at %s; the token is kept in %s\n", term.Name(), term.ID(), term.URL(), *statePath)
	} else {
		fmt.Fprintf(stdout, "connected to the gateway as %q (%s) at %s\n", term.Name(), term.ID(), term.URL())
	}

	pctx, stop := context.WithCancel(ctx)
	defer stop()
	msgs := make(chan terminalsim.Message)
	go func() {
		for {
			m, err := term.Next(pctx)
			if err != nil {
				return
			}
			select {
			case msgs <- m:
			case <-pctx.Done():
				return
			}
		}
	}()
	r := &termRunner{t: term, out: stdout, msgs: msgs, timeout: *timeout, script: scripted, in: in}
	if scripted {
		return r.runScript(ctx, steps)
	}
	return r.interactive(ctx)
}

// parseSimScript splits a script into steps: ';' or new lines separate them,
// '#' starts a comment.
func parseSimScript(s string) []string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		for _, st := range strings.Split(line, ";") {
			if st = strings.TrimSpace(st); st != "" {
				out = append(out, st)
			}
		}
	}
	return out
}

var simKeyName = regexp.MustCompile(`^[Ff][0-9]{1,2}$`)

// termRunner plays the waiter: it draws what the gateway sends and turns
// steps into the terminal's actions.
type termRunner struct {
	t       *terminalsim.Terminal
	out     io.Writer
	msgs    <-chan terminalsim.Message
	timeout time.Duration
	script  bool // steps wait for what they need; a refusal ends the run
	in      *lineReader

	cur     *terminalsim.Message // the screen shown or the pay asked, not answered yet
	cursor  int                  // the highlighted item of a menu or ticket screen
	started bool                 // a scenario was started
	running bool                 // a scenario runs
	ended   string               // how the last scenario ended: done, cancelled, dropped
	endText string
	fail    error // the gateway refused a step

	// The last answer, to give again if the gateway replaced the screen
	// (a refreshed ticket) just before it arrived.
	answered            *terminalsim.Message
	lastValue, lastKind string
	retried             bool
	dropping            bool   // the connection loss is ours
	lastAck             string // the payment last acknowledged
}

func (r *termRunner) runScript(ctx context.Context, steps []string) error {
	for i, st := range steps {
		if err := r.step(ctx, st); err != nil {
			return fmt.Errorf("sim terminal: step %d %q: %w", i+1, st, err)
		}
	}
	// The script may stop while the gateway finishes (prints, done).
	if r.running && r.cur == nil {
		if err := r.need(ctx, "done"); err != nil {
			return fmt.Errorf("sim terminal: after the script: %w", err)
		}
	}
	r.drain()
	switch {
	case r.fail != nil:
		return fmt.Errorf("sim terminal: after the script: %w", r.fail)
	case !r.started:
		return errors.New("sim terminal: the script started no scenario: begin it with a key (F1, F2)")
	case r.running:
		return fmt.Errorf("sim terminal: the script ended while the gateway still shows %s", describeShown(r.cur))
	case r.ended != "done":
		return fmt.Errorf("sim terminal: the last scenario ended %s, not with done", r.ended)
	}
	fmt.Fprintf(r.out, "script complete: the last scenario ended with %q\n", r.endText)
	return nil
}

func (r *termRunner) interactive(ctx context.Context) error {
	fmt.Fprintln(r.out, "idle: press F1 or F2 (type the key, then Enter); quit to leave")
	lines := r.in.lines()
	for {
		select {
		case <-ctx.Done():
			return nil
		case m := <-r.msgs:
			r.handle(m)
		case l, ok := <-lines:
			l = strings.TrimSpace(l)
			switch {
			case !ok || l == "quit" || l == "exit":
				return nil
			case l == "":
				continue
			}
			if err := r.step(ctx, l); err != nil {
				fmt.Fprintf(r.out, "! %v\n", err)
			}
		}
	}
}

// step does one script step or console line.
func (r *termRunner) step(ctx context.Context, st string) error {
	r.drain()
	if r.fail != nil {
		err := r.fail
		r.fail = nil
		return err
	}
	verb := strings.ToLower(st)
	if verb == "wait" || simKeyName.MatchString(st) {
		r.echo(st)
	}
	switch {
	case simKeyName.MatchString(st):
		if r.cur != nil && r.cur.Type == "pay" {
			return errors.New("a card payment waits: approve, decline, slow or drop it first")
		}
		if err := r.t.Start(strings.ToUpper(st)); err != nil {
			return err
		}
		r.cur, r.answered, r.started, r.running, r.ended, r.endText = nil, nil, true, true, "", ""
		return nil
	case verb == "pay":
		err := r.need(ctx, "pay")
		r.echo(st)
		return err
	case verb == "approve" || verb == "decline" || verb == "slow" || verb == "drop":
		if err := r.need(ctx, "pay"); err != nil {
			return err
		}
		r.echo(st)
		return r.card(ctx, terminalsim.Outcome(verb))
	case verb == "wait":
		return r.need(ctx, "done")
	case verb == "reconnect":
		r.echo(st)
		return r.reconnect(ctx)
	case verb == "cancel":
		if err := r.need(ctx, "screen"); err != nil {
			return err
		}
		r.echo(st)
		if err := r.t.Cancel(); err != nil {
			return err
		}
		r.cur, r.running, r.ended, r.endText = nil, false, "cancelled", ""
		fmt.Fprintln(r.out, "cancelled: the terminal is idle")
		return nil
	case verb == "up" || verb == "down":
		if err := r.need(ctx, "screen"); err != nil {
			return err
		}
		r.echo(st)
		n := len(r.options())
		if n == 0 {
			return errors.New("up and down move through a menu or a ticket's choices")
		}
		if verb == "up" {
			r.cursor = (r.cursor + n - 1) % n
		} else {
			r.cursor = (r.cursor + 1) % n
		}
		r.drawOptions()
		return nil
	}
	if err := r.need(ctx, "screen"); err != nil {
		return err
	}
	r.echo(st)
	value, err := r.value(st)
	if err != nil {
		return err
	}
	return r.answer(value)
}

func (r *termRunner) answer(value string) error {
	s := r.cur
	if err := r.t.AnswerScreen(s.ScreenID, value); err != nil {
		return err
	}
	r.cur, r.answered, r.lastValue, r.lastKind, r.retried = nil, s, value, s.Kind, false
	return nil
}

// value turns what the waiter typed into the answer for the screen shown.
func (r *termRunner) value(v string) (string, error) {
	s := r.cur
	switch s.Kind {
	case gateway.ScreenMenu, gateway.ScreenTicket:
		opts := r.options()
		if strings.EqualFold(v, "ok") {
			if len(opts) == 0 {
				return "", errors.New("this screen has nothing to pick")
			}
			return opts[r.cursor].ID, nil
		}
		if n, err := strconv.Atoi(v); err == nil {
			if n < 1 || n > len(opts) {
				return "", fmt.Errorf("pick a number from 1 to %d", len(opts))
			}
			return opts[n-1].ID, nil
		}
		for _, o := range opts {
			if o.ID == v {
				return v, nil
			}
		}
		var ids []string
		for _, o := range opts {
			ids = append(ids, o.ID)
		}
		return "", fmt.Errorf("%q is not on %s: a number from 1 to %d, or one of %s", v, describeShown(s), len(opts), strings.Join(ids, ", "))
	case gateway.ScreenInput:
		if strings.EqualFold(v, "ok") {
			return "", errors.New("type the value, then Enter")
		}
	}
	return v, nil // an input's value; a message takes anything
}

func (r *termRunner) options() []gateway.MenuItem {
	if r.cur == nil || r.cur.Type != "screen" {
		return nil
	}
	if r.cur.Kind == gateway.ScreenMenu {
		return r.cur.Items
	}
	return r.cur.Choices
}

// echo shows a script's step where it acts; the console shows what was
// typed already.
func (r *termRunner) echo(st string) {
	if r.script {
		fmt.Fprintf(r.out, "> %s\n", st)
	}
}

// card runs the card step of the payment asked.
func (r *termRunner) card(ctx context.Context, o terminalsim.Outcome) error {
	if o == terminalsim.Slow {
		fmt.Fprintf(r.out, "   card step: slow...\n")
	}
	r.dropping = o == terminalsim.Drop
	res, err := r.t.Card(ctx, o)
	if err != nil {
		r.dropping = false
		return err
	}
	r.cur = nil
	switch res.Status {
	case "approved":
		fmt.Fprintf(r.out, "   card approved: %s %s, auth %s, ref %s\n", res.Card.Scheme, res.Card.MaskedPAN, res.AuthCode, res.TransactionRef)
	case "declined":
		fmt.Fprintf(r.out, "   card declined: %s %s\n", res.Card.Scheme, res.Card.MaskedPAN)
	default:
		fmt.Fprintf(r.out, "   card step %s\n", res.Status)
	}
	if o != terminalsim.Drop {
		return nil
	}
	// The scenario died with the connection; the result is in the state
	// file and goes out once connected again.
	fmt.Fprintln(r.out, "   connection dropped before the result was sent; it is kept in the state file")
	r.running, r.ended, r.endText = false, "dropped", ""
	if err := r.reconnect(ctx); err != nil {
		return err
	}
	if !r.script {
		return nil
	}
	return r.waitAck(ctx, res.PaymentID)
}

func (r *termRunner) reconnect(ctx context.Context) error {
	dctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	if err := r.t.Reconnect(dctx); err != nil {
		return err
	}
	r.cur, r.answered = nil, nil // a new connection starts a new session, whose screen IDs start again
	if r.running {
		r.running, r.ended, r.endText = false, "dropped", ""
	}
	fmt.Fprintln(r.out, "   reconnected: unacknowledged results are sent again")
	return nil
}

func (r *termRunner) waitAck(ctx context.Context, paymentID string) error {
	return r.await(ctx, "the ack of "+paymentID, func() (bool, error) {
		for _, p := range r.t.State().Payments {
			if p.PaymentID == paymentID {
				return false, nil
			}
		}
		return true, nil
	})
}

// need makes sure the gateway shows what a step needs: a screen, a pay
// request, or the scenario's end. A script waits for it; the console does
// not.
func (r *termRunner) need(ctx context.Context, what string) error {
	return r.await(ctx, what, func() (bool, error) { return r.check(what) })
}

// check says whether the gateway shows what is needed, or will never.
func (r *termRunner) check(what string) (bool, error) {
	if r.cur != nil {
		if r.cur.Type == what {
			return true, nil
		}
		return false, fmt.Errorf("the gateway shows %s", describeShown(r.cur))
	}
	switch {
	case !r.started:
		return false, errors.New("no scenario runs: press a key first (F1, F2)")
	case r.running:
		return false, nil // the gateway has not said yet
	case what == "done" && r.ended == "done":
		return true, nil
	case r.ended == "done":
		return false, fmt.Errorf("the scenario has ended (%s)", r.endText)
	}
	return false, fmt.Errorf("the scenario has ended: %s", r.ended)
}

// await handles messages until cond holds or says it never will. In the
// console it does not wait: what is needed is there or not.
func (r *termRunner) await(ctx context.Context, what string, cond func() (bool, error)) error {
	timer := time.NewTimer(r.timeout)
	defer timer.Stop()
	for {
		if r.fail != nil {
			err := r.fail
			r.fail = nil
			return err
		}
		ok, err := cond()
		if ok || err != nil {
			return err
		}
		if !r.script {
			return fmt.Errorf("not yet: no %s from the gateway", what)
		}
		select {
		case m := <-r.msgs:
			r.handle(m)
		case <-timer.C:
			return fmt.Errorf("waited %s for %s: the gateway sent nothing (--timeout)", r.timeout, what)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// drain handles the messages already there.
func (r *termRunner) drain() {
	for {
		select {
		case m := <-r.msgs:
			r.handle(m)
		default:
			return
		}
	}
}

func (r *termRunner) handle(m terminalsim.Message) {
	switch m.Type {
	case "screen":
		if r.answered != nil && m.ScreenID == r.answered.ScreenID {
			return // a refresh of the menu just answered: the answer stands
		}
		r.cur, r.cursor, r.running = &m, 0, true
		r.drawScreen()
	case "pay":
		r.cur = &m
		label := m.Label
		if label == "" {
			label = "DÉBIT"
		}
		fmt.Fprintf(r.out, "\n== %s ==\n   %s %s\n", label, gateway.FormatCents(m.Amount+m.Tip), m.Currency)
		if m.Tip > 0 {
			fmt.Fprintf(r.out, "   (pourboire %s)\n", gateway.FormatCents(m.Tip))
		}
		fmt.Fprintln(r.out, "   INSÉRER CARTE")
		fmt.Fprintln(r.out, "   PIN? (approve/decline/slow/drop)")
	case "print":
		r.drawReceipt(m.Lines)
	case "done":
		// The gateway's own ends carry their lines: "Aucun ticket", "pour
		// la table 9".
		text := strings.Join(append([]string{m.Title}, m.Lines...), " ")
		r.cur, r.answered, r.running, r.ended, r.endText = nil, nil, false, "done", text
		fmt.Fprintf(r.out, "\n== %s ==\n", m.Title)
		for _, l := range m.Lines {
			fmt.Fprintf(r.out, "   %s\n", l)
		}
		fmt.Fprintln(r.out, "   (scenario ended; the terminal is idle)")
	case "ack":
		// A result sent again and asked for by the gateway is acked twice.
		if m.PaymentID != r.lastAck {
			fmt.Fprintf(r.out, "   payment %s recorded by the gateway\n", m.PaymentID)
		}
		r.lastAck = m.PaymentID
	case "status_request":
		fmt.Fprintf(r.out, "   the gateway asks about payment %s: answered from the state file\n", m.PaymentID)
	case "abort":
		fmt.Fprintf(r.out, "   the gateway aborts payment %s\n", m.PaymentID)
	case "payment_state":
		fmt.Fprintf(r.out, "   payment %s is %s\n", m.PaymentID, m.Status)
	case terminalsim.TypeReconnected:
		// The terminal followed its gateway to another address, or came
		// back after a lost connection: a new session, idle.
		r.cur, r.answered = nil, nil
		if r.running {
			r.running, r.ended, r.endText = false, "with the connection moved", ""
		}
		fmt.Fprintf(r.out, "   reconnected to the gateway at %s\n", m.Text)
	case terminalsim.TypeDisconnected:
		if r.dropping {
			r.dropping = false
			return
		}
		r.cur = nil
		if r.running {
			r.running, r.ended, r.endText = false, "with the connection lost", ""
		}
		fmt.Fprintf(r.out, "! connection lost: %s\n", m.Text)
		switch {
		case r.script:
			r.fail = fmt.Errorf("the connection to the gateway was lost: %s", m.Text)
		case r.t.Following():
			fmt.Fprintln(r.out, "  looking for the gateway: the terminal connects again by itself")
		default:
			fmt.Fprintln(r.out, "  type reconnect to connect again")
		}
	case "error":
		r.gatewayError(m)
	}
}

func (r *termRunner) gatewayError(m terminalsim.Message) {
	switch {
	case m.Code == "no_screen" && !r.retried && r.lastValue != "" && r.cur != nil &&
		r.cur.Type == "screen" && r.cur.Kind == r.lastKind:
		// The gateway replaced the screen just before the answer: the
		// waiter answers the new one the same way.
		r.retried = true
		fmt.Fprintf(r.out, "   (the screen changed: answering %q again)\n", r.lastValue)
		if err := r.t.AnswerScreen(r.cur.ScreenID, r.lastValue); err == nil {
			r.cur = nil
		}
		return
	case m.Code == "unknown_payment":
		// A stored result the gateway does not know (its data was reset):
		// nothing this run can do about it.
		fmt.Fprintf(r.out, "! the gateway does not know a stored payment: %s\n", m.Text)
		return
	}
	if m.Code == "bad_answer" && r.cur == nil && r.answered != nil {
		r.cur = r.answered // the screen stays: it can be answered again
	}
	fmt.Fprintf(r.out, "! the gateway refused: %s: %s\n", m.Code, m.Text)
	if r.script {
		r.fail = fmt.Errorf("the gateway refused: %s: %s", m.Code, m.Text)
	}
}

func (r *termRunner) drawScreen() {
	s := r.cur
	fmt.Fprintf(r.out, "\n== %s ==\n", s.Title)
	for _, l := range s.Lines {
		fmt.Fprintf(r.out, "   %s\n", l)
	}
	switch s.Kind {
	case gateway.ScreenTicket:
		if s.Total != nil && s.Due != nil {
			fmt.Fprintf(r.out, "   TOTAL %s   DÛ %s\n", gateway.FormatCents(*s.Total), gateway.FormatCents(*s.Due))
		}
		r.drawOptions()
	case gateway.ScreenMenu:
		r.drawOptions()
	case gateway.ScreenInput:
		what := "text"
		if s.Input == "numeric" {
			what = "digits"
		}
		fmt.Fprintf(r.out, "   [%s] %s, %d to %d\n", strings.Repeat("_", max(s.Max, 1)), what, s.Min, s.Max)
	case gateway.ScreenMessage:
		fmt.Fprintln(r.out, "   (ok)")
	}
}

func (r *termRunner) drawOptions() {
	for i, o := range r.options() {
		mark := " "
		if i == r.cursor {
			mark = ">"
		}
		fmt.Fprintf(r.out, " %s %d. %s  (%s)\n", mark, i+1, o.Label, o.ID)
	}
}

func (r *termRunner) drawReceipt(lines []string) {
	w := 0
	for _, l := range lines {
		w = max(w, utf8.RuneCountInString(l))
	}
	edge := strings.Repeat("-", w+2)
	fmt.Fprintf(r.out, "\n   .%s.\n", edge)
	for _, l := range lines {
		fmt.Fprintf(r.out, "   | %s%s |\n", l, strings.Repeat(" ", w-utf8.RuneCountInString(l)))
	}
	fmt.Fprintf(r.out, "   '%s'\n", edge)
}

// describe names what the gateway shows, for messages.
func describeShown(m *terminalsim.Message) string {
	switch {
	case m == nil:
		return "nothing"
	case m.Type == "pay":
		return fmt.Sprintf("a card payment of %s %s", gateway.FormatCents(m.Amount+m.Tip), m.Currency)
	case len(m.Lines) > 0 && m.Kind == gateway.ScreenMessage:
		return fmt.Sprintf("the %s screen %q (%s)", m.Kind, m.Title, strings.Join(m.Lines, " "))
	}
	return fmt.Sprintf("the %s screen %q", m.Kind, m.Title)
}
