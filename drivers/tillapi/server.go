package tillapi

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

// Server serves the till API.
type Server struct {
	tickets   *gateway.Tickets
	tills     *gateway.Tills
	events    *gateway.EventLog
	health    HealthFunc
	abort     AbortFunc
	log       *slog.Logger
	heartbeat time.Duration
	openAPI   []byte
	compacted func() int64
	streams   atomic.Int64 // open event streams
	// refusals bounds the log lines of refused keys: someone trying keys
	// must not fill the disk.
	refusals *gateway.LogLimiter
	clock    *gateway.ClockWatch
}

// AbortFunc asks the terminal running a payment to stop it, and reports
// whether the terminal was connected to be asked.
type AbortFunc func(ctx context.Context, paymentID string) (bool, error)

// HealthFunc reports the state /healthz shows.
type HealthFunc func(ctx context.Context) Health

// Health is the body of GET /healthz.
type Health struct {
	Status   string `json:"status"`
	Version  string `json:"version"`
	Store    string `json:"store"`
	Upstream string `json:"upstream"`
	// Down names the gateway's parts that are down, with what is wrong
	// (status is then "degraded" and the answer 503).
	Down map[string]string `json:"down,omitempty"`
}

// Config holds what New needs.
type Config struct {
	Tickets   *gateway.Tickets
	Tills     *gateway.Tills
	Events    *gateway.EventLog
	Health    HealthFunc
	Abort     AbortFunc // optional: DELETE of a ticket being paid asks its terminal to abort
	Log       *slog.Logger
	Heartbeat time.Duration // SSE heartbeat; 15 s when zero
	// OpenAPI is the API's description (docs/openapi.yaml), served without
	// a key at GET /api/v1/openapi.yaml; the route is 404 when nil.
	OpenAPI []byte
	// Compacted is the event log's compaction horizon (optional): a
	// stream may not resume before it (docs/operations.md, Retention).
	Compacted func() int64
	// Clock, optional, hears the Date header of the tills' requests: the
	// admin page warns when the box's clock is off from theirs.
	Clock *gateway.ClockWatch
}

// New returns the till API server.
func New(c Config) *Server {
	hb := c.Heartbeat
	if hb == 0 {
		hb = 15 * time.Second
	}
	return &Server{tickets: c.Tickets, tills: c.Tills, events: c.Events, health: c.Health, abort: c.Abort, log: c.Log, heartbeat: hb, openAPI: c.OpenAPI, compacted: c.Compacted,
		refusals: gateway.NewLogLimiter(10, time.Minute), clock: c.Clock}
}

// Register adds the API's routes to mux: everything under /api/, and
// /healthz.
func (s *Server) Register(mux *http.ServeMux) {
	api := http.NewServeMux()
	api.Handle("POST /api/v1/tickets", s.auth(s.postTicket))
	api.Handle("GET /api/v1/tickets", s.auth(s.listTickets))
	api.Handle("GET /api/v1/tickets/{id}", s.auth(s.getTicket))
	api.Handle("DELETE /api/v1/tickets/{id}", s.auth(s.cancelTicket))
	api.Handle("GET /api/v1/events", s.auth(s.streamEvents))
	api.HandleFunc("GET /healthz", s.healthz)
	if s.openAPI != nil {
		api.HandleFunc("GET /api/v1/openapi.yaml", s.serveOpenAPI)
	}
	h := s.routed(api)
	mux.Handle("/api/", h)
	mux.Handle("/healthz", h)
}

// routedMethods are the methods an Allow header may list, in its order.
var routedMethods = []string{"DELETE", "GET", "HEAD", "PATCH", "POST", "PUT"}

