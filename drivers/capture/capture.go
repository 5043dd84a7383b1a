package capture

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/passerelle/passerelle/drivers/escpos"
	"github.com/passerelle/passerelle/drivers/notes"
	"github.com/passerelle/passerelle/gateway"
)

// Limits of a capture printer. Every one is in docs/capture.md.
type Limits struct {
	Decode          escpos.Limits // what is kept of one job to read it
	MaxConnBytes    int64         // bytes of one connection the spool takes
	MaxSpoolBytes   int64         // bytes waiting in the spool
	MaxSpoolFiles   int           // connections waiting in the spool
	IdleTimeout     time.Duration // a till silent this long has finished its job
	MaxConnsPerTill int           // connections from one address at once (waiting included)
	MaxQueued       int           // connections waiting for the printer, all tills
	DialTimeout     time.Duration // to reach the printer before spooling
	WriteTimeout    time.Duration // for the printer to take a chunk
	DrainTimeout    time.Duration // for the printer to close after the last byte
	RetryMin        time.Duration // first wait before trying an offline printer again
	RetryMax        time.Duration
}

// DefaultLimits are a restaurant's: notes of a few kilobytes, a logo,
// a printer that is switched off for the night or out of paper.
var DefaultLimits = Limits{
	Decode:          escpos.DefaultLimits,
	MaxConnBytes:    8 << 20,
	MaxSpoolBytes:   64 << 20,
	MaxSpoolFiles:   1000,
	IdleTimeout:     30 * time.Second,
	MaxConnsPerTill: 4,
	MaxQueued:       16,
	DialTimeout:     time.Second,
	WriteTimeout:    10 * time.Second,
	DrainTimeout:    5 * time.Second,
	RetryMin:        500 * time.Millisecond,
	RetryMax:        30 * time.Second,
}

// SubmitFunc creates or updates a ticket read from a note, under the till
// named till (gateway.Tickets.SubmitCapture).
type SubmitFunc func(ctx context.Context, till string, in gateway.TicketInput) (gateway.Ticket, gateway.SubmitResult, error)

// Config is what a capture printer needs.
type Config struct {
	Printer   gateway.CapturePrinter
	Dir       string // its folder: spool, jobs, state
	Template  *notes.Template
	CodePages *escpos.CodePages
	Submit    SubmitFunc
	Log       *slog.Logger
	Limits    Limits
	Now       func() time.Time
}

// Capture is one capture printer.
type Capture struct {
	cfg   Config
	cp    *escpos.CodePage
	spool *spool
	jobs  *jobLog
	log   *slog.Logger

	sem  chan struct{} // one connection to the printer at a time
	wake chan struct{} // a file is in the spool
	work chan escpos.Job

	mu       sync.Mutex
	perAddr  map[string]int
	online   *bool
	lastErr  string
	read     int
	cardJobs int
	dropped  int
}

// New checks cfg and opens the printer's folder.
func New(cfg Config) (*Capture, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cp := cfg.CodePages.ByName(cfg.Printer.CodePage)
	if cfg.Printer.CodePage == "" {
		cp = cfg.CodePages.ByName("cp858")
	}
	if cp == nil {
		return nil, fmt.Errorf("capture %s: unknown code page %q", cfg.Printer.Name, cfg.Printer.CodePage)
	}
	sp, err := openSpool(filepath.Join(cfg.Dir, "spool"), cfg.Limits.MaxSpoolBytes, cfg.Limits.MaxSpoolFiles)
	if err != nil {
		return nil, err
	}
	jl, err := openJobLog(cfg.Dir)
	if err != nil {
		return nil, err
	}
	c := &Capture{cfg: cfg, cp: cp, spool: sp, jobs: jl, log: cfg.Log.With("capture", cfg.Printer.Name),
		sem: make(chan struct{}, 1), wake: make(chan struct{}, 1), work: make(chan escpos.Job, 64),
		perAddr: map[string]int{}}
	if u := sp.uncertain(); len(u) > 0 {
		c.log.Warn("jobs were being sent to the printer when the gateway stopped: they are not sent again", "files", u)
	}
	return c, nil
}

