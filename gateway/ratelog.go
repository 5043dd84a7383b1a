package gateway

import (
	"log/slog"
	"sync"
	"time"
)

// LogLimiter bounds the lines of each kind that a flood can write: refused
// logins, pairings and till keys are logged so that the manager sees
// someone guessing, but a guesser must not fill the disk. Each kind may
// write Burst lines per Every; the lines held back are counted, and the
// next line written says how many.
type LogLimiter struct {
	burst int
	every time.Duration

	mu    sync.Mutex
	kinds map[string]*logWindow
}

type logWindow struct {
	start   time.Time
	written int
	held    int
}

// NewLogLimiter returns a limiter of burst lines per kind every period.
func NewLogLimiter(burst int, every time.Duration) *LogLimiter {
	return &LogLimiter{burst: burst, every: every, kinds: map[string]*logWindow{}}
}

// Allow reports whether a line of kind may be written now, and how many
// lines of kind were held back since the last one written.
func (l *LogLimiter) Allow(kind string) (ok bool, held int) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	w, found := l.kinds[kind]
	if !found {
		w = &logWindow{start: now}
		l.kinds[kind] = w
	}
	if now.Sub(w.start) >= l.every {
		w.start, w.written = now, 0
	}
	if w.written >= l.burst {
		w.held++
		return false, 0
	}
	w.written++
	held, w.held = w.held, 0
	return true, held
}

// Warn writes msg at level Warn unless kind has used up its lines, adding
// "held_back" when lines were held back before it.
func (l *LogLimiter) Warn(log *slog.Logger, kind, msg string, args ...any) {
	ok, held := l.Allow(kind)
	if !ok {
		return
	}
	if held > 0 {
		args = append(args, "held_back", held)
	}
	log.Warn(msg, args...)
}