// routed serves a request by api, or, where api has no route for it,
// answers the 404 or 405 that http.ServeMux would answer in text/plain as
// a problem document: every error of the API is one.
func (s *Server) routed(api *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := api.Handler(r); pattern != "" {
			api.ServeHTTP(w, r)
			return
		}
		var allowed []string
		for _, m := range routedMethods {
			other := r.Clone(r.Context())
			other.Method = m
			if _, pattern := api.Handler(other); pattern != "" {
				allowed = append(allowed, m)
			}
		}
		if len(allowed) == 0 {
			writeError(w, s.log, problem(http.StatusNotFound, "not-found", "Not found",
				"no such path in the till API: /api/v1/tickets, /api/v1/tickets/{id}, /api/v1/events, /api/v1/openapi.yaml, /healthz"))
			return
		}
		allow := strings.Join(allowed, ", ")
		w.Header().Set("Allow", allow)
		writeError(w, s.log, problem(http.StatusMethodNotAllowed, "method-not-allowed", "Method not allowed",
			"this path takes "+allow+", not "+strconv.Quote(r.Method)))
	})
}

type tillHandler func(w http.ResponseWriter, r *http.Request, till gateway.Till) error

// auth resolves the bearer key on every request, so a revoked key stops
// working at once.
func (s *Server) auth(h tillHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := bearerKey(r)
		if key == "" {
			s.refused(r, "no bearer key")
			writeError(w, s.log, gateway.ErrUnauthorized)
			return
		}
		till, err := s.tills.Authenticate(r.Context(), key)
		if errors.Is(err, gateway.ErrUnauthorized) {
			s.refused(r, "unknown or revoked key")
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		// Most tills send no Date: ParseTime would try its three formats
		// on "" and build an error for each, on every request.
		if date := r.Header.Get("Date"); date != "" {
			if d, err := http.ParseTime(date); err == nil {
				s.clock.Observe("till "+till.Name, d)
			}
		}
		if err := h(w, r, till); err != nil {
			s.fail(w, r, err)
		}
	})
}

// refused logs a request refused for its key, with the client's address
// and never the key: a few lines a minute, however many come.
func (s *Server) refused(r *http.Request, why string) {
	addr, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		addr = r.RemoteAddr
	}
	s.refusals.Warn(s.log, "key", "till API: request refused: "+why, "addr", addr, "method", r.Method, "path", r.URL.Path)
}

// bearerKey is the key of the Authorization header, or "" (which
// Authenticate refuses). The scheme is case-insensitive (RFC 9110,
// 11.1): "bearer" and "BEARER" are "Bearer".
func bearerKey(r *http.Request) string {
	scheme, key, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(key)
}

// fail answers err, unless the client has hung up, which is no error of the
// gateway's (a shutdown never cancels a request): nobody reads the answer,
// and the till retries if it wants it.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		s.log.Info("client went away before the answer", "method", r.Method, "path", r.URL.Path)
		return
	}
	writeError(w, s.log, err)
}

func (s *Server) postTicket(w http.ResponseWriter, r *http.Request, till gateway.Till) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	in, err := DecodeTicket(body)
	if err != nil {
		return err
	}
	t, res, err := s.tickets.Submit(r.Context(), till, in)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if res == gateway.Created {
		status = http.StatusCreated
	}
	if t.Encoded != nil {
		// Encoded for its event in the same transaction: the same bytes
		// as writeJSON's, without encoding the ticket twice.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(append(t.Encoded, '\n'))
		return nil
	}
	writeJSON(w, status, t)
	return nil
}

