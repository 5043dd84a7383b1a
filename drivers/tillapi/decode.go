package tillapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/passerelle/passerelle/drivers/jsonstrict"
	"github.com/passerelle/passerelle/gateway"
)

// MaxBodyBytes is the largest request body accepted (spec: 256 KiB).
const MaxBodyBytes = 256 << 10

// readBody reads a size-limited body.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, problem(http.StatusRequestEntityTooLarge, "too-large", "Body too large",
			fmt.Sprintf("the body must be at most %d bytes", MaxBodyBytes))
	}
	if err != nil {
		return nil, problem(http.StatusBadRequest, "bad-body", "Unreadable body", err.Error())
	}
	return body, nil
}

// DecodeTicket parses a ticket strictly: valid UTF-8, one JSON object, no
// unknown or duplicate fields, no trailing data. Syntax problems are 400;
// a value of the wrong type is a 422 naming the field.
func DecodeTicket(body []byte) (gateway.TicketInput, error) {
	var in gateway.TicketInput
	body, err := skipBOM(body)
	if err != nil {
		return in, err
	}
	if !utf8.Valid(body) {
		return in, badRequest("the body is not valid UTF-8")
	}
	if err := checkSurrogates(body); err != nil {
		return in, err
	}
	if err := checkStructure(body); err != nil {
		return in, err
	}
	// checkStructure refused unknown names and trailing data: one
	// Unmarshal decodes the ticket. Only a type error is decoded again,
	// line by line, so that it can name its line.
	if err := json.Unmarshal(body, &in); err == nil {
		return in, nil
	}
	return decodeByLines(body)
}

// decodeByLines decodes a checked ticket line by line, so that a type
// error can name its line: encoding/json's own path would say "lines.qty".
func decodeByLines(body []byte) (gateway.TicketInput, error) {
	var in gateway.TicketInput
	var raw struct {
		gateway.TicketInput
		Lines []json.RawMessage `json:"lines"`
	}
	if err := decodeStrict(body, &raw); err != nil {
		return in, decodeError("", err)
	}
	in = raw.TicketInput
	if raw.Lines != nil {
		in.Lines = make([]gateway.Line, len(raw.Lines))
	}
	for i, l := range raw.Lines {
		if err := decodeStrict(l, &in.Lines[i]); err != nil {
			return in, decodeError("lines["+strconv.Itoa(i)+"]", err)
		}
	}
	return in, nil
}

var utf8BOM = []byte("\xef\xbb\xbf")

// skipBOM drops a UTF-8 byte order mark from the start of body. RFC 8259
// lets a parser ignore it, some Windows libraries write it, and it hides
// nothing. One anywhere else before the JSON, or a UTF-16 body, is refused
// with a message that names it, rather than "not a JSON object".
func skipBOM(body []byte) ([]byte, error) {
	if bytes.HasPrefix(body, []byte{0xff, 0xfe}) || bytes.HasPrefix(body, []byte{0xfe, 0xff}) {
		return nil, badRequest("the body must be UTF-8: it starts with a UTF-16 byte order mark")
	}
	body = bytes.TrimPrefix(body, utf8BOM)
	if bytes.HasPrefix(bytes.TrimLeft(body, " \t\r\n"), utf8BOM) {
		return nil, badRequest("a byte order mark (U+FEFF) is taken only once, as the body's first bytes")
	}
	return body, nil
}

func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// decodeError maps an error of decodeStrict on the value at path.
func decodeError(path string, err error) error {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		return badRequest(err.Error())
	}
	field := path
	// The embedded TicketInput names itself in the path: tills never see it.
	if f := strings.TrimPrefix(te.Field, embeddedPrefix); f != "" {
		field = joinPath(path, f)
	}
	p := problem(http.StatusUnprocessableEntity, "invalid", "Invalid ticket", "some fields are invalid")
	p.Errors = []gateway.FieldError{{Field: field, Message: "must be " + jsonKind(te.Type.Kind())}}
	return p
}

var embeddedPrefix = reflect.TypeFor[gateway.TicketInput]().Name() + "."

func jsonKind(k reflect.Kind) string {
	switch k {
	case reflect.Int64, reflect.Int:
		return "a whole number (within range)"
	case reflect.Slice:
		return "a list"
	case reflect.Struct:
		return "an object"
	}
	return "a " + k.String()
}

