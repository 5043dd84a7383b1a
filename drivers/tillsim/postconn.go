package tillsim

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// PostConn is one keep-alive HTTP/1.1 connection that POSTs tickets, one
// at a time, from the goroutine that calls Post. The load uses one per
// worker instead of net/http's client: that client hands every request to
// two goroutines of its own per connection (a read loop and a write loop)
// and back, and on a 2-core box shared with the gateway those hand-offs,
// the per-request context, URL parse and header maps cost the load tool
// about five times the CPU per request of a C client such as wrk, CPU taken
// from the gateway it measures (docs/benchmarks.md has the figures).
//
// Only the POST of a ticket goes this way; everything else (the event
// stream, listing) keeps net/http. Over TLS the connection offers
// HTTP/1.1 only.
type PostConn struct {
	c      *Client
	addr   string
	tls    *tls.Config
	header []byte // the request up to "Content-Length: "
	conn   net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
}

// PostConn returns a connection for Post; it dials on first use.
func (c *Client) PostConn() (*PostConn, error) {
	u, err := url.Parse(c.base)
	if err != nil {
		return nil, fmt.Errorf("tillsim: %w", err)
	}
	p := &PostConn{c: c, addr: u.Host}
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "https" {
			port = "443"
		}
		p.addr = net.JoinHostPort(u.Hostname(), port)
	}
	if u.Scheme == "https" {
		conf := &tls.Config{}
		if c.tlsConf != nil {
			conf = c.tlsConf.Clone()
		}
		conf.NextProtos = []string{"http/1.1"}
		if conf.ServerName == "" {
			conf.ServerName = u.Hostname()
		}
		p.tls = conf
	}
	var h bytes.Buffer
	fmt.Fprintf(&h, "POST %s/api/v1/tickets HTTP/1.1\r\nHost: %s\r\nUser-Agent: passerelle-sim\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: ",
		u.EscapedPath(), u.Host, c.key)
	p.header = h.Bytes()
	return p, nil
}

// Close closes the connection, if open.
func (p *PostConn) Close() error {
	if p.conn == nil {
		return nil
	}
	err := p.conn.Close()
	p.conn = nil
	return err
}

// Post sends one ticket and reads the whole answer. A connection that the
// gateway closed while it was idle is redialled once, as net/http does: the
// POST had not reached it.
func (p *PostConn) Post(ctx context.Context, body []byte) (PostResult, error) {
	reused := p.conn != nil
	res, err := p.post(ctx, body)
	if err != nil && reused && ctx.Err() == nil && errors.Is(err, errIdleClosed) {
		res, err = p.post(ctx, body)
	}
	return res, err
}

var errIdleClosed = errors.New("the connection was closed before any answer")

func (p *PostConn) post(ctx context.Context, body []byte) (res PostResult, err error) {
	if err := ctx.Err(); err != nil {
		return PostResult{}, err
	}
	defer func() {
		// The connection's deadline can pass a hair before ctx says it is
		// done: the request was cut by ctx, and says so.
		if d, ok := ctx.Deadline(); err != nil && ok && !time.Now().Before(d) {
			<-ctx.Done()
			err = fmt.Errorf("tillsim: post ticket: %w", ctx.Err())
		}
	}()
	if p.conn == nil {
		if err := p.dial(ctx); err != nil {
			return PostResult{}, fmt.Errorf("tillsim: post ticket: %w", err)
		}
	}
	deadline := time.Now().Add(RequestTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	conn := p.conn // the func below may run after Close has cleared p.conn
	conn.SetDeadline(deadline)
	// The context ends the request by moving the deadline to now.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()

	p.bw.Write(p.header)
	var n [20]byte
	p.bw.Write(strconv.AppendInt(n[:0], int64(len(body)), 10))
	p.bw.WriteString("\r\n\r\n")
	p.bw.Write(body)
	if err := p.bw.Flush(); err != nil {
		p.Close()
		return PostResult{}, fmt.Errorf("tillsim: post ticket: %w", err)
	}
	resp, err := http.ReadResponse(p.br, nil)
	if err != nil {
		p.Close()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			err = fmt.Errorf("%w: %w", errIdleClosed, err)
		}
		return PostResult{}, fmt.Errorf("tillsim: post ticket: %w", err)
	}
	res = PostResult{Status: resp.StatusCode}
	if resp.StatusCode >= 300 {
		res.Problem = problemOf(resp.Body)
	}
	// Read to the end: the next answer starts after it.
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || resp.Close {
		p.Close()
	}
	if err != nil {
		return res, fmt.Errorf("tillsim: read answer: %w", err)
	}
	return res, nil
}

func (p *PostConn) dial(ctx context.Context) error {
	d := net.Dialer{Timeout: RequestTimeout, KeepAlive: 30 * time.Second}
	var (
		conn net.Conn
		err  error
	)
	if p.tls != nil {
		td := tls.Dialer{NetDialer: &d, Config: p.tls}
		conn, err = td.DialContext(ctx, "tcp", p.addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", p.addr)
	}
	if err != nil {
		return err
	}
	p.conn = conn
	if p.br == nil {
		p.br = bufio.NewReaderSize(conn, 4<<10)
		p.bw = bufio.NewWriterSize(conn, 4<<10)
	} else {
		p.br.Reset(conn)
		p.bw.Reset(conn)
	}
	return nil
}
