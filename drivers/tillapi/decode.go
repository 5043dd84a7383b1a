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

	"github.com/passerelle/passerelle/gateway"
)

// MaxBodyBytes is the largest request body accepted (spec: 256 KiB).
const MaxBodyBytes = 256 << 10

// maxDepth bounds JSON nesting: a ticket needs 3 levels.
const maxDepth = 16

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
	if !utf8.Valid(body) {
		return in, badRequest("the body is not valid UTF-8")
	}
	if err := checkStructure(body); err != nil {
		return in, err
	}
	// The lines are decoded one by one so that a type error can name its
	// line: encoding/json's own path would say "lines.qty".
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

// fieldNames are the names a ticket's JSON may use, exactly as spelt:
// encoding/json also takes "REF" (or "Ref") for ref, so a second spelling
// of a field would silently override the first.
var fieldNames = jsonNames(reflect.TypeFor[gateway.TicketInput](), reflect.TypeFor[gateway.Line]())

func jsonNames(types ...reflect.Type) map[string]bool {
	names := map[string]bool{}
	for _, t := range types {
		for i := range t.NumField() {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			names[name] = true
		}
	}
	return names
}

// quoteField quotes a field's path for an error message, unless it could
// be a card number, which must not be echoed.
func quoteField(path string) string {
	if gateway.LooksLikePAN(path) {
		return "(a name that looks like a card number)"
	}
	return strconv.Quote(path)
}

func badRequest(detail string) *Problem {
	return problem(http.StatusBadRequest, "bad-json", "Malformed JSON", detail)
}

// checkStructure walks the tokens once to refuse what encoding/json lets
// through: duplicate names (the last would silently win), trailing data,
// and absurd nesting.
func checkStructure(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if first := bytes.TrimLeft(body, " \t\r\n"); len(first) == 0 || first[0] != '{' {
		return badRequest("the body must be a JSON object")
	}
	if err := walkValue(dec, "", 0); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("trailing data after the JSON object")
	}
	return nil
}

func walkValue(dec *json.Decoder, path string, depth int) error {
	if depth > maxDepth {
		return badRequest("JSON nested too deeply")
	}
	tok, err := dec.Token()
	if err != nil {
		return badRequest(syntaxDetail(err))
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	switch delim {
	case '{':
		seen := map[string]bool{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return badRequest(syntaxDetail(err))
			}
			name := tok.(string)
			field := joinPath(path, name)
			if !fieldNames[name] {
				return badRequest("unknown field " + quoteField(field))
			}
			if seen[name] {
				return badRequest("duplicate field " + strconv.Quote(field))
			}
			seen[name] = true
			if err := walkValue(dec, field, depth+1); err != nil {
				return err
			}
		}
	case '[':
		for i := 0; dec.More(); i++ {
			if err := walkValue(dec, path+"["+strconv.Itoa(i)+"]", depth+1); err != nil {
				return err
			}
		}
	}
	if _, err := dec.Token(); err != nil { // the closing delimiter
		return badRequest(syntaxDetail(err))
	}
	return nil
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func syntaxDetail(err error) string {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return "the body is not a complete JSON document"
	}
	return err.Error()
}
