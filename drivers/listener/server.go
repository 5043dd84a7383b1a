package listener

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
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
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	if cert != nil {
		srv.TLSConfig = serverTLS(cert)
		ln = tls.NewListener(ln, srv.TLSConfig)
	}
	return &Server{srv: srv, ln: ln, log: log}, nil
}

// Addr is the bound address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Run serves until ctx is done, then stops accepting and waits for the
// requests under way (up to ShutdownTimeout).
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
