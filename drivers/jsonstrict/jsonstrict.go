// Package jsonstrict decodes JSON that a client sends, refusing what
// encoding/json lets through: a name given twice (the last would silently
// win), a name spelt in another case than its field's ("STATUS" for
// "status", which encoding/json takes for it), invalid UTF-8, trailing data
// and absurd nesting. The names are checked against the Go type that the
// document is decoded into, level by level. The till API and the terminal
// protocol both decode with it, so that they are strict in the same way.
package jsonstrict

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/passerelle/passerelle/gateway"
)

// MaxDepth bounds nesting: the messages we take need 3 levels.
const MaxDepth = 16

// What Check refuses besides names. A syntax error is returned as
// encoding/json reports it.
var (
	ErrNotUTF8     = errors.New("not valid UTF-8")
	ErrNotObject   = errors.New("not a JSON object")
	ErrIncomplete  = errors.New("not a complete JSON document")
	ErrTrailing    = errors.New("trailing data after the JSON object")
	ErrTooDeep     = errors.New("JSON nested too deeply")
	errUnreachable = errors.New("unexpected JSON token")
)

// Unknown says what becomes of a name that the type has no field for.
type Unknown int

const (
	// Refuse makes an unknown name an error.
	Refuse Unknown = iota
	// Ignore skips it; Check returns its path so the caller can say so.
	// A name that differs from a field's only by case is still refused:
	// encoding/json would take it for that field.
	Ignore
)

// Reason is why a name is refused.
type Reason int

const (
	UnknownName Reason = iota // no field of that name
	DuplicateName
	CaseMismatch // a field's name in another case
)

// FieldError is a name refused.
type FieldError struct {
	Path   string // where, as lines[1].qty
	Reason Reason
	Field  string // for CaseMismatch: the field's own spelling
}

func (e *FieldError) Error() string {
	switch e.Reason {
	case DuplicateName:
		return "duplicate field " + Quote(e.Path)
	case CaseMismatch:
		return "field " + Quote(e.Path) + " must be spelt " + strconv.Quote(e.Field)
	}
	return "unknown field " + Quote(e.Path)
}

// Quote quotes a field's path for a message, unless it could be a card
// number, which must never be echoed or logged.
func Quote(path string) string {
	if gateway.LooksLikePAN(path) {
		return "(a name that looks like a card number)"
	}
	return strconv.Quote(path)
}

// Decode checks data against v's type, then decodes it into v. It returns
// the paths of the names ignored. A value of the wrong type is encoding/json's
// *json.UnmarshalTypeError.
func Decode(data []byte, v any, unknown Unknown) (ignored []string, err error) {
	ignored, err = Check(data, reflect.TypeOf(v), unknown)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if unknown == Refuse {
		dec.DisallowUnknownFields()
	}
	return ignored, dec.Decode(v)
}

// Check walks data once: it must be valid UTF-8 and one JSON object, whose
// names (at every level where t says what they are) are t's fields' names
// exactly as spelt, each once. Where t does not say (a map, an interface,
// a value of another kind than t's), any name is taken, but still only once.
// It returns the paths of the unknown names ignored.
func Check(data []byte, t reflect.Type, unknown Unknown) ([]string, error) {
	if !utf8.Valid(data) {
		return nil, ErrNotUTF8
	}
	if first := bytes.TrimLeft(data, " \t\r\n"); len(first) == 0 || first[0] != '{' {
		return nil, ErrNotObject
	}
	if json.Valid(data) {
		w := fastWalker{data: data, unknown: unknown}
		if err := w.value(t, 0); err != nil {
			return nil, err
		}
		return w.ignored, nil
	}
	return checkTokens(data, t, unknown)
}

// checkTokens is Check by encoding/json's tokens, for a document that is
// not valid JSON: its error is encoding/json's, or a name's found before.
func checkTokens(data []byte, t reflect.Type, unknown Unknown) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	w := walker{dec: dec, unknown: unknown}
	if err := w.value("", t, 0); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, ErrTrailing
	}
	return w.ignored, nil
}

type walker struct {
	dec     *json.Decoder
	unknown Unknown
	ignored []string
}

func (w *walker) value(path string, t reflect.Type, depth int) error {
	if depth > MaxDepth {
		return ErrTooDeep
	}
	tok, err := w.dec.Token()
	if err != nil {
		return syntax(err)
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	t = deref(t)
	switch delim {
	case '{':
		err = w.object(path, t, depth)
	case '[':
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i := 0; w.dec.More() && err == nil; i++ {
			err = w.value(path+"["+strconv.Itoa(i)+"]", elem, depth+1)
		}
	default:
		return errUnreachable
	}
	if err != nil {
		return err
	}
	if _, err := w.dec.Token(); err != nil { // the closing delimiter
		return syntax(err)
	}
	return nil
}

func (w *walker) object(path string, t reflect.Type, depth int) error {
	var fields map[string]reflect.Type
	var elem reflect.Type
	switch {
	case t == nil:
	case t.Kind() == reflect.Struct:
		fields = fieldsOf(t)
	case t.Kind() == reflect.Map:
		elem = t.Elem()
	}
	seen := map[string]bool{}
	for w.dec.More() {
		tok, err := w.dec.Token()
		if err != nil {
			return syntax(err)
		}
		name, ok := tok.(string)
		if !ok {
			return errUnreachable
		}
		field := join(path, name)
		if seen[name] {
			return &FieldError{Path: field, Reason: DuplicateName}
		}
		seen[name] = true
		vt := elem
		if fields != nil {
			var known bool
			if vt, known = fields[name]; !known {
				if spelt := foldMatch(fields, name); spelt != "" {
					return &FieldError{Path: field, Reason: CaseMismatch, Field: spelt}
				}
				if w.unknown == Refuse {
					return &FieldError{Path: field, Reason: UnknownName}
				}
				w.ignored = append(w.ignored, field)
			}
		}
		if err := w.value(field, vt, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// foldMatch returns the field name that name would be taken for by
// encoding/json, which matches names as bytes.EqualFold does, or "".
func foldMatch(fields map[string]reflect.Type, name string) string {
	for f := range fields {
		if strings.EqualFold(f, name) {
			return f
		}
	}
	return ""
}

func deref(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

var fieldCache sync.Map // reflect.Type -> map[string]reflect.Type

// fieldsOf returns the JSON names of a struct's fields, as encoding/json
// names them: the tag's name, else the Go name; embedded structs without a
// tag lend their fields.
func fieldsOf(t reflect.Type) map[string]reflect.Type {
	if f, ok := fieldCache.Load(t); ok {
		return f.(map[string]reflect.Type)
	}
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if sf.Anonymous && name == "" {
			if et := deref(sf.Type); et.Kind() == reflect.Struct {
				for n, ft := range fieldsOf(et) {
					if _, own := out[n]; !own {
						out[n] = ft
					}
				}
				continue
			}
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		out[name] = sf.Type
	}
	fieldCache.Store(t, out)
	return out
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func syntax(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return ErrIncomplete
	}
	return err
}
