package listener

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Timeouts of the server. There is no WriteTimeout: the event stream and the
// terminals' WebSockets are long-lived and set their own write deadlines.
const (
	ReadHeaderTimeout = 10 * time.Second
	ReadTimeout       = 30 * time.Second
	IdleTimeout       = 120 * time.Second
	MaxHeaderBytes    = 32 << 10
	ShutdownTimeout   = 10 * time.Second
)

// Server is the gateway's HTTP(S) server.
type Server struct {
	srv *http.Server
	ln  net.Listener
	log *slog.Logger
}

// Listen binds addr; with cert non-nil it serves TLS. Binding here, before
// Serve, lets the caller log the real address (":0" in tests).
func Listen(ctx context.Context, addr string, cert *tls.Certificate, h http.Handler, log *slog.Logger) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listener: %w", err)
	}
	st := &streams{cancels: map[*streamWriter]context.CancelFunc{}}
	srv := &http.Server{
		Handler:           st.wrap(h),
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		// The run's values, not its cancellation: a stop lets the requests
		// under way finish (a till's POST its commit) within the grace,
		// rather than answering them 500.
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ErrorLog:    slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	srv.RegisterOnShutdown(st.end)
	if cert != nil {
		srv.TLSConfig = serverTLS(cert)
		ln = tls.NewListener(ln, srv.TLSConfig)
	}
	return &Server{srv: srv, ln: ln, log: log}, nil
}

// Addr is the bound address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Run serves until ctx is done, then stops accepting, ends the event
// streams and waits for the other requests under way (up to
// ShutdownTimeout). The caller closes the store after Run has returned.
func (s *Server) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("listener: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	err := s.srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		s.log.Warn("requests still running at shutdown were cut off")
		err = s.srv.Close()
	}
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		return errors.Join(err, serr)
	}
	return err
}

// streams ends the event streams when the shutdown begins. An event stream
// never finishes by itself: draining would wait for it until the grace ends
// and then cut it off. Its context is cancelled instead, it ends cleanly, and
// its client reconnects (with Last-Event-ID) to the next process. Every
// other request keeps its context and finishes.
type streams struct {
	mu      sync.Mutex
	ending  bool
	cancels map[*streamWriter]context.CancelFunc
}

func (s *streams) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		sw := &streamWriter{ResponseWriter: w, s: s, cancel: cancel}
		defer s.forget(sw)
		next.ServeHTTP(sw, r.WithContext(ctx))
	})
}

// add follows a response that turned out to be an event stream.
func (s *streams) add(w *streamWriter) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ending {
		w.cancel()
		return
	}
	s.cancels[w] = w.cancel
}

func (s *streams) forget(w *streamWriter) {
	s.mu.Lock()
	delete(s.cancels, w)
	s.mu.Unlock()
}

// end is called when the shutdown begins.
func (s *streams) end() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ending = true
	for w, cancel := range s.cancels {
		cancel()
		delete(s.cancels, w)
	}
}

// streamWriter tells streams when its response is an event stream. It
// keeps what the handlers need of the server's writer: Flush and Hijack
// (the terminals' WebSockets), and Unwrap for http.ResponseController.
type streamWriter struct {
	http.ResponseWriter
	s      *streams
	cancel context.CancelFunc
	wrote  bool
}

func (w *streamWriter) WriteHeader(code int) {
	if !w.wrote && code >= 200 {
		w.wrote = true
		if mt, _, err := mime.ParseMediaType(w.Header().Get("Content-Type")); err == nil && mt == "text/event-stream" {
			w.s.add(w)
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *streamWriter) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

func (w *streamWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *streamWriter) Flush() { w.FlushError() }

func (w *streamWriter) FlushError() error {
	return http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *streamWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// HostCheck refuses requests whose Host header is not an IP address,
// localhost, or one of the names given (the box's own names). A web page on
// another site cannot then reach the gateway through a DNS name that it
// rebinds to the shop's LAN address.
func HostCheck(names []string, next http.Handler) http.Handler {
	allowed := map[string]bool{"localhost": true}
	for _, n := range names {
		allowed[strings.ToLower(strings.TrimSuffix(n, "."))] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
		if net.ParseIP(host) == nil && !allowed[host] {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusMisdirectedRequest)
			fmt.Fprintf(w, `{"type":"urn:passerelle:problem:bad-host","title":"Unknown host","status":421,"detail":"this gateway does not answer to that host name; add it to allowed_hosts in the configuration"}`+"\n")
			return
		}
		next.ServeHTTP(w, r)
	})
}
