package web

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/web/views"
)

// dayLayout is how a day travels in forms and links (an <input
// type="date">'s value).
const dayLayout = "2006-01-02"

// dayBounds returns the start of day d in loc and the start of the next
// day: a day is not always 24 hours where clocks change.
func dayBounds(d time.Time, loc *time.Location) (time.Time, time.Time) {
	y, m, dd := d.In(loc).Date()
	from := time.Date(y, m, dd, 0, 0, 0, 0, loc)
	return from, time.Date(y, m, dd+1, 0, 0, 0, 0, loc)
}

// parseDay reads a day in loc; ok is false if s is not one.
func parseDay(s string, loc *time.Location) (time.Time, bool) {
	d, err := time.ParseInLocation(dayLayout, s, loc)
	if err != nil || d.Year() < 2000 || d.Year() > 9999 {
		return time.Time{}, false
	}
	return d, true
}

// gatewayMessages translates what gateway says of a field's value.
var gatewayMessages = map[string]string{
	"is required":                               "err.required",
	"too long":                                  "err.too_long",
	"must be valid UTF-8":                       "err.bad_text",
	"must not contain control characters":       "err.bad_text",
	"must not contain bidi override characters": "err.bad_text",
	"looks like a card number: card numbers are never accepted": "err.card_number",
	"must be an http or https URL":                              "err.bad_url",
	gateway.MsgCallbackTarget:                                   "err.callback_box",
}

// fieldErrors turns a gateway validation error into a form's problems,
// translated where gateway's words are known; field names are renamed
// through rename (nil keeps them).
func fieldErrors(l views.Lang, ve *gateway.ValidationError, rename map[string]string) views.Errors {
	errs := views.Errors{}
	for _, f := range ve.Fields {
		name := f.Field
		if n, ok := rename[name]; ok {
			name = n
		}
		msg := f.Message
		if key, ok := gatewayMessages[msg]; ok {
			msg = l.T(key)
		}
		if _, dup := errs[name]; !dup {
			errs[name] = msg
		}
	}
	return errs
}

// refused sorts out why gateway refused a form's change: invalid fields
// (422 and their problems) or a conflict (409, which the caller words).
// Any other error comes back as is; no error gives status 0.
func refused(l views.Lang, err error) (status int, errs views.Errors, conflict *gateway.ConflictError, _ error) {
	var ve *gateway.ValidationError
	switch {
	case err == nil:
		return 0, views.Errors{}, nil, nil
	case errors.As(err, &ve):
		return http.StatusUnprocessableEntity, fieldErrors(l, ve, nil), nil, nil
	case errors.As(err, &conflict):
		return http.StatusConflict, views.Errors{}, conflict, nil
	}
	return 0, nil, nil, err
}

// textError checks a free text field the way gateway checks its own, and
// returns its problem, translated, or "".
func textError(l views.Lang, s string, min, max int) string {
	msg := gateway.CheckText(s, min, max)
	if msg == "" {
		return ""
	}
	if key, ok := gatewayMessages[msg]; ok {
		return l.T(key)
	}
	return msg
}

// normalizeNewlines makes a textarea's CRLF (what browsers send) plain LF.
func normalizeNewlines(s string) string {
	return strings.ReplaceAll(s, "\r\n", "\n")
}
