package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
)

// SourceCapture is the source of the tickets that print capture read from
// a till's printed note.
const SourceCapture = "capture"

// SubmitCapture creates or updates, by in.Ref, a ticket that print capture
// read, under the till named tillName: created the first time with no
// usable key (its hash is of a key no one keeps), as the web till is. The
// till API's rules apply: a reprint changes nothing, a new version of an
// open note updates it.
func (s *Tickets) SubmitCapture(ctx context.Context, tillName string, in TicketInput) (Ticket, SubmitResult, error) {
	if err := s.rules().Validate(&in); err != nil {
		return Ticket{}, 0, err
	}
	var out Ticket
	var res SubmitResult
	err := s.store.Update(ctx, func(tx Tx) error {
		till, err := s.namedTill(ctx, tx, tillName)
		if err != nil {
			return err
		}
		out, res, err = s.submitTx(ctx, tx, till, in, SourceCapture)
		return err
	})
	if err != nil {
		return Ticket{}, 0, err
	}
	return out, res, nil
}

// namedTill returns the till called name, creating it without a usable key.
func (s *Tickets) namedTill(ctx context.Context, tx Tx, name string) (Till, error) {
	t, err := tx.TillByName(ctx, name)
	if err == nil {
		return t, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return Till{}, fmt.Errorf("gateway: till %q: %w", name, err)
	}
	if msg := CheckText(name, 1, MaxNameLen); msg != "" {
		var fe fieldErrors
		fe.add("till", "%s", msg)
		return Till{}, fe.err()
	}
	now := s.now().UTC()
	t = Till{ID: NewID("till", now), Name: name, KeyHash: HashKey(NewSecret("ptk", 32)),
		WebhookSecret: NewSecret("whsec", 32), CreatedAt: now}
	if err := tx.InsertTill(ctx, &t); err != nil {
		return Till{}, err
	}
	return t, nil
}

// CapturePrinter is one printer that print capture stands in front of
// (docs/capture.md): the till prints to Listen, the bytes go on to
// Forward, and the note is read into a ticket of the till named Till.
type CapturePrinter struct {
	Name     string `yaml:"name"`
	Listen   string `yaml:"listen"`
	Forward  string `yaml:"forward"`  // empty: capture only
	Till     string `yaml:"till"`     // made if absent
	Template string `yaml:"template"` // "default" or a file in templates/ of the data dir
	CodePage string `yaml:"codepage"` // until the job selects another (ESC t)
}

// MaxCapturePrinters bounds the capture section.
const MaxCapturePrinters = 32

func validateCapture(fe *fieldErrors, ps []CapturePrinter) {
	if len(ps) > MaxCapturePrinters {
		fe.add("capture", "at most %d printers", MaxCapturePrinters)
	}
	names, listens := map[string]bool{}, map[string]bool{}
	for i, p := range ps {
		f := func(field string) string { return fmt.Sprintf("capture[%d].%s", i, field) }
		if msg := CheckText(p.Name, 1, MaxNameLen); msg != "" {
			fe.add(f("name"), "%s", msg)
		} else if !IsHostLabel(p.Name) {
			fe.add(f("name"), "letters, digits and hyphens only (it names a folder)")
		}
		if names[p.Name] {
			fe.add(f("name"), "%q is used twice", p.Name)
		}
		names[p.Name] = true
		if _, _, err := net.SplitHostPort(p.Listen); err != nil {
			fe.add(f("listen"), "must be host:port or :port")
		} else if listens[p.Listen] {
			fe.add(f("listen"), "%q is used twice", p.Listen)
		}
		listens[p.Listen] = true
		if p.Forward != "" {
			if _, _, err := net.SplitHostPort(p.Forward); err != nil {
				fe.add(f("forward"), "must be host:port")
			}
		}
		if msg := CheckText(p.Till, 1, MaxNameLen); msg != "" {
			fe.add(f("till"), "%s", msg)
		}
		if t := p.Template; t != "" && (strings.ContainsAny(t, `/\`) || strings.HasPrefix(t, ".")) {
			fe.add(f("template"), "a built-in name or a file name in templates/, without a path")
		}
	}
}
