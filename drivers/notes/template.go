package notes

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

//go:embed default.yaml
var defaultYAML []byte

// Limits of a template file.
const (
	MaxTemplateBytes = 64 << 10
	MaxPatterns      = 32 // per field
	MaxPatternLen    = 1024
)

// The fragments a pattern may use: {amount} is a price (23,50 / 1 234.50
// / -3,00, with € or EUR after it or not), {rate} a VAT rate in percent
// (10 / 5,5 / 20,00 followed by %).
const (
	amountRE = `(?P<amount>-?\s?\d{1,3}(?:[ .\x{00A0}]?\d{3})*[,.]\d{1,2})\s*(?:€|EUR)?`
	rateRE   = `(?P<rate>\d{1,2}(?:[,.]\d{1,3})?)\s*%`
)

// File is a template as written in its YAML file.
type File struct {
	Name       string   `yaml:"name"`
	Ref        []string `yaml:"ref"`
	Table      []string `yaml:"table"`
	Server     []string `yaml:"server"`
	Covers     []string `yaml:"covers"`
	Line       []string `yaml:"line"`
	Total      []string `yaml:"total"`
	VAT        []string `yaml:"vat"`
	VATDefault float64  `yaml:"vat_default"` // percent, when the note prints no VAT line
}

// Template is a compiled template.
type Template struct {
	Name                                         string
	ref, table, server, covers, line, total, vat []*regexp.Regexp
	vatDefault                                   int64 // basis points
}

// Default returns the built-in "default" template.
func Default() *Template {
	t, err := Parse(defaultYAML)
	if err != nil {
		panic("notes: the built-in template does not compile: " + err.Error())
	}
	return t
}

// Parse compiles a template file. Every pattern is matched
// case-insensitively against a whole printed line, trimmed.
func Parse(b []byte) (*Template, error) {
	if len(b) > MaxTemplateBytes {
		return nil, fmt.Errorf("notes: a template is at most %d bytes", MaxTemplateBytes)
	}
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("notes: template: %w", err)
	}
	if f.Name == "" {
		return nil, errors.New("notes: template: name is required")
	}
	if f.VATDefault < 0 || f.VATDefault >= 100 {
		return nil, errors.New("notes: template: vat_default is a percentage between 0 and 100")
	}
	t := &Template{Name: f.Name, vatDefault: int64(f.VATDefault*100 + 0.5)}
	var errs []error
	compile := func(field string, pats []string, groups ...string) []*regexp.Regexp {
		if len(pats) > MaxPatterns {
			errs = append(errs, fmt.Errorf("%s: at most %d patterns", field, MaxPatterns))
			return nil
		}
		var out []*regexp.Regexp
		for i, p := range pats {
			re, err := compilePattern(p, groups)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s[%d]: %w", field, i, err))
				continue
			}
			out = append(out, re)
		}
		return out
	}
	t.ref = compile("ref", f.Ref, "v")
	t.table = compile("table", f.Table, "v")
	t.server = compile("server", f.Server, "v")
	t.covers = compile("covers", f.Covers, "v")
	t.line = compile("line", f.Line, "qty", "label", "amount")
	t.total = compile("total", f.Total, "amount")
	t.vat = compile("vat", f.VAT, "rate", "amount")
	if len(t.ref) == 0 || len(t.line) == 0 || len(t.total) == 0 {
		errs = append(errs, errors.New("ref, line and total need a pattern each"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("notes: template %q: %w", f.Name, err)
	}
	return t, nil
}

// compilePattern expands the fragments and checks the named groups.
func compilePattern(p string, groups []string) (*regexp.Regexp, error) {
	if len(p) > MaxPatternLen {
		return nil, fmt.Errorf("a pattern is at most %d bytes", MaxPatternLen)
	}
	p = strings.ReplaceAll(p, "{amount}", amountRE)
	p = strings.ReplaceAll(p, "{rate}", rateRE)
	re, err := regexp.Compile("(?i)" + p)
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		if re.SubexpIndex(g) < 0 {
			return nil, fmt.Errorf("the pattern needs a group named %q: (?P<%s>...)", g, g)
		}
	}
	return re, nil
}

// parseAmount reads a printed price into cents: "23,50", "1 234.50",
// "10,7" (ten euros seventy), "-3,00".
func parseAmount(s string) (int64, error) {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimLeft(s, "- ")
	var digits strings.Builder
	frac := -1
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits.WriteRune(r)
			if frac >= 0 {
				frac++
			}
		case r == ',' || (r == '.' && frac < 0 && isDecimalDot(s)):
			frac = 0
		}
	}
	switch frac {
	case -1, 0:
		digits.WriteString("00")
	case 1:
		digits.WriteString("0")
	case 2:
	default:
		return 0, fmt.Errorf("amount %q: more than 2 decimals", s)
	}
	v, err := strconv.ParseInt(digits.String(), 10, 64)
	if err != nil || v > 1e11 {
		return 0, fmt.Errorf("amount %q: not a price", s)
	}
	if neg {
		v = -v
	}
	return v, nil
}

// isDecimalDot reports whether s's last dot separates decimals (one or
// two digits after it), not thousands.
func isDecimalDot(s string) bool {
	i := strings.LastIndexByte(s, '.')
	return i >= 0 && len(s)-i-1 <= 2 && !strings.Contains(s, ",")
}

// parseRate reads "10,00" (percent) into basis points.
func parseRate(s string) (int64, error) {
	s = strings.ReplaceAll(s, ",", ".")
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f >= 100 {
		return 0, fmt.Errorf("VAT rate %q: not a percentage", s)
	}
	return int64(f*100 + 0.5), nil
}

// DefaultSource is the built-in template's file, a start for another.
func DefaultSource() string { return string(defaultYAML) }
