package main

import (
	"context"
	"errors"
	"strings"
	"testing"

	"golang.org/x/sync/errgroup"
)

// A part that returns while the gateway runs, even without an error,
// stops every other part: the gateway exits for its service manager to
// restart it, and is never left half alive.
func TestStoppedPartStopsGateway(t *testing.T) {
	p := newParts()
	g, gctx := errgroup.WithContext(context.Background())
	g.Go(p.run(gctx, "server", func(ctx context.Context) error {
		<-ctx.Done()
		return nil
	}))
	g.Go(p.run(gctx, "terminals", func(context.Context) error { return nil }))
	err := g.Wait()
	if err == nil || !strings.Contains(err.Error(), "terminals") {
		t.Fatalf("the gateway stopped with %v, want the part that stopped named", err)
	}
	if down := p.down(); down["terminals"] == "" || down["server"] != "" {
		t.Errorf("down: %v, want terminals only", down)
	}
}

// A part's own health names it while it is down, and only then.
func TestPartHealth(t *testing.T) {
	p := newParts()
	var err error
	p.check("terminals", func() error { return err })
	if down := p.down(); len(down) != 0 {
		t.Fatalf("down: %v, want none", down)
	}
	err = errors.New("cannot read the event log")
	if down := p.down(); down["terminals"] != "cannot read the event log" {
		t.Fatalf("down: %v, want terminals", down)
	}
	// Stopping the gateway is not a part going down.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.run(ctx, "webhooks", func(context.Context) error { return context.Canceled })(); !errors.Is(err, context.Canceled) {
		t.Fatalf("a part stopped with the gateway: %v", err)
	}
	if _, ok := p.down()["webhooks"]; ok {
		t.Error("a part stopped with the gateway is reported down")
	}
}