func (s *Server) getTicket(w http.ResponseWriter, r *http.Request, till gateway.Till) error {
	t, err := s.tickets.Get(r.Context(), till, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

// cancelTicket cancels a ticket. While a payment of it is in progress the
// answer is 409, as the spec says, and the terminal is asked to abort the
// payment (the spec's "the till, by cancelling the ticket"): once the
// terminal reports it cancelled, the till's retry succeeds.
func (s *Server) cancelTicket(w http.ResponseWriter, r *http.Request, till gateway.Till) error {
	t, err := s.tickets.Cancel(r.Context(), till, r.PathValue("id"))
	var cerr *gateway.ConflictError
	if errors.As(err, &cerr) && cerr.PaymentID != "" && s.abort != nil {
		asked, aerr := s.abort(r.Context(), cerr.PaymentID)
		p := problem(http.StatusConflict, "conflict", "Conflict", cerr.Reason+": the terminal was asked to abort it; cancel again once it has ended")
		if aerr != nil || !asked {
			p.Detail = cerr.Reason + ": its terminal is not connected to abort it"
		}
		return p
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

// List limits, from the spec.
const (
	DefaultListLimit = 100
	MaxListLimit     = 1000
)

type ticketList struct {
	Tickets    []listedTicket `json:"tickets"`
	NextCursor string         `json:"next_cursor,omitempty"`
}

// listedTicket is a ticket as a list page shows it: without its payments,
// which the list does not read (GET /api/v1/tickets/{id} has them). The
// field is left out rather than sent empty: "payments": [] on a paid ticket
// would say it has none.
type listedTicket struct {
	gateway.Ticket
	Payments []gateway.Payment `json:"payments,omitempty"` // always nil: hides the ticket's
}

func (s *Server) listTickets(w http.ResponseWriter, r *http.Request, till gateway.Till) error {
	q, err := parseListQuery(r)
	if err != nil {
		return err
	}
	ts, err := s.tickets.List(r.Context(), till, q)
	if errors.Is(err, gateway.ErrUnknownCursor) {
		return badQuery("cursor", "not a cursor this gateway gave")
	}
	if err != nil {
		return err
	}
	out := ticketList{Tickets: make([]listedTicket, len(ts))}
	for i, t := range ts {
		out.Tickets[i] = listedTicket{Ticket: t}
	}
	// The cursor names the page's last ticket, and the store pages in its
	// own order (seq) from there: never in ID order, which follows the wall
	// clock.
	if len(ts) == q.Limit {
		out.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(ts[len(ts)-1].ID))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func parseListQuery(r *http.Request) (gateway.TicketQuery, error) {
	v := r.URL.Query()
	q := gateway.TicketQuery{Table: v.Get("table"), Ref: v.Get("ref"), Limit: DefaultListLimit}
	bad := badQuery
	for _, st := range v["status"] {
		if !gateway.ValidTicketStatus(st) {
			return q, bad("status", "unknown status "+strconv.Quote(st))
		}
		q.Statuses = append(q.Statuses, gateway.TicketStatus(st))
	}
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > MaxListLimit {
			return q, bad("limit", "must be between 1 and "+strconv.Itoa(MaxListLimit))
		}
		q.Limit = n
	}
	if since := v.Get("since"); since != "" {
		t, err := time.Parse(time.RFC3339Nano, since)
		if err != nil {
			return q, bad("since", "must be an RFC 3339 time")
		}
		q.Since = t
	}
	if c := v.Get("cursor"); c != "" {
		id, err := base64.RawURLEncoding.DecodeString(c)
		if err != nil || !strings.HasPrefix(string(id), "tkt_") {
			return q, bad("cursor", "not a cursor this gateway gave")
		}
		q.After = string(id)
	}
	return q, nil
}

// badQuery is a 400 naming the query parameter at fault.
func badQuery(field, msg string) error {
	p := problem(http.StatusBadRequest, "bad-query", "Invalid query", field+": "+msg)
	p.Errors = []gateway.FieldError{{Field: field, Message: msg}}
	return p
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	h := s.health(r.Context())
	status := http.StatusOK
	if h.Status != "ok" {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, h)
}

// serveOpenAPI serves the API's description, for a till vendor's client
// generator: it holds no secret, so it takes no key.
func (s *Server) serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	w.Header().Set("Content-Length", strconv.Itoa(len(s.openAPI)))
	w.Write(s.openAPI)
}

// OpenStreams is the number of event streams open now (for the metrics).
func (s *Server) OpenStreams() int { return int(s.streams.Load()) }
