package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/sync/wire"
)

// Server is the hub's HTTP API (spec/sync.md).
type Server struct {
	db     *DB
	log    *slog.Logger
	decode func(body []byte) (gateway.TicketInput, error)
	rules  func() gateway.Rules
	orders *notifier
	poll   time.Duration
}

// Config holds what NewServer needs.
type Config struct {
	DB  *DB
	Log *slog.Logger
	// DecodeOrder reads a web shop's order as the till API reads a
	// ticket (the wiring passes the till API's own decoder); its errors
	// are *RequestError or the gateway's. A plain strict decoder if nil.
	DecodeOrder func(body []byte) (gateway.TicketInput, error)
	// Rules checks orders: the till API's validation, with the default
	// shop's currency and VAT rates unless given.
	Rules func() gateway.Rules
	// OrdersPoll is how often a long poll looks at the database for
	// orders that another hub process took (1 s when zero).
	OrdersPoll time.Duration
}

// RequestError is a request refused before it reaches the core, with its
// status (400, 413, 422) and the fields at fault.
type RequestError struct {
	Status int
	Title  string
	Detail string
	Fields []gateway.FieldError
}

func (e *RequestError) Error() string { return e.Title + ": " + e.Detail }

// NewServer returns the API.
func NewServer(c Config) *Server {
	s := &Server{db: c.DB, log: c.Log, decode: c.DecodeOrder, rules: c.Rules, orders: newNotifier(), poll: c.OrdersPoll}
	if s.decode == nil {
		s.decode = decodeOrder
	}
	if s.rules == nil {
		s.rules = gateway.DefaultConfig().Rules
	}
	if s.poll == 0 {
		s.poll = time.Second
	}
	return s
}

// Handler returns the API's routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.Handle("POST /api/v1/stores/{id}/events", s.auth(s.postEvents))
	mux.Handle("GET /api/v1/stores", s.auth(s.listStores))
	mux.Handle("GET /api/v1/stores/{id}/payments", s.auth(s.listPayments))
	mux.Handle("POST /api/v1/stores/{id}/orders", s.auth(s.postOrder))
	mux.Handle("GET /api/v1/stores/{id}/orders", s.auth(s.pullOrders))
	mux.Handle("GET /api/v1/stores/{id}/orders/{ref}", s.auth(s.getOrder))
	mux.Handle("DELETE /api/v1/stores/{id}/orders/{ref}", s.auth(s.cancelOrder))
	mux.Handle("POST /api/v1/stores/{id}/reconciliation", s.auth(s.postReconciliation))
	return mux
}

type handler func(w http.ResponseWriter, r *http.Request, p Principal) error

// auth resolves the bearer key at every request and maps the handler's
// error to problem+json: the one place errors become statuses.
func (s *Server) auth(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		var err error
		var p Principal
		if !ok {
			err = ErrUnauthorized
		} else {
			p, err = s.db.Authenticate(r.Context(), strings.TrimSpace(key))
		}
		if err == nil {
			err = h(w, r, p)
		}
		if err != nil {
			s.problem(w, r, err)
		}
	})
}

// problem writes err as problem+json.
func (s *Server) problem(w http.ResponseWriter, r *http.Request, err error) {
	status, title := http.StatusInternalServerError, "Internal error"
	var gap *GapError
	var rerr *RequestError
	var verr *gateway.ValidationError
	var cerr *gateway.ConflictError
	var fields []gateway.FieldError
	switch {
	case errors.As(err, &gap):
		writeJSON(w, http.StatusConflict, wire.Ack{AckedThrough: gap.AckedThrough})
		return
	case errors.As(err, &rerr):
		status, title, fields = rerr.Status, rerr.Title, rerr.Fields
	case errors.As(err, &verr):
		status, title, fields = http.StatusUnprocessableEntity, "Invalid order", verr.Fields
	case errors.As(err, &cerr):
		status, title = http.StatusConflict, "Conflict"
	case errors.Is(err, ErrUnauthorized):
		status, title = http.StatusUnauthorized, "Unknown or revoked key"
		w.Header().Set("WWW-Authenticate", `Bearer realm="passerelle-hub"`)
	case errors.Is(err, ErrForbidden):
		status, title = http.StatusForbidden, "Not allowed for this key"
	case errors.Is(err, ErrNotFound):
		status, title = http.StatusNotFound, "Not found"
	case errors.Is(err, wire.ErrBatch), errors.Is(err, ErrInvalid):
		status, title = http.StatusBadRequest, "Bad request"
	case errors.Is(err, errTooLarge), errors.Is(err, wire.ErrTooLarge):
		status, title = http.StatusRequestEntityTooLarge, "Too large"
	case errors.Is(err, context.Canceled):
		return // the client is gone
	}
	detail := err.Error()
	if status == http.StatusInternalServerError {
		s.log.Error("hub: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		detail = "the hub could not do it; it has logged why"
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	doc := map[string]any{"type": "about:blank", "title": title, "status": status, "detail": detail}
	if len(fields) > 0 {
		doc["errors"] = fields
	}
	json.NewEncoder(w).Encode(doc)
}

var errTooLarge = errors.New("hub: the body is larger than a batch may be")

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if err := s.db.Ping(r.Context()); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "database": "error"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "database": "ok"})
}

// ownStore checks that a store key acts for its own store.
func ownStore(p Principal, id string) error {
	if p.Role != RoleStore || p.StoreID != id {
		return ErrForbidden
	}
	return nil
}

func (s *Server) postEvents(w http.ResponseWriter, r *http.Request, p Principal) error {
	id := r.PathValue("id")
	if err := ownStore(p, id); err != nil {
		return err
	}
	if r.ContentLength > wire.MaxBatchBytes {
		return errTooLarge
	}
	b, err := wire.DecodeBatch(http.MaxBytesReader(w, r.Body, wire.MaxBatchBytes+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errTooLarge
		}
		return err
	}
	acked, err := s.db.Ingest(r.Context(), id, b)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wire.Ack{AckedThrough: acked})
	return nil
}

func (s *Server) listStores(w http.ResponseWriter, r *http.Request, p Principal) error {
	if p.Role != RoleRead {
		return ErrForbidden
	}
	stores, err := s.db.Stores(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"stores": stores})
	return nil
}

func (s *Server) listPayments(w http.ResponseWriter, r *http.Request, p Principal) error {
	if p.Role != RoleRead {
		return ErrForbidden
	}
	pays, err := s.db.Payments(r.Context(), r.PathValue("id"), r.URL.Query().Get("day"))
	if err != nil {
		return fmt.Errorf("payments: %w", err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"payments": pays})
	return nil
}
