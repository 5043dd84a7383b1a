package terminalws

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/passerelle/passerelle/drivers/jsonstrict"
	"github.com/passerelle/passerelle/gateway"
)

// Inbound messages, as terminals send them.

type envelope struct {
	Type string `json:"type"`
}

type helloMsg struct {
	Type        string   `json:"type"`
	Serial      string   `json:"serial"`
	Model       string   `json:"model"`
	AppVersion  string   `json:"app_version"`
	PairingCode string   `json:"pairing_code"`
	Token       string   `json:"token"`
	Display     *size    `json:"display"`
	Printer     *size    `json:"printer"`
	Keys        []string `json:"keys"`
}

type size struct {
	Cols int `json:"cols"`
	Rows int `json:"rows,omitempty"`
}

type startMsg struct {
	Type string `json:"type"`
	Key  string `json:"key"`
}

type answerMsg struct {
	Type     string `json:"type"`
	ScreenID string `json:"screen_id"`
	Value    string `json:"value"`
}

type cancelMsg struct {
	Type     string `json:"type"`
	ScreenID string `json:"screen_id"`
}

type resultMsg struct {
	Type           string        `json:"type"`
	PaymentID      string        `json:"payment_id"`
	Status         string        `json:"status"`
	Amount         int64         `json:"amount"`
	Tip            int64         `json:"tip"`
	Currency       string        `json:"currency"`
	Card           *gateway.Card `json:"card"`
	AuthCode       string        `json:"auth_code"`
	TransactionRef string        `json:"transaction_ref"`
	MerchantID     string        `json:"merchant_id"`
	TerminalID     string        `json:"terminal_id"`
	At             string        `json:"at"`
	Receipt        []string      `json:"receipt"`
}

type paymentRefMsg struct { // resume, payment_state, printed
	Type      string `json:"type"`
	PaymentID string `json:"payment_id"`
	Status    string `json:"status"`
	JobID     string `json:"job_id"`
}

// Outbound messages that are not scenario messages.

type welcomeMsg struct {
	Type       string `json:"type"`
	TerminalID string `json:"terminal_id"`
	Name       string `json:"name"`
	Token      string `json:"token,omitempty"`
}

