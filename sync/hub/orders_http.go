package hub

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

// Limits of the orders API.
const (
	MaxOrderBytes = 256 << 10 // as the till API's tickets
	MaxPullOrders = 100       // orders per pull
	MaxWait       = 25 * time.Second
)

// decodeOrder is the default strict decoder of an order.
func decodeOrder(body []byte) (gateway.TicketInput, error) {
	var in gateway.TicketInput
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return in, &RequestError{Status: http.StatusBadRequest, Title: "Malformed JSON", Detail: err.Error()}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return in, &RequestError{Status: http.StatusBadRequest, Title: "Malformed JSON", Detail: "data after the order"}
	}
	return in, nil
}

// webshopOf checks that a web shop key acts for its own store.
func webshopOf(p Principal, id string) error {
	if p.Role != RoleWebshop || p.StoreID != id {
		return ErrForbidden
	}
	return nil
}

func (s *Server) postOrder(w http.ResponseWriter, r *http.Request, p Principal) error {
	id := r.PathValue("id")
	if err := webshopOf(p, id); err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxOrderBytes))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errTooLarge
	}
	if err != nil {
		return &RequestError{Status: http.StatusBadRequest, Title: "Unreadable body", Detail: err.Error()}
	}
	in, err := s.decode(body)
	if err != nil {
		return err
	}
	if err := s.rules().Validate(&in); err != nil {
		return err
	}
	v, res, err := s.db.PutOrder(r.Context(), id, in)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if res == gateway.Created {
		status = http.StatusCreated
	}
	if res != gateway.Unchanged {
		s.orders.wake()
	}
	writeJSON(w, status, v)
	return nil
}

func (s *Server) getOrder(w http.ResponseWriter, r *http.Request, p Principal) error {
	id := r.PathValue("id")
	if p.Role != RoleRead {
		if err := webshopOf(p, id); err != nil {
			return err
		}
	}
	v, err := s.db.Order(r.Context(), id, r.PathValue("ref"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) cancelOrder(w http.ResponseWriter, r *http.Request, p Principal) error {
	id := r.PathValue("id")
	if err := webshopOf(p, id); err != nil {
		return err
	}
	v, err := s.db.CancelOrder(r.Context(), id, r.PathValue("ref"))
	if err != nil {
		return err
	}
	s.orders.wake()
	writeJSON(w, http.StatusOK, v)
	return nil
}

// pullOrders is the gateway's pull: the orders changed after the cursor,
// waiting up to wait seconds (at most 25) for one when there is none.
func (s *Server) pullOrders(w http.ResponseWriter, r *http.Request, p Principal) error {
	id := r.PathValue("id")
	if err := ownStore(p, id); err != nil {
		return err
	}
	q := r.URL.Query()
	var after int64
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("%w: after must be a cursor this hub gave", ErrInvalid)
		}
		after = n
	}
	var wait time.Duration
	if v := q.Get("wait"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("%w: wait is a number of seconds", ErrInvalid)
		}
		wait = min(time.Duration(n)*time.Second, MaxWait)
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		woken := s.orders.wait()
		orders, cursor, err := s.db.OrdersAfter(r.Context(), id, after, MaxPullOrders)
		if err != nil {
			return err
		}
		if len(orders) > 0 || wait == 0 {
			writeJSON(w, http.StatusOK, map[string]any{"orders": orders, "cursor": strconv.FormatInt(cursor, 10)})
			return nil
		}
		poll := time.NewTimer(s.poll) // another hub process may have taken one
		select {
		case <-woken:
		case <-poll.C:
		case <-deadline.C:
			wait = 0
		case <-r.Context().Done():
			poll.Stop()
			return r.Context().Err()
		}
		poll.Stop()
	}
}

// notifier wakes the long polls of this process when an order changes.
type notifier struct {
	mu sync.Mutex
	ch chan struct{}
}

func newNotifier() *notifier { return &notifier{ch: make(chan struct{})} }

func (n *notifier) wait() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.ch
}

func (n *notifier) wake() {
	n.mu.Lock()
	close(n.ch)
	n.ch = make(chan struct{})
	n.mu.Unlock()
}

func (s *Server) postReconciliation(w http.ResponseWriter, r *http.Request, p Principal) error {
	if p.Role != RoleRead {
		return ErrForbidden
	}
	day := r.URL.Query().Get("day")
	if err := checkDay(day); err != nil {
		return err
	}
	lines, err := ParseTelecollecte(http.MaxBytesReader(w, r.Body, MaxTelecollecteBytes+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errTooLarge
		}
		var pe *ParseError
		if errors.As(err, &pe) {
			return &RequestError{Status: http.StatusUnprocessableEntity, Title: "Malformed télécollecte file", Detail: pe.Error(),
				Fields: []gateway.FieldError{{Field: fmt.Sprintf("line %d", pe.Line) + colSuffix(pe.Column), Message: pe.Msg}}}
		}
		return err
	}
	res, err := s.db.Reconcile(r.Context(), r.PathValue("id"), day, lines)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func colSuffix(c string) string {
	if c == "" {
		return ""
	}
	return ", column " + c
}