// Run listens on the configured address until ctx is done.
func (c *Capture) Run(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", c.cfg.Printer.Listen)
	if err != nil {
		return fmt.Errorf("capture %s: %w", c.cfg.Printer.Name, err)
	}
	return c.Serve(ctx, ln)
}

// Serve takes the till's connections on ln until ctx is done, and closes ln.
func (c *Capture) Serve(ctx context.Context, ln net.Listener) error {
	c.log.Info("capture listening", "listen", ln.Addr().String(), "forward", c.cfg.Printer.Forward, "till", c.cfg.Printer.Till)
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Go(func() { c.forward(ctx) })
	wg.Go(func() { c.process(ctx) })
	queue := make(chan net.Conn, c.cfg.Limits.MaxQueued)
	wg.Go(func() { c.serveQueue(ctx, queue) })
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("capture %s: %w", c.cfg.Printer.Name, err)
		}
		if !c.admit(conn) {
			continue
		}
		select {
		case queue <- conn:
		default:
			c.log.Warn("too many connections wait for the printer: one refused", "limit", cap(queue))
			c.leave(conn)
		}
	}
}

// serveQueue handles the connections one at a time, in the order they
// came: a till's jobs print in the order it sent them.
func (c *Capture) serveQueue(ctx context.Context, queue chan net.Conn) {
	for {
		select {
		case conn := <-queue:
			c.handle(ctx, conn)
			c.leave(conn)
		case <-ctx.Done():
			for {
				select {
				case conn := <-queue:
					c.leave(conn)
				default:
					return
				}
			}
		}
	}
}

// admit counts conn against its address's limit, or closes it.
func (c *Capture) admit(conn net.Conn) bool {
	host, _, _ := net.SplitHostPort(conn.RemoteAddr().String())
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.perAddr[host] >= c.cfg.Limits.MaxConnsPerTill {
		c.log.Warn("a till opened too many connections: one refused", "addr", host, "limit", c.cfg.Limits.MaxConnsPerTill)
		conn.Close()
		return false
	}
	c.perAddr[host]++
	return true
}

func (c *Capture) leave(conn net.Conn) {
	conn.Close()
	host, _, _ := net.SplitHostPort(conn.RemoteAddr().String())
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.perAddr[host]--; c.perAddr[host] <= 0 {
		delete(c.perAddr, host)
	}
}

// handle serves one till connection, holding the printer.
func (c *Capture) handle(ctx context.Context, conn net.Conn) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return
	}
	defer func() { <-c.sem }()
	dec := escpos.NewDecoder(c.cfg.CodePages, c.cp, c.cfg.Limits.Decode, func(j escpos.Job) {
		// Pass-through first: a job is never waited for. With 64 jobs
		// not yet read (a store that stalls), the next is printed but
		// not read, and the log says so.
		select {
		case c.work <- j:
		default:
			c.mu.Lock()
			c.dropped++
			c.mu.Unlock()
			c.log.Warn("jobs come faster than they are read: one is printed but not read", "queued", cap(c.work))
		}
	})
	defer dec.Close()
	if c.cfg.Printer.Forward == "" {
		c.captureOnly(conn, dec)
		return
	}
	if n, _ := c.spool.waiting(); n == 0 {
		up, err := c.dial(ctx)
		if err == nil {
			c.passThrough(ctx, conn, up, dec)
			return
		}
	}
	c.spoolConn(conn, dec, nil)
}

func (c *Capture) dial(ctx context.Context) (net.Conn, error) {
	d := net.Dialer{Timeout: c.cfg.Limits.DialTimeout}
	up, err := d.DialContext(ctx, "tcp", c.cfg.Printer.Forward)
	c.setOnline(err)
	return up, err
}

