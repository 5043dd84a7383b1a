package escpos

import "golang.org/x/text/encoding/charmap"

// CodePage is a printer character table: bytes 0x80-0xFF to runes.
type CodePage struct {
	Name  string
	table [128]rune
}

// Rune returns what b prints as (b >= 0x20).
func (c *CodePage) Rune(b byte) rune {
	if b < 0x80 {
		return rune(b)
	}
	return c.table[b-0x80]
}

func newCodePage(name string, cm *charmap.Charmap) *CodePage {
	c := &CodePage{Name: name}
	for i := range c.table {
		c.table[i] = cm.DecodeByte(byte(0x80 + i))
	}
	return c
}

// CodePages are the tables the decoder knows, by name and by their ESC t
// number on Epson printers (the numbers most ESC/POS printers follow).
type CodePages struct {
	byName   map[string]*CodePage
	byNumber map[byte]*CodePage
}

// NewCodePages returns the known tables.
func NewCodePages() *CodePages {
	cps := &CodePages{byName: map[string]*CodePage{}, byNumber: map[byte]*CodePage{}}
	for _, e := range []struct {
		n     byte
		names []string
		cm    *charmap.Charmap
	}{
		{0, []string{"cp437"}, charmap.CodePage437},
		{2, []string{"cp850"}, charmap.CodePage850},
		{3, []string{"cp860"}, charmap.CodePage860},
		{4, []string{"cp863"}, charmap.CodePage863},
		{5, []string{"cp865"}, charmap.CodePage865},
		{16, []string{"cp1252", "windows1252", "windows-1252"}, charmap.Windows1252},
		{17, []string{"cp866"}, charmap.CodePage866},
		{18, []string{"cp852"}, charmap.CodePage852},
		{19, []string{"cp858"}, charmap.CodePage858},
		{40, []string{"iso8859-15", "latin9"}, charmap.ISO8859_15},
	} {
		cp := newCodePage(e.names[0], e.cm)
		cps.byNumber[e.n] = cp
		for _, name := range e.names {
			cps.byName[name] = cp
		}
	}
	return cps
}

// ByName returns the table called name (cp858, cp1252...), or nil.
func (c *CodePages) ByName(name string) *CodePage { return c.byName[name] }

// ByNumber returns the table ESC t n selects, or nil for one not known.
func (c *CodePages) ByNumber(n byte) *CodePage { return c.byNumber[n] }

// Names lists the names a configuration may use.
func (c *CodePages) Names() []string {
	out := make([]string, 0, len(c.byName))
	for n := range c.byName {
		out = append(out, n)
	}
	return out
}
