package gateway

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors; the edges map them to their own status codes.
var (
	ErrNotFound     = errors.New("not found")
	ErrUnauthorized = errors.New("unauthorized")
	// ErrCursorMoved is a webhook cursor saved from where it no longer is:
	// the till's callback URL changed meanwhile.
	ErrCursorMoved = errors.New("webhook cursor moved")
	// ErrStorageFull: the disk holding the database is full. Nothing of
	// the write was recorded; the same write succeeds once space is freed.
	ErrStorageFull = errors.New("the gateway's disk is full")
)

// ConflictError says why a change was refused because of the ticket's state.
type ConflictError struct {
	Reason string
	// PaymentID names the payment in progress that blocks the change, if
	// that is the reason: the edge may ask its terminal to abort it.
	PaymentID string
}

func (e *ConflictError) Error() string { return "conflict: " + e.Reason }

// Conflict returns a *ConflictError.
func Conflict(format string, args ...any) error {
	return &ConflictError{Reason: fmt.Sprintf(format, args...)}
}

// FieldError is one problem with one field of some input, the field named by
// its JSON path ("lines[2].unit_price").
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ValidationError lists every problem found with an input.
type ValidationError struct {
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return "invalid: " + strings.Join(parts, "; ")
}

// fieldErrors collects FieldErrors while validating.
type fieldErrors []FieldError

func (fe *fieldErrors) add(field, format string, args ...any) {
	*fe = append(*fe, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

func (fe fieldErrors) err() error {
	if len(fe) == 0 {
		return nil
	}
	return &ValidationError{Fields: fe}
}