// read reads the next chunk from the till; io.EOF when it has finished
// (closed, or silent for the idle timeout).
func (c *Capture) readTill(conn net.Conn, buf []byte) (int, error) {
	_ = conn.SetReadDeadline(time.Now().Add(c.cfg.Limits.IdleTimeout))
	n, err := conn.Read(buf)
	var ne net.Error
	if err != nil && errors.As(err, &ne) && ne.Timeout() {
		err = io.EOF
	}
	return n, err
}

// passThrough forwards the till's bytes to the printer as they come, and
// the printer's to the till. If the printer fails, the rest goes to the
// spool.
func (c *Capture) passThrough(ctx context.Context, conn, up net.Conn, dec *escpos.Decoder) {
	answers := make(chan struct{})
	go func() {
		defer close(answers)
		_, _ = io.Copy(conn, up) // status answers, until the printer closes
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := c.readTill(conn, buf)
		if n > 0 {
			_ = up.SetWriteDeadline(time.Now().Add(c.cfg.Limits.WriteTimeout))
			if _, werr := up.Write(buf[:n]); werr != nil {
				c.setOnline(werr)
				c.log.Warn("the printer failed during a job: the rest of it goes to the spool", "err", werr)
				up.Close()
				<-answers
				c.spoolConn(conn, dec, buf[:n])
				return
			}
			_, _ = dec.Write(buf[:n])
		}
		if err != nil {
			break
		}
	}
	// The till has finished: tell the printer, and let it close after
	// the last byte (closing first could reset what it has not read).
	if tc, ok := up.(interface{ CloseWrite() error }); ok {
		_ = tc.CloseWrite()
	}
	_ = up.SetReadDeadline(time.Now().Add(c.cfg.Limits.DrainTimeout))
	select {
	case <-answers:
	case <-ctx.Done():
	}
	up.Close()
}

