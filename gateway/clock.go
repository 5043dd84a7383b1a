package gateway

import (
	"sync"
	"time"
)

// ClockStepAllowed is how far back the clock may step under a stamp of the
// store before what the stamp starts ends: an admin session, a pairing code.
// A step back larger than this would otherwise lengthen their lives by as
// much; NTP's own corrections are far smaller.
const ClockStepAllowed = time.Minute

// ClockTolerance is how far another clock may be from the box's before the
// admin page warns: HTTP dates count whole seconds, a result travels, and a
// till's clock drifts a little between its own synchronisations.
const ClockTolerance = 2 * time.Minute

// clockSampleLife is how long what a till or terminal said of the time
// counts: the warning goes once they agree again, or say nothing more.
const clockSampleLife = 15 * time.Minute

// ClockWatch compares the box's clock with the times tills (their HTTP
// Date header) and terminals (a fresh payment_result's at) send. The box
// has no clock of its own to trust more than theirs: when they disagree by
// more than ClockTolerance, the admin page says so, for a person to check
// the box's time (NTP). It changes nothing that is recorded: the box's
// clock still stamps events and files payments under its day.
type ClockWatch struct {
	now func() time.Time // the wall clock, with its monotonic reading

	mu   sync.Mutex
	last map[string]clockSample // by source
}

type clockSample struct {
	offset time.Duration // theirs minus ours
	seen   time.Time     // by now(): its monotonic reading ages it
}

// NewClockWatch returns a ClockWatch on now (time.Now in production).
func NewClockWatch(now func() time.Time) *ClockWatch {
	return &ClockWatch{now: now, last: map[string]clockSample{}}
}

// Observe records that source (a till's or a terminal's name) says it is
// theirs. A nil ClockWatch observes nothing.
func (c *ClockWatch) Observe(source string, theirs time.Time) {
	if c == nil || theirs.IsZero() {
		return
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.last) >= maxClockSources {
		c.forget(now)
	}
	if _, ok := c.last[source]; !ok && len(c.last) >= maxClockSources {
		return
	}
	c.last[source] = clockSample{offset: theirs.Sub(now.Round(0)), seen: now}
}

// maxClockSources bounds the sources remembered (tills and terminals).
const maxClockSources = 256

func (c *ClockWatch) forget(now time.Time) {
	for k, s := range c.last {
		if now.Sub(s.seen) >= clockSampleLife {
			delete(c.last, k)
		}
	}
}

// Off returns the largest offset, theirs minus ours, of the sources heard
// within clockSampleLife, and whose, when it is past ClockTolerance. A
// single source that disagrees is enough: a person should look, and the
// warning names it in case it is the till that is wrong.
func (c *ClockWatch) Off() (time.Duration, string, bool) {
	if c == nil {
		return 0, "", false
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.forget(now)
	var worst time.Duration
	var who string
	for k, s := range c.last {
		if s.offset.Abs() > worst.Abs() || (s.offset.Abs() == worst.Abs() && k < who) {
			worst, who = s.offset, k
		}
	}
	if worst.Abs() <= ClockTolerance {
		return 0, "", false
	}
	return worst, who, true
}
