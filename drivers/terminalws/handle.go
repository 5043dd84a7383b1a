package terminalws

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

// handle takes one message from the terminal. Bad messages get an error and
// change nothing; too many malformed ones in a row, or too many messages
// too fast, disconnect.
func (c *conn) handle(ctx context.Context, data []byte) {
	if !c.bucket.take(time.Now()) {
		c.sendMsg(errorMsg{Type: "error", Code: codeRateLimited, Message: "too many messages"})
		c.close("message rate exceeded")
		return
	}
	err := c.dispatch(ctx, data)
	if err != nil {
		c.sendError(err)
		c.refused(data, err)
	}
	if !malformed(err) {
		c.bad = 0
		return
	}
	c.bad++
	if c.bad >= MaxBadMessages {
		c.close("too many bad messages")
	}
}

// malformed reports whether err refuses a message that the protocol cannot
// read (not JSON, an unknown type, over a limit), as opposed to a well-formed
// message that the gateway refuses: a key mapped to no scenario, an input
// refused, an answer to a screen gone are a waiter's mistakes, and a
// terminal is not disconnected for those.
func malformed(err error) bool {
	var pe *protoError
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.code {
	case codeBadJSON, codeUnknownType, codeTooLarge:
		return true
	}
	return false
}

func (c *conn) dispatch(ctx context.Context, data []byte) error {
	if data == nil {
		return bad(codeBadJSON, "only text frames carry messages")
	}
	m, err := Decode(data)
	if err != nil {
		return err
	}
	c.logIgnored(m)
	switch v := m.v.(type) {
	case *helloMsg:
		return bad(codeInvalid, "already said hello")
	case *startMsg:
		return c.sessionErr(c.sess.Start(ctx, v.Key))
	case *answerMsg:
		return c.sessionErr(c.sess.Answer(ctx, v.ScreenID, v.Value))
	case *cancelMsg:
		if err := c.sess.Cancel(ctx, v.ScreenID); err != nil {
			return c.sessionErr(err)
		}
		if c.v11 {
			// The terminal is idle and the gateway sends nothing: the
			// writer must not take the menu for the one shown.
			c.sendMsg(menuGone{})
		}
		return nil
	case *resultMsg:
		return c.result(ctx, v)
	case *paymentRefMsg:
		return c.paymentRef(ctx, m.typ, v)
	case *snapshotMsg:
		if !c.v11 {
			return bad(codeUnknownType, "unknown message type %q: it is %s's", "snapshot", SubprotocolV11)
		}
		c.sendMsg(snapshotReq{})
		return nil
	case *pageMsg:
		if !c.v11 {
			return bad(codeUnknownType, "unknown message type %q: it is %s's", "page", SubprotocolV11)
		}
		return c.sessionErr(c.sess.Page(ctx, v.ScreenID, v.Page))
	}
	return bad(codeUnknownType, "unhandled message")
}

// logIgnored logs the fields a report was taken without, once per field
// and connection: a terminal app that always sends them is said once, not
// at every payment.
func (c *conn) logIgnored(m inbound) {
	for _, f := range m.ignored {
		key := m.typ + " " + f.path
		if c.logged[key] || len(c.logged) >= maxLoggedFields {
			continue
		}
		if c.logged == nil {
			c.logged = map[string]bool{}
		}
		c.logged[key] = true
		c.h.c.Log.Warn("terminal message: field ignored", "terminal", c.term.Name, "message", m.typ,
			"field", logField(f.path), "why", f.why)
	}
}

// maxLoggedFields bounds what a connection can make the gateway remember.
const maxLoggedFields = 32

// logField is a field's path as logged: never a card number, never long.
func logField(path string) string {
	if gateway.LooksLikePAN(path) {
		return "(a name that looks like a card number)"
	}
	if len(path) > 64 {
		return strings.ToValidUTF8(path[:64], "") + "…"
	}
	return path
}

// refused is called with a message the gateway refused. A payment_result
// for the payment the session waits for, once refused, would leave the
// terminal stuck waiting (start busy, cancel no_screen) while the terminal
// is done with the card: the session stops waiting and ends the scenario,
// and the payment, pending, becomes unknown at its deadline for the manager
// to resolve. A failure of the gateway's own (internal) is not a refusal:
// the terminal sends the result again.
func (c *conn) refused(data []byte, err error) {
	var pe *protoError
	if c.sess == nil || !errors.As(err, &pe) {
		return
	}
	id := c.sess.Paying()
	if id == "" || !resultFor(data, id) {
		return
	}
	c.h.c.Log.Warn("payment result refused: the terminal is back to idle, the payment becomes unknown at its deadline for the manager to resolve",
		"terminal", c.term.Name, "payment", id, "err", pe.Error())
	c.sess.ResultRefused(id)
}