// spoolConn keeps the connection's bytes (first, then the rest) in the
// spool for the forwarder.
func (c *Capture) spoolConn(conn net.Conn, dec *escpos.Decoder, first []byte) {
	p, err := c.spool.create()
	if err != nil {
		c.log.Error("the printer is offline and the spool is full: a job is refused", "err", err)
		return
	}
	total := int64(0)
	write := func(b []byte) bool {
		total += int64(len(b))
		if total > c.cfg.Limits.MaxConnBytes {
			c.log.Error("a job is larger than the spool takes: it is dropped", "limit", c.cfg.Limits.MaxConnBytes)
			return false
		}
		if _, err := p.Write(b); err != nil {
			c.log.Error("the spool cannot take a job: it is dropped", "err", err)
			return false
		}
		_, _ = dec.Write(b)
		return true
	}
	if len(first) > 0 && !write(first) {
		p.abort()
		return
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := c.readTill(conn, buf)
		if n > 0 && !write(buf[:n]) {
			p.abort()
			return
		}
		if err != nil {
			break
		}
	}
	if err := p.commit(); err != nil {
		c.log.Error("a job could not be kept in the spool", "err", err)
		return
	}
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// captureOnly reads the till's bytes for the notes, with no printer.
func (c *Capture) captureOnly(conn net.Conn, dec *escpos.Decoder) {
	buf := make([]byte, 32<<10)
	for {
		n, err := c.readTill(conn, buf)
		_, _ = dec.Write(buf[:n])
		if err != nil {
			return
		}
	}
}

// forward sends the spool's files, in order, whenever the printer answers.
func (c *Capture) forward(ctx context.Context) {
	if c.cfg.Printer.Forward == "" {
		return
	}
	wait := c.cfg.Limits.RetryMin
	for {
		if c.spool.oldest() == "" {
			select {
			case <-c.wake:
			case <-ctx.Done():
				return
			}
		}
		select {
		case c.sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		err := c.sendSpool(ctx)
		<-c.sem
		if err == nil {
			wait = c.cfg.Limits.RetryMin
			continue
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return
		}
		wait = min(2*wait, c.cfg.Limits.RetryMax)
	}
}

// sendSpool sends every waiting file, oldest first, until one fails.
func (c *Capture) sendSpool(ctx context.Context) error {
	for name := c.spool.oldest(); name != ""; name = c.spool.oldest() {
		up, err := c.dial(ctx)
		if err != nil {
			return err
		}
		err = c.spool.send(name, func(r io.Reader) error {
			defer up.Close()
			_ = up.SetWriteDeadline(time.Now().Add(c.cfg.Limits.WriteTimeout))
			if _, err := io.Copy(up, r); err != nil {
				c.setOnline(err)
				return err
			}
			if tc, ok := up.(interface{ CloseWrite() error }); ok {
				_ = tc.CloseWrite()
			}
			_ = up.SetReadDeadline(time.Now().Add(c.cfg.Limits.DrainTimeout))
			_, _ = io.Copy(io.Discard, up)
			return nil
		})
		if err != nil {
			return err
		}
		c.log.Info("a spooled job was printed", "file", name)
	}
	return nil
}

func (c *Capture) setOnline(err error) {
	on := err == nil
	c.mu.Lock()
	changed := c.online == nil || *c.online != on
	c.online = &on
	if err != nil {
		c.lastErr = err.Error()
	}
	c.mu.Unlock()
	if changed {
		if on {
			c.log.Info("the printer answers")
		} else {
			c.log.Warn("the printer does not answer: jobs wait in the spool", "err", err)
		}
		c.saveState()
	}
}

// Status is what the admin page and `passerelle capture list` show.
type Status struct {
	Name         string `json:"name"`
	Listen       string `json:"listen"`
	Forward      string `json:"forward,omitempty"`
	Till         string `json:"till"`
	Template     string `json:"template"`
	Online       *bool  `json:"online,omitempty"` // unknown until the printer is tried
	Waiting      int    `json:"waiting"`
	WaitingBytes int64  `json:"waiting_bytes"`
	Uncertain    int    `json:"uncertain,omitempty"` // being sent when the gateway stopped
	Read         int    `json:"read"`                // jobs read since the start
	CardJobs     int    `json:"card_jobs,omitempty"` // jobs with a card number, not kept
	NotRead      int    `json:"not_read,omitempty"`  // printed while 64 jobs waited to be read
	LastError    string `json:"last_error,omitempty"`
}

// Status returns the printer's state now.
func (c *Capture) Status() Status {
	n, b := c.spool.waiting()
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.cfg.Printer
	return Status{Name: p.Name, Listen: p.Listen, Forward: p.Forward, Till: p.Till, Template: c.cfg.Template.Name,
		Online: c.online, Waiting: n, WaitingBytes: b, Uncertain: len(c.spool.uncertain()), LastError: c.lastErr,
		Read: c.read, CardJobs: c.cardJobs, NotRead: c.dropped}
}

const stateFile = "state.json"

// saveState writes the printer's state for `passerelle capture list`.
func (c *Capture) saveState() {
	b, _ := json.Marshal(struct {
		Online *bool     `json:"online"`
		At     time.Time `json:"at"`
	}{c.Status().Online, c.cfg.Now().UTC()})
	tmp := filepath.Join(c.cfg.Dir, stateFile+".tmp")
	if os.WriteFile(tmp, b, 0o600) == nil {
		_ = os.Rename(tmp, filepath.Join(c.cfg.Dir, stateFile))
	}
}

// ReadOnline reads the printer's last known state from its folder: nil
// when the gateway never tried it.
func ReadOnline(dir string) *bool {
	var s struct {
		Online *bool `json:"online"`
	}
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil || json.Unmarshal(b, &s) != nil {
		return nil
	}
	return s.Online
}

// WaitingFiles counts the spooled jobs in a printer's folder.
func WaitingFiles(dir string) int {
	m, _ := filepath.Glob(filepath.Join(dir, "spool", "*"+extJob))
	return len(m)
}
