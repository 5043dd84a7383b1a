package upstream

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

// BehindAfter is how old the oldest unsent event may be before the state
// is "behind" rather than "ok": under a minute is sync doing its work.
const BehindAfter = time.Minute

// Status is what the admin page, /healthz and `passerelle upstream status`
// show.
type Status struct {
	State        string     `json:"state"`
	AckedThrough int64      `json:"acked_through"`
	LastSeq      int64      `json:"last_seq"`
	Queue        int64      `json:"queue"`
	OldestUnsent *time.Time `json:"oldest_unsent"`
	LastSuccess  *time.Time `json:"last_success"`
	LastError    string     `json:"last_error"`
}

// ReadStatus reads the state from the store: it works from another
// process (the CLI) as well as from the running gateway's.
func ReadStatus(ctx context.Context, st Store, u gateway.Upstream, now time.Time) (Status, error) {
	cur, err := st.UpstreamCursor(ctx)
	if err != nil {
		return Status{}, err
	}
	last, err := st.LastSeq(ctx)
	if err != nil {
		return Status{}, err
	}
	s := Status{AckedThrough: cur.AckedThrough, LastSeq: last, Queue: max(last-cur.AckedThrough, 0), LastError: cur.LastError}
	if !cur.LastSuccess.IsZero() {
		t := cur.LastSuccess.UTC()
		s.LastSuccess = &t
	}
	if s.Queue > 0 {
		evs, err := st.EventsAfter(ctx, gateway.EventQuery{After: cur.AckedThrough, Limit: 1})
		if err != nil {
			return Status{}, fmt.Errorf("upstream: oldest unsent event: %w", err)
		}
		if len(evs) == 1 {
			t := evs[0].At.UTC()
			s.OldestUnsent = &t
		}
	}
	switch {
	case !u.On():
		s.State = gateway.UpstreamDisabled
	case cur.NeedsAction:
		s.State = gateway.UpstreamError
	case s.OldestUnsent != nil && now.Sub(*s.OldestUnsent) >= BehindAfter:
		s.State = gateway.UpstreamBehind
	default:
		s.State = gateway.UpstreamOK
	}
	return s, nil
}

func pathEscape(s string) string { return url.PathEscape(s) }