type errorMsg struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"message,omitempty"`
}

type paymentMsg struct { // ack, payment_state, status_request, abort
	Type      string `json:"type"`
	PaymentID string `json:"payment_id"`
	Status    string `json:"status,omitempty"`
}

// Error codes sent to terminals.
const (
	codeBadJSON      = "bad_json"
	codeUnknownType  = "unknown_type"
	codeInvalid      = "invalid"
	codeTooLarge     = "too_large"
	codeUnauthorized = "unauthorized"
	codeWait         = "too_many_tries"
	codeNoScreen     = "no_screen"
	codeBadAnswer    = "bad_answer"
	codeUnknownPay   = "unknown_payment"
	codeBusy         = "busy"
	codeRateLimited  = "rate_limited"
	codeInternal     = "internal"
	codeStorageFull  = "storage_full" // the gateway's disk is full: nothing recorded
)

// protoError is a bad message: sent back as an error, changing nothing.
type protoError struct {
	code, msg string
}

func (e *protoError) Error() string { return e.code + ": " + e.msg }

func bad(code, format string, args ...any) *protoError {
	return &protoError{code: code, msg: fmt.Sprintf(format, args...)}
}

// inbound is one decoded message from a terminal.
type inbound struct {
	typ     string
	v       any
	ignored []ignoredField // fields of a report that were not needed
}

// ignoredField is a field that a message could do without, and why it was
// left out.
type ignoredField struct {
	path, why string
}

// Decode parses one terminal message strictly, as the till API does a
// ticket: a JSON object of at most MaxFrame bytes, with a known type, each
// name spelt exactly as the protocol spells it and given once. Requests
// (hello, start, answer, cancel, resume) with an unknown field are refused:
// the terminal asks again. Reports of what the terminal has done
// (payment_result, payment_state, printed) take unknown fields and ignore
// them: a fact is never refused for what it adds.
func Decode(data []byte) (inbound, error) {
	if len(data) > MaxFrame {
		return inbound{}, bad(codeTooLarge, "a message must be at most %d bytes", MaxFrame)
	}
	// The type only picks the fields to check against: a second "type",
	// however spelt, is then refused with the rest.
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return inbound{}, bad(codeBadJSON, "not a JSON object: %v", err)
	}
	var v any
	unknown := jsonstrict.Refuse
	switch env.Type {
	case "hello":
		v = &helloMsg{}
	case "start":
		v = &startMsg{}
	case "answer":
		v = &answerMsg{}
	case "cancel":
		v = &cancelMsg{}
	case "payment_result":
		v, unknown = &resultMsg{}, jsonstrict.Ignore
	case "resume":
		v = &paymentRefMsg{}
	case "snapshot":
		v = &snapshotMsg{}
	case "page":
		v = &pageMsg{}
	case "payment_state", "printed":
		v, unknown = &paymentRefMsg{}, jsonstrict.Ignore
	case "":
		return inbound{}, bad(codeBadJSON, "the message has no type")
	default:
		return inbound{}, bad(codeUnknownType, "unknown message type %q", env.Type)
	}
	paths, err := jsonstrict.Decode(data, v, unknown)
	if err != nil {
		return inbound{}, decodeError(env.Type, err)
	}
	m := inbound{typ: env.Type, v: v}
	for _, p := range paths {
		m.ignored = append(m.ignored, ignoredField{path: p, why: "not a field of " + env.Type})
	}
	if r, ok := v.(*resultMsg); ok {
		m.ignored = append(m.ignored, r.dropUnneeded()...)
	}
	return m, nil
}

func decodeError(typ string, err error) error {
	var fe *jsonstrict.FieldError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &fe):
		return bad(codeBadJSON, "%s: %s", typ, fe.Error())
	case errors.As(err, &te):
		return bad(codeBadJSON, "%s: %s is not %s", typ, jsonstrict.Quote(te.Field), te.Type)
	case errors.Is(err, jsonstrict.ErrNotObject):
		return bad(codeBadJSON, "not a JSON object")
	case errors.Is(err, jsonstrict.ErrTrailing):
		return bad(codeBadJSON, "trailing data after the message")
	}
	return bad(codeBadJSON, "%s: %v", typ, err)
}

func (h *helloMsg) hello() gateway.Hello {
	g := gateway.Hello{Serial: h.Serial, Model: h.Model, AppVersion: h.AppVersion,
		PairingCode: h.PairingCode, Token: h.Token, Keys: h.Keys}
	if h.Display != nil {
		g.DisplayCols, g.DisplayRows = h.Display.Cols, h.Display.Rows
	}
	if h.Printer != nil {
		g.PrinterCols = h.Printer.Cols
	}
	return g
}

// dropUnneeded leaves out what a result can do without rather than refuse
// it: an "at" that is not an RFC 3339 time with its zone (the gateway
// records its own time of receipt; "at" is the terminal's, for information).
func (r *resultMsg) dropUnneeded() []ignoredField {
	if r.At == "" {
		return nil
	}
	if _, err := time.Parse(time.RFC3339Nano, r.At); err != nil {
		r.At = ""
		return []ignoredField{{path: "at", why: "not an RFC 3339 time with a zone: the time of receipt stands"}}
	}
	return nil
}

func (r *resultMsg) result() (gateway.Result, error) {
	res := gateway.Result{PaymentID: r.PaymentID, Status: gateway.PaymentStatus(r.Status), Amount: r.Amount,
		Tip: r.Tip, Currency: r.Currency, Card: r.Card, AuthCode: r.AuthCode, TransactionRef: r.TransactionRef,
		MerchantID: r.MerchantID, TerminalID: r.TerminalID, Receipt: r.Receipt}
	if at, err := time.Parse(time.RFC3339Nano, r.At); err == nil { // else dropped by Decode
		res.At = at
	}
	return res, nil
}
