package tillapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

// sseBatch is how many events one read of the log returns at most.
const sseBatch = 500

// writeTimeout bounds one write to an SSE client: a client that stops
// reading is dropped rather than holding a goroutine forever.
const writeTimeout = 30 * time.Second

func (s *Server) streamEvents(w http.ResponseWriter, r *http.Request, till gateway.Till) error {
	after, err := resumePoint(r, s.events.Last())
	if err != nil {
		return err
	}
	if err := s.checkResumePoint(r.Context(), after); err != nil {
		return err
	}
	// The key is checked again now that the start is fixed: a revocation
	// committed before this check is refused here, and one committed after
	// it has its till.revoked event past the start, where the stream reads
	// it and ends. From the store, not the key cache: the cache may not
	// have heard yet of a revocation whose event is before the start.
	if _, err := s.tills.AuthenticateStored(r.Context(), bearerKey(r)); err != nil {
		return err
	}
	tillID := till.ID
	if till.Admin {
		tillID = ""
	}
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	s.streams.Add(1)
	defer s.streams.Add(-1)
	if err := flush(rc, w, ": passerelle events\n\n"); err != nil {
		return nil
	}
	ctx := r.Context()
	for {
		wctx, cancel := context.WithTimeout(ctx, s.heartbeat)
		evs, err := s.events.Wait(wctx, after, tillID, sseBatch)
		cancel()
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, context.DeadlineExceeded):
			if flush(rc, w, ": heartbeat\n\n") != nil {
				return nil
			}
			continue
		case err != nil:
			s.log.Error("event stream", "err", err)
			return nil // headers are sent: the client reconnects with Last-Event-ID
		}
		if s.compacted != nil && len(evs) > 0 && evs[0].Seq <= s.compacted() {
			// Compacted under the stream, which was that far behind: its
			// reconnect from its last id gets resume-compacted.
			s.log.Info("event stream ended: its next events were compacted", "till", till.Name, "seq", evs[0].Seq)
			return nil
		}
		evs, revoked := untilRevoked(evs, till.ID)
		if err := writeEvents(rc, w, evs); err != nil {
			return nil
		}
		if revoked {
			s.log.Info("event stream ended: the till's key was revoked", "till", till.Name)
			return nil
		}
		after = evs[len(evs)-1].Seq
	}
}

// checkResumePoint refuses a resume point past the end of the log, which a
// till has after the gateway's database was restored from a backup: the
// events it is waiting for will never come, and the log's next events, which
// it would never be sent, reuse the seqs it has already seen. Restarting
// from 0 would not do: a till that skips the ids it has seen would skip them
// all the same, and it would not learn that what it saw after the backup
// (tickets, payments) is no longer in the gateway. So it is told, and
// chooses: re-read its tickets and resume from the end, or replay from 0.
func (s *Server) checkResumePoint(ctx context.Context, after int64) error {
	if err := s.checkCompacted(after); err != nil {
		return err
	}
	if after <= s.events.Last() {
		return nil
	}
	// Another process (the CLI) may have written events not yet published
	// here, which a stream may have read from the store.
	last, err := s.events.Committed(ctx)
	if err != nil {
		return fmt.Errorf("read the end of the event log: %w", err)
	}
	if after <= last {
		return nil
	}
	p := problem(http.StatusConflict, "resume-past-end", "Resume point past the end of the event log",
		fmt.Sprintf("event %d is past the last event of the log (%d): the gateway's database was restored or replaced. "+
			"Re-read your tickets (GET /api/v1/tickets), then resume from %d, or from 0 to replay the whole log.", after, last, last))
	p.LastSeq = &last
	return p
}

// checkCompacted refuses a resume point before the compaction horizon: the
// events after it no longer hold their ticket, and a till must not take
// them for the whole story. It re-reads its tickets and resumes from the
// horizon.
func (s *Server) checkCompacted(after int64) error {
	if s.compacted == nil {
		return nil
	}
	h := s.compacted()
	if after >= h {
		return nil
	}
	last := s.events.Last()
	p := problem(http.StatusConflict, "resume-compacted", "Resume point before the compacted event log",
		fmt.Sprintf("events up to %d were compacted (they no longer carry their ticket): re-read your tickets "+
			"(GET /api/v1/tickets, with since= the time you last heard from the gateway), then resume from %d.", h, h))
	p.CompactedThrough, p.LastSeq = &h, &last
	return p
}

// untilRevoked returns the events before the revocation of tillID's key,
// and whether it is among evs: the stream ends there.
func untilRevoked(evs []gateway.Event, tillID string) ([]gateway.Event, bool) {
	for i, e := range evs {
		if e.Type == gateway.EventTillRevoked && e.TillID == tillID {
			return evs[:i], true
		}
	}
	return evs, false
}

func writeEvents(rc *http.ResponseController, w http.ResponseWriter, evs []gateway.Event) error {
	rc.SetWriteDeadline(time.Now().Add(writeTimeout))
	for _, e := range evs {
		if !gateway.ForTills(e.Type) { // terminal events, in an admin's stream
			continue
		}
		if _, err := fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", e.Seq, e.Type, e.Data); err != nil {
			return err
		}
	}
	return rc.Flush()
}

func flush(rc *http.ResponseController, w http.ResponseWriter, s string) error {
	rc.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := fmt.Fprint(w, s); err != nil {
		return err
	}
	return rc.Flush()
}

// resumePoint reads Last-Event-ID, or ?after=. With neither, the stream
// starts at the present: a till that wants history asks for ?after=0.
func resumePoint(r *http.Request, now int64) (int64, error) {
	v := r.Header.Get("Last-Event-ID")
	if v == "" {
		v = r.URL.Query().Get("after")
	}
	if v == "" {
		return now, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, problem(http.StatusBadRequest, "bad-query", "Invalid resume point", "Last-Event-ID or after must be an event id")
	}
	return n, nil
}