// resultFor reports whether data, however malformed, is a payment_result
// about payment id and no other: every "type" and "payment_id" read before
// the end or the first error, in any case, says so.
func resultFor(data []byte, id string) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return false
	}
	var isResult, names bool
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			break
		}
		name, _ := tok.(string)
		var s string
		switch {
		case strings.EqualFold(name, "type"):
			if json.Unmarshal(v, &s) != nil || s != "payment_result" {
				return false
			}
			isResult = true
		case strings.EqualFold(name, "payment_id"):
			if json.Unmarshal(v, &s) != nil || s != id {
				return false
			}
			names = true
		}
	}
	return isResult && names
}

// sessionErr turns the engine's refusals into protocol errors.
func (c *conn) sessionErr(err error) error {
	var cerr *gateway.ConflictError
	var verr *gateway.ValidationError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gateway.ErrNoScreen):
		return bad(codeNoScreen, "that screen is not shown")
	case errors.Is(err, gateway.ErrBadAnswer):
		return bad(codeBadAnswer, "that answer is not valid for this screen")
	case errors.As(err, &cerr):
		return &protoError{code: codeBusy, msg: cerr.Reason}
	case errors.As(err, &verr):
		return bad(codeInvalid, "%s", verr.Error())
	}
	return err
}

// result records a payment_result and acks it once committed; a copy of
// a result already recorded is acked again and changes nothing.
func (c *conn) result(ctx context.Context, v *resultMsg) error {
	r, err := v.result()
	if err != nil {
		return err
	}
	changes := r.Normalize()
	live := c.sess.Paying() == r.PaymentID
	p, recorded, err := c.h.c.Payments.Record(ctx, c.term.ID, r)
	var verr *gateway.ValidationError
	switch {
	case errors.As(err, &verr):
		return bad(codeInvalid, "%s", verr.Error())
	case errors.Is(err, gateway.ErrNotFound):
		return bad(codeUnknownPay, "no payment %q for this terminal", v.PaymentID)
	case errors.Is(err, gateway.ErrStorageFull):
		// The terminal sends an unacknowledged result again when it
		// connects again: closing makes it retry, at its own pace, until
		// the disk has room.
		c.sendError(err)
		c.close("disk full: result not recorded")
		return nil
	case err != nil:
		return err
	}
	if recorded && live {
		// The result of the pay screen shown on this connection, sent as
		// the card step ends: its at is the terminal's clock now. One
		// resent after a restart is older, and says nothing of it.
		c.h.c.Clock.Observe("terminal "+c.term.Name, r.At)
	}
	if recorded { // a copy of a result already stored was logged the first time
		for _, w := range changes { // never the text: it may hold a card number
			c.h.c.Log.Warn("payment result text changed to be stored", "terminal", c.term.Name, "payment", p.ID,
				"field", w.Field, "change", w.Message)
		}
	}
	c.sendMsg(paymentMsg{Type: "ack", PaymentID: p.ID})
	return c.sess.Paid(ctx, p)
}

func (c *conn) paymentRef(ctx context.Context, typ string, v *paymentRefMsg) error {
	switch typ {
	case "printed":
		return nil
	case "resume":
		p, err := c.h.c.Payments.Get(ctx, v.PaymentID)
		if err != nil || p.DeviceID != c.term.ID {
			c.sendMsg(paymentMsg{Type: "payment_state", PaymentID: v.PaymentID, Status: "not_found"})
			return nil
		}
		c.sendMsg(paymentMsg{Type: "payment_state", PaymentID: p.ID, Status: string(p.Status)})
		return nil
	}
	// payment_state, the answer to a status_request.
	if v.Status != "not_found" {
		return nil // the terminal still runs it: its result will come
	}
	p, err := c.h.c.Payments.NotFound(ctx, c.term.ID, v.PaymentID)
	if errors.Is(err, gateway.ErrNotFound) {
		return bad(codeUnknownPay, "no payment %q for this terminal", v.PaymentID)
	}
	if err != nil {
		return err
	}
	return c.sess.Paid(ctx, p)
}

// tokenBucket limits a terminal's message rate.
type tokenBucket struct {
	rate, burst float64
	tokens      float64
	last        time.Time
}

func (b *tokenBucket) take(now time.Time) bool {
	if !b.last.IsZero() {
		b.tokens += now.Sub(b.last).Seconds() * b.rate
		if b.tokens > b.burst {
			b.tokens = b.burst
		}
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