func badRequest(detail string) *Problem {
	return problem(http.StatusBadRequest, "bad-json", "Malformed JSON", detail)
}

// checkStructure walks the tokens once to refuse what encoding/json lets
// through: names not spelt exactly as the ticket's fields, duplicate names
// (the last would silently win), trailing data, and absurd nesting.
func checkStructure(body []byte) error {
	_, err := jsonstrict.Check(body, reflect.TypeFor[gateway.TicketInput](), jsonstrict.Refuse)
	var fe *jsonstrict.FieldError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &fe):
		return badRequest(fe.Error())
	case errors.Is(err, jsonstrict.ErrNotUTF8):
		return badRequest("the body is not valid UTF-8")
	case errors.Is(err, jsonstrict.ErrNotObject):
		return badRequest("the body must be a JSON object")
	case errors.Is(err, jsonstrict.ErrIncomplete):
		return badRequest("the body is not a complete JSON document")
	}
	return badRequest(err.Error())
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// checkSurrogates refuses a \u escape of half a UTF-16 surrogate pair,
// which is no character: encoding/json would turn it into U+FFFD without
// a word, and the ticket would not say what the till sent. The detail
// names the field.
func checkSurrogates(body []byte) error {
	if !hasLoneSurrogate(body) { // the common case: one pass, no decoding
		return nil
	}
	path := surrogatePath(body)
	msg := `a \u escape of half a UTF-16 surrogate pair (U+D800-U+DFFF) is no character: escape the whole pair, or send the character as UTF-8`
	p := badRequest("field " + jsonstrict.Quote(path) + ": " + msg)
	p.Errors = []gateway.FieldError{{Field: path, Message: msg}}
	return p
}

// hasLoneSurrogate reports whether b, a JSON text or a part of one made of
// whole tokens, holds a \u escape of a surrogate that is not a high one
// followed at once by a low one. Backslashes appear only in strings, so the
// whole text can be scanned.
func hasLoneSurrogate(b []byte) bool {
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		i++ // the escaped character
		if i >= len(b) || b[i] != 'u' {
			continue
		}
		v, ok := hex4(b[i+1:])
		if !ok {
			continue // a syntax error, for the parser to report
		}
		i += 4
		switch {
		case v >= 0xdc00 && v <= 0xdfff:
			return true
		case v >= 0xd800 && v <= 0xdbff:
			if len(b) < i+7 || b[i+1] != '\\' || b[i+2] != 'u' {
				return true
			}
			if lo, ok := hex4(b[i+3:]); !ok || lo < 0xdc00 || lo > 0xdfff {
				return true
			}
			i += 6
		}
	}
	return false
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	n, err := strconv.ParseUint(string(b[:4]), 16, 16)
	return rune(n), err == nil
}

// surrogatePath returns the path (lines[1].label) of the first string,
// name or value, that holds a lone surrogate, or "" if the text cannot be
// walked to it.
func surrogatePath(body []byte) string {
	type level struct {
		object  bool
		name    string // the member being read, in an object
		index   int    // the element being read, in an array
		wantKey bool
	}
	var stack []level
	path := func() string {
		var p string
		for _, l := range stack {
			if l.object {
				p = joinPath(p, l.name)
			} else {
				p += "[" + strconv.Itoa(l.index) + "]"
			}
		}
		return p
	}
	// valueDone moves the enclosing level on to its next member or element.
	valueDone := func() {
		if n := len(stack); n > 0 {
			if stack[n-1].object {
				stack[n-1].wantKey = true
			} else {
				stack[n-1].index++
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		raw := body[start:dec.InputOffset()]
		switch v := tok.(type) {
		case json.Delim:
			if v == '{' || v == '[' {
				stack = append(stack, level{object: v == '{', wantKey: true})
				continue
			}
			stack = stack[:len(stack)-1]
			valueDone()
		case string:
			if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].wantKey {
				stack[n-1].name, stack[n-1].wantKey = v, false
				if hasLoneSurrogate(raw) {
					return path()
				}
				continue
			}
			if hasLoneSurrogate(raw) {
				return path()
			}
			valueDone()
		default:
			valueDone()
		}
	}
}
