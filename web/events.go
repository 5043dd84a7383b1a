package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// The live stream of the admin page (GET /admin/events) tells an open page
// that something changed, and the page fetches itself again: the server
// renders every figure, and the stream carries no shop data beyond what
// changed and its kind.
//
//	event: change      data: {"seq":12,"type":"ticket.created","ticket_id":"tkt_..."}
//	event: terminals   data: {"online":2}      (a terminal came or went)
//	event: expired                             (the session ended: log in again)
//
// A comment is sent every heartbeat; at each, the session is checked again.

// eventWriteTimeout drops a page that stopped reading.
const eventWriteTimeout = 30 * time.Second

type changeEvent struct {
	Seq      int64  `json:"seq"`
	Type     string `json:"type"`
	TicketID string `json:"ticket_id,omitempty"`
}

func (s *Server) events(w http.ResponseWriter, r *http.Request, q *req) error {
	ctx := r.Context()
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(format string, args ...any) error {
		rc.SetWriteDeadline(time.Now().Add(eventWriteTimeout))
		if _, err := fmt.Fprintf(w, format, args...); err != nil {
			return err
		}
		return rc.Flush()
	}
	if send("retry: 3000\n: passerelle admin\n\n") != nil {
		return nil
	}
	after := s.c.Events.Last()
	online := s.onlineIDs()
	beat := time.Now()
	for {
		wctx, cancel := context.WithTimeout(ctx, s.c.OnlinePoll)
		evs, err := s.c.Events.Wait(wctx, after, "", 500)
		cancel()
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil && !errors.Is(err, context.DeadlineExceeded):
			s.c.Log.Error("admin event stream", "err", err)
			return nil // the page reconnects
		}
		for _, e := range evs {
			b, _ := json.Marshal(changeEvent{Seq: e.Seq, Type: e.Type, TicketID: e.TicketID})
			if send("id: %d\nevent: change\ndata: %s\n\n", e.Seq, b) != nil {
				return nil
			}
			after = e.Seq
		}
		if now := s.onlineIDs(); !slices.Equal(now, online) {
			online = now
			if send("event: terminals\ndata: {\"online\":%d}\n\n", len(online)) != nil {
				return nil
			}
		}
		if time.Since(beat) >= s.c.Heartbeat {
			beat = time.Now()
			if _, err := s.c.Admin.Authenticate(ctx, q.token); err != nil {
				send("event: expired\ndata: {}\n\n")
				return nil
			}
			if send(": heartbeat\n\n") != nil {
				return nil
			}
		}
	}
}

func (s *Server) onlineIDs() []string {
	if s.c.Hub == nil {
		return nil
	}
	ids := s.c.Hub.OnlineIDs()
	slices.Sort(ids)
	return ids
}
