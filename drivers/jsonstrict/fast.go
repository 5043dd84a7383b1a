package jsonstrict

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
)

// The till API checks every ticket with Check, and json.Decoder.Token,
// which the walker uses, allocates for every token: it was an eighth of the
// gateway's CPU on the POST path. A document that json.Valid accepts (the
// common case, and a scan without allocation) is walked here instead, over
// its bytes, with the same rules in the same order, so with the same
// result; any other goes to the walker, which says what is wrong with it
// as encoding/json does. FuzzFastCheck holds the two to the same answers.

// fastWalker walks a document that json.Valid accepted.
type fastWalker struct {
	data    []byte
	pos     int
	unknown Unknown
	ignored []string
	segs    []segment // where the walk is, made into a path only when needed
}

// segment is one step of a path: a name, or an index in an array. The
// name's bytes are the document's (or their unescaped copy), made into a
// string only when a path is: the walk passes every field of every ticket.
type segment struct {
	name  []byte
	index int // -1 for a name
}

func (w *fastWalker) path() string {
	var b []byte
	for _, s := range w.segs {
		if s.index >= 0 {
			b = append(b, '[')
			b = strconv.AppendInt(b, int64(s.index), 10)
			b = append(b, ']')
			continue
		}
		if len(b) > 0 {
			b = append(b, '.')
		}
		b = append(b, s.name...)
	}
	return string(b)
}

func (w *fastWalker) space() {
	for w.pos < len(w.data) {
		switch w.data[w.pos] {
		case ' ', '\t', '\r', '\n':
			w.pos++
		default:
			return
		}
	}
}

func (w *fastWalker) value(t reflect.Type, depth int) error {
	if depth > MaxDepth {
		return ErrTooDeep
	}
	w.space()
	switch w.data[w.pos] {
	case '{':
		w.pos++
		return w.object(deref(t), depth)
	case '[':
		w.pos++
		t = deref(t)
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		w.space()
		if w.data[w.pos] == ']' {
			w.pos++
			return nil
		}
		for i := 0; ; i++ {
			w.segs = append(w.segs, segment{index: i})
			err := w.value(elem, depth+1)
			w.segs = w.segs[:len(w.segs)-1]
			if err != nil {
				return err
			}
			w.space()
			c := w.data[w.pos]
			w.pos++
			if c == ']' {
				return nil
			}
		}
	case '"':
		w.skipString()
	default: // a number, true, false or null
		for w.pos < len(w.data) {
			switch w.data[w.pos] {
			case ',', ']', '}', ' ', '\t', '\r', '\n':
				return nil
			}
			w.pos++
		}
	}
	return nil
}

// skipString moves past the string that starts at pos and returns its raw
// bytes, quotes excluded, and whether it has an escape.
func (w *fastWalker) skipString() (raw []byte, escaped bool) {
	w.pos++ // the opening quote
	start := w.pos
	for {
		switch w.data[w.pos] {
		case '\\':
			escaped = true
			w.pos += 2
			continue
		case '"':
			raw = w.data[start:w.pos]
			w.pos++
			return raw, escaped
		}
		w.pos++
	}
}

func (w *fastWalker) object(t reflect.Type, depth int) error {
	var fields map[string]reflect.Type
	var elem reflect.Type
	switch {
	case t == nil:
	case t.Kind() == reflect.Struct:
		fields = fieldsOf(t)
	case t.Kind() == reflect.Map:
		elem = t.Elem()
	}
	var seen [][]byte // names are few: a list beats a map
	w.space()
	if w.data[w.pos] == '}' {
		w.pos++
		return nil
	}
	for {
		w.space()
		raw, escaped := w.skipString()
		if escaped {
			var s string
			if err := json.Unmarshal(w.data[w.pos-len(raw)-2:w.pos], &s); err != nil {
				return err // json.Valid took it: not reached
			}
			raw = []byte(s)
		}
		for _, s := range seen {
			if bytes.Equal(s, raw) {
				w.segs = append(w.segs, segment{name: raw, index: -1})
				return &FieldError{Path: w.path(), Reason: DuplicateName}
			}
		}
		seen = append(seen, raw)
		vt := elem
		if fields != nil {
			var known bool
			if vt, known = fields[string(raw)]; !known {
				w.segs = append(w.segs, segment{name: raw, index: -1})
				if spelt := foldMatch(fields, string(raw)); spelt != "" {
					return &FieldError{Path: w.path(), Reason: CaseMismatch, Field: spelt}
				}
				if w.unknown == Refuse {
					return &FieldError{Path: w.path(), Reason: UnknownName}
				}
				w.ignored = append(w.ignored, w.path())
				w.segs = w.segs[:len(w.segs)-1]
			}
		}
		w.space()
		w.pos++ // the colon
		w.segs = append(w.segs, segment{name: raw, index: -1})
		err := w.value(vt, depth+1)
		w.segs = w.segs[:len(w.segs)-1]
		if err != nil {
			return err
		}
		w.space()
		c := w.data[w.pos]
		w.pos++
		if c == '}' {
			return nil
		}
	}
}
