package tillapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
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
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(&in)
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &te):
		p := problem(http.StatusUnprocessableEntity, "invalid", "Invalid ticket", "some fields are invalid")
		p.Errors = []gateway.FieldError{{Field: te.Field, Message: "must be a " + jsonKind(te.Type.Kind().String())}}
		return in, p
	case err != nil:
		return in, badRequest(err.Error())
	}
	return in, nil
}

func jsonKind(goKind string) string {
	switch goKind {
	case "int64", "int":
		return "whole number (within range)"
	case "slice":
		return "list"
	case "struct":
		return "object"
	}
	return goKind
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
