package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
)

// parts are the gateway's long-running parts (server, terminals, webhooks,
// ...): what runs them in the errgroup, and what /healthz says of them.
type parts struct {
	mu      sync.Mutex
	stopped map[string]string       // parts that returned while the gateway ran
	checks  map[string]func() error // parts that can be down while running
}

func newParts() *parts {
	return &parts{stopped: map[string]string{}, checks: map[string]func() error{}}
}

// run returns the errgroup function of a part that runs as long as the
// gateway. A part that returns before ctx is done, even without an error,
// has stopped for good: its error stops every other part through the
// errgroup, and the process exits for the service manager to restart it,
// rather than run half alive.
func (p *parts) run(ctx context.Context, name string, fn func(context.Context) error) func() error {
	return func() error {
		err := fn(ctx)
		if ctx.Err() != nil {
			return err // the gateway is stopping
		}
		if err == nil {
			err = errors.New("stopped")
		}
		p.mu.Lock()
		p.stopped[name] = "stopped"
		p.mu.Unlock()
		return fmt.Errorf("%s: %w", name, err)
	}
}

// check adds a part's own health: nil while it works.
func (p *parts) check(name string, health func() error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.checks[name] = health
}

// down names the parts that are down, with what is wrong: what /healthz
// shows. Empty when every part works.
func (p *parts) down() map[string]string {
	p.mu.Lock()
	out := maps.Clone(p.stopped)
	checks := maps.Clone(p.checks)
	p.mu.Unlock()
	for name, health := range checks {
		if _, ok := out[name]; ok {
			continue
		}
		if err := health(); err != nil {
			out[name] = err.Error()
		}
	}
	return out
}
