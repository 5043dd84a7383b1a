package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// ScenariosFile is the scenarios file's name in the data directory.
const ScenariosFile = "scenarios.yaml"

// Limits of a scenarios file. They keep a mistyped or hostile file from
// costing the gateway more than a glance, and a terminal's small screen from
// being handed more than it can show.
const (
	MaxScenarioFileSize  = 1 << 20 // bytes
	MaxScenarios         = 100
	MaxScenarioSteps     = 50 // per scenario
	MaxScenarioKeys      = 32 // per keys mapping (the shop's, or one terminal's)
	MaxTerminalOverrides = 100
	MaxScreenTextLen     = 64 // a title, a label, a line of a message
	MaxMessageLines      = 8
	MaxInputLen          = 32 // characters an input step may ask for
	MaxTimeoutS          = 60
	DefaultTimeoutS      = 3
	DefaultPayLabel      = "DÉBIT"
	maxKeyNameLen        = 16
	maxScenarioNameLen   = 64
	maxProblems          = 50
	// How far past yaml's own guess we look for the line of a syntax error.
	maxSyntaxRefine = 50
)

//go:embed scenarios.default.yaml
var defaultScenariosYAML []byte

// DefaultScenariosYAML returns the built-in scenarios file, as written to the
// data directory on first start.
func DefaultScenariosYAML() []byte {
	return bytes.Clone(defaultScenariosYAML)
}

// ScenarioProblem is one thing wrong with a scenarios file, at its line
// (counted from 1).
type ScenarioProblem struct {
	Line    int    `json:"line"`
	Message string `json:"message"`
}

// ScenarioFileError lists what is wrong with a scenarios file, in line order.
type ScenarioFileError struct {
	File     string // the file's path, when there is one
	Problems []ScenarioProblem
	// Truncated says more problems were found than are listed: a file that
	// is that broken is best fixed from the top.
	Truncated bool
}

func (e *ScenarioFileError) Error() string {
	var b strings.Builder
	b.WriteString("scenarios")
	if e.File != "" {
		b.WriteString(" " + e.File)
	}
	b.WriteString(": ")
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "line %d: %s", p.Line, p.Message)
	}
	if e.Truncated {
		fmt.Fprintf(&b, "; more problems not listed (only the first %d are)", len(e.Problems))
	}
	return b.String()
}

// ParseScenarios parses and validates a scenarios file (see
// docs/scenarios.md). Whatever is wrong comes back as a *ScenarioFileError
// that names the line of every problem.
func ParseScenarios(data []byte) (ScenarioSet, error) {
	p := &scenarioParser{}
	set := p.parse(data)
	if len(p.problems) > 0 {
		sort.SliceStable(p.problems, func(i, j int) bool { return p.problems[i].Line < p.problems[j].Line })
		return ScenarioSet{}, &ScenarioFileError{Problems: p.problems, Truncated: p.truncated}
	}
	return set, nil
}

type scenarioParser struct {
	problems  []ScenarioProblem
	truncated bool
	// declared holds every scenario name in the file, valid or not: a key
	// to a scenario that has problems of its own is not one more problem.
	declared map[string]bool
}

func (p *scenarioParser) add(line int, format string, args ...any) {
	if len(p.problems) >= maxProblems {
		p.truncated = true
		return
	}
	if line < 1 {
		line = 1
	}
	p.problems = append(p.problems, ScenarioProblem{Line: line, Message: fmt.Sprintf(format, args...)})
}

func (p *scenarioParser) parse(data []byte) ScenarioSet {
	if len(data) > MaxScenarioFileSize {
		line := bytes.Count(data[:MaxScenarioFileSize], []byte("\n")) + 1
		p.add(line, "the file is larger than the %d bytes allowed", MaxScenarioFileSize)
		return ScenarioSet{}
	}
	// yaml reports these without a line: find them first, with theirs.
	if p.checkChars(data) {
		return ScenarioSet{}
	}
	root, second, err := decodeYAML(data)
	if err != nil {
		p.problems = append(p.problems, syntaxProblem(data, err))
		return ScenarioSet{}
	}
	if root == nil {
		p.add(1, "the file is empty: it needs at least a scenarios section (see docs/scenarios.md)")
		return ScenarioSet{}
	}
	if second != nil {
		p.add(second.Line, "a second YAML document starts here (---): the file holds one document only")
	}
	if root.Kind != yaml.MappingNode {
		p.add(root.Line, "the file must be a mapping with the sections keys, terminals and scenarios; found %s", describe(root))
		return ScenarioSet{}
	}

	var keysN, termsN, scensN *yaml.Node
	for _, kv := range p.pairs(root, "the file") {
		switch kv.key {
		case "keys":
			keysN = kv.val
		case "terminals":
			termsN = kv.val
		case "scenarios":
			scensN = kv.val
		default:
			p.add(kv.line, "unknown section %q: the sections are keys, terminals and scenarios", kv.key)
		}
	}

	set := ScenarioSet{
		Keys:      map[string]string{},
		Terminals: map[string]map[string]string{},
		Scenarios: map[string]*Scenario{},
	}
	if scensN == nil {
		p.add(root.Line, "the scenarios section is missing: it defines what each key does (see docs/scenarios.md)")
		return set
	}
	p.scenarios(scensN, set.Scenarios)
	if len(p.declared) == 0 {
		return set // which key starts what cannot be checked
	}
	if keysN != nil {
		set.Keys = p.keys(keysN, "keys", set.Scenarios)
	}
	if termsN != nil {
		p.terminals(termsN, set.Scenarios, set.Terminals)
	}
	return set
}

// decodeYAML returns the file's first document's content (nil if there is
// none) and the second document, if any, which the caller refuses.
func decodeYAML(data []byte) (root, second *yaml.Node, err error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, nil
		}
		return nil, nil, err
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, nil, err
	default:
		second = &next
	}
	if len(doc.Content) == 0 {
		return nil, second, nil
	}
	return doc.Content[0], second, nil
}

var (
	yamlLineRE      = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	unknownAnchorRE = regexp.MustCompile(`^yaml: unknown anchor '(.*)' referenced$`)
)

// yamlParserProblems are the syntax errors that yaml's parser (rather than
// its scanner) reports: their line is counted from 0.
var yamlParserProblems = []string{
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"did not find expected '-' indicator",
	"did not find expected <document start>",
	"did not find expected <stream-start>",
	"did not find expected key",
	"did not find expected node content",
	"found duplicate %TAG directive",
	"found duplicate %YAML directive",
	"found incompatible YAML document",
	"found undefined tag handle",
}

// yamlError splits a yaml error into its line (0 if it has none, or if it
// is the file's first) and its message.
func yamlError(err error) (int, string) {
	msg := err.Error()
	m := yamlLineRE.FindStringSubmatch(msg)
	if m == nil {
		return 0, strings.TrimPrefix(msg, "yaml: ")
	}
	line, _ := strconv.Atoi(m[1])
	if slices.Contains(yamlParserProblems, m[2]) {
		line++
	}
	return line, m[2]
}

// syntaxProblem turns a yaml syntax error into a problem at the right line.
// yaml's own line is, for some errors, where the enclosing block starts, and
// some errors have none: so we look for the shortest run of lines, from
// yaml's guess on, that already fails the same way.
func syntaxProblem(data []byte, err error) ScenarioProblem {
	line, msg := yamlError(err)
	if m := unknownAnchorRE.FindStringSubmatch(err.Error()); m != nil {
		if i := bytes.Index(data, []byte("*"+m[1])); i >= 0 {
			line = bytes.Count(data[:i], []byte("\n")) + 1
		}
		return ScenarioProblem{Line: max(line, 1), Message: fmt.Sprintf("alias *%s refers to no anchor; aliases are not supported anyway: write the value out in full", m[1])}
	}
	line = max(line, 1)
	ends := lineEnds(data)
	for k := line; k <= len(ends) && k < line+maxSyntaxRefine; k++ {
		_, _, perr := decodeYAML(data[:ends[k-1]])
		if perr == nil {
			continue
		}
		if _, pmsg := yamlError(perr); pmsg == msg {
			line = k
			break
		}
	}
	line = min(line, max(len(ends), 1))
	return ScenarioProblem{Line: line, Message: "the YAML is malformed (" + msg + "): check the indentation (spaces, not tabs), the colons and the quotes around here"}
}

// lineEnds returns, for each line, the offset just past its end.
func lineEnds(data []byte) []int {
	var ends []int
	for i, c := range data {
		if c == '\n' {
			ends = append(ends, i+1)
		}
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		ends = append(ends, len(data))
	}
	return ends
}

// checkChars reports bytes that are not UTF-8 and characters that YAML
// refuses (control characters but tab and line breaks), which yaml reports
// without saying where. It says whether there were any.
func (p *scenarioParser) checkChars(data []byte) bool {
	found := false
	line := 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == '\n':
			line++
		case r == utf8.RuneError && size == 1:
			p.add(line, "the text is not valid UTF-8: save the file as UTF-8")
			found = true
			// One report per line is enough.
			for i < len(data) && data[i] != '\n' {
				i++
			}
			continue
		case !yamlAllowed(r):
			p.add(line, "control character U+%04X: only tabs and line breaks are allowed", r)
			found = true
		}
		i += size
	}
	return found
}

// yamlAllowed reports whether YAML allows r in a file (YAML 1.2, 5.1).
func yamlAllowed(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r' || r == 0x85:
	case r >= 0x20 && r <= 0x7e:
	case r >= 0xa0 && r <= 0xd7ff:
	case r >= 0xe000 && r <= 0xfffd:
	case r >= 0x10000 && r <= 0x10ffff:
	default:
		return false
	}
	return true
}

// kv is one entry of a mapping.
type kv struct {
	key  string
	line int
	val  *yaml.Node
}

// pairs returns a mapping's entries, reporting keys that are not plain text
// and keys given twice. A null (an empty section) is an empty mapping.
func (p *scenarioParser) pairs(n *yaml.Node, what string) []kv {
	if isNull(n) {
		return nil
	}
	if !p.notAlias(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.add(n.Line, "%s must be a mapping (name: value lines); found %s", what, describe(n))
		return nil
	}
	seen := map[string]int{}
	var out []kv
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			p.add(k.Line, "merge keys (<<) are not supported: write each field out")
			continue
		}
		if !p.notAlias(k) {
			continue
		}
		if k.Kind != yaml.ScalarNode || isNull(k) {
			p.add(k.Line, "in %s, a key must be a plain name; found %s", what, describe(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			p.add(k.Line, "%q is given twice in %s (first at line %d): give each once", k.Value, what, first)
			continue
		}
		seen[k.Value] = k.Line
		out = append(out, kv{key: k.Value, line: k.Line, val: v})
	}
	return out
}

func (p *scenarioParser) notAlias(n *yaml.Node) bool {
	if n.Kind == yaml.AliasNode {
		p.add(n.Line, "aliases (*%s) are not supported: write the value out in full", n.Value)
		return false
	}
	return true
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// describe names what a node is, for messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		if isNull(n) {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

// text returns a scalar's text; a null is "". ok is false (and the problem
// reported) if n is not text.
func (p *scenarioParser) text(n *yaml.Node, field string) (string, bool) {
	if !p.notAlias(n) {
		return "", false
	}
	if n.Kind != yaml.ScalarNode {
		p.add(n.Line, "%s must be text; found %s", field, describe(n))
		return "", false
	}
	switch n.Tag {
	case "!!null":
		return "", true
	case "!!str", "!!int", "!!float", "!!bool":
		return n.Value, true
	}
	p.add(n.Line, "%s must be text; found a value tagged %s", field, n.Tag)
	return "", false
}

// screenText returns a title, label or line, checked as a terminal shows it.
func (p *scenarioParser) screenText(n *yaml.Node, field string, required bool) (string, bool) {
	s, ok := p.text(n, field)
	if !ok {
		return "", false
	}
	min := 0
	if required {
		min = 1
	}
	if msg := CheckText(s, min, MaxScreenTextLen); msg != "" {
		p.add(n.Line, "%s %s: it is shown on the terminal, at most %d characters, printable only", field, msg, MaxScreenTextLen)
		return "", false
	}
	return s, true
}

// integer returns a whole number within lo..hi.
func (p *scenarioParser) integer(n *yaml.Node, field string, lo, hi int) (int, bool) {
	if !p.notAlias(n) {
		return 0, false
	}
	v, err := strconv.ParseInt(n.Value, 0, 64)
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || err != nil {
		p.add(n.Line, "%s must be a whole number from %d to %d; found %s", field, lo, hi, describe(n))
		return 0, false
	}
	if v < int64(lo) || v > int64(hi) {
		p.add(n.Line, "%s is %d: it must be from %d to %d", field, v, lo, hi)
		return 0, false
	}
	return int(v), true
}

// choiceList returns a non-empty list of distinct values from allowed.
func (p *scenarioParser) choiceList(n *yaml.Node, field string, allowed []string) ([]string, bool) {
	if !p.notAlias(n) {
		return nil, false
	}
	list := strings.Join(allowed, ", ")
	if n.Kind != yaml.SequenceNode {
		p.add(n.Line, "%s must be a list such as [%s]; found %s", field, list, describe(n))
		return nil, false
	}
	if len(n.Content) == 0 {
		p.add(n.Line, "%s is empty: give at least one of %s", field, list)
		return nil, false
	}
	ok := true
	var out []string
	for _, item := range n.Content {
		s, tok := p.text(item, field+" items")
		if !tok {
			ok = false
			continue
		}
		switch {
		case !slices.Contains(allowed, s):
			p.add(item.Line, "%s: unknown value %q: allowed are %s", field, s, list)
			ok = false
		case slices.Contains(out, s):
			p.add(item.Line, "%s: %q is given twice: give each once", field, s)
			ok = false
		default:
			out = append(out, s)
		}
	}
	return out, ok
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func validName(s string, maxLen int) bool {
	return len(s) <= maxLen && nameRE.MatchString(s)
}

func (p *scenarioParser) scenarios(n *yaml.Node, into map[string]*Scenario) {
	entries := p.pairs(n, "scenarios")
	if len(entries) == 0 && !isNull(n) && n.Kind != yaml.MappingNode {
		return // already reported
	}
	if len(entries) == 0 {
		p.add(n.Line, "scenarios is empty: define at least one (see docs/scenarios.md)")
		return
	}
	p.declared = map[string]bool{}
	for _, e := range entries {
		p.declared[e.key] = true
	}
	if len(entries) > MaxScenarios {
		p.add(n.Line, "%d scenarios are defined: at most %d are allowed", len(entries), MaxScenarios)
		entries = entries[:MaxScenarios]
	}
	for _, e := range entries {
		if !validName(e.key, maxScenarioNameLen) {
			p.add(e.line, "scenario name %q: use letters, digits, _ and - only, at most %d, e.g. paiement_proximite", e.key, maxScenarioNameLen)
			continue
		}
		if sc := p.scenario(e); sc != nil {
			into[e.key] = sc
		}
	}
}

func (p *scenarioParser) scenario(e kv) *Scenario {
	sc := &Scenario{Name: e.key, Title: e.key, Line: e.line}
	if isNull(e.val) {
		p.add(e.line, "scenario %s is empty: it needs steps", e.key)
		return nil
	}
	what := "scenario " + e.key
	var stepsN *yaml.Node
	ok := e.val.Kind == yaml.MappingNode
	for _, f := range p.pairs(e.val, what) {
		switch f.key {
		case "title":
			t, tok := p.screenText(f.val, "title", true)
			ok = ok && tok
			sc.Title = t
		case "steps":
			stepsN = f.val
		default:
			p.add(f.line, "unknown field %q in %s: a scenario has title and steps", f.key, what)
			ok = false
		}
	}
	if e.val.Kind != yaml.MappingNode {
		return nil
	}
	if stepsN == nil {
		p.add(e.line, "%s has no steps: give a list of steps ending with done", what)
		return nil
	}
	steps, sok := p.steps(stepsN, what)
	if !ok || !sok {
		return nil
	}
	sc.Steps = steps
	return sc
}

// stepFields says which fields each step kind takes, besides step.
var stepFields = map[StepKind][]string{
	StepPickTicket: {"title", "status", "server"},
	StepInput:      {"title", "input", "min", "max", "var"},
	StepLookup:     {"by"},
	StepShowTicket: {"title", "choices"},
	StepPay:        {"label"},
	StepPrint:      {"print"},
	StepReprint:    {"print"},
	StepMessage:    {"title", "lines", "timeout_s"},
	StepDone:       {"title", "timeout_s"},
}

var stepKinds = []string{
	string(StepPickTicket), string(StepInput), string(StepLookup), string(StepShowTicket),
	string(StepPay), string(StepPrint), string(StepReprint), string(StepMessage), string(StepDone),
}

// inputMax is the longest answer each variable may take: what the rest of
// the gateway accepts for it.
var inputMax = map[string]int{
	VarTable:  MaxTableLen,
	VarRef:    min(MaxRefLen, MaxInputLen),
	VarAmount: len(strconv.Itoa(MaxTotal)),
}

func (p *scenarioParser) steps(n *yaml.Node, what string) ([]Step, bool) {
	if !p.notAlias(n) {
		return nil, false
	}
	if isNull(n) || n.Kind == yaml.SequenceNode && len(n.Content) == 0 {
		p.add(n.Line, "%s has no steps: give a list of steps ending with done", what)
		return nil, false
	}
	if n.Kind != yaml.SequenceNode {
		p.add(n.Line, "steps of %s must be a list (lines starting with - step:); found %s", what, describe(n))
		return nil, false
	}
	items := n.Content
	ok := true
	if len(items) > MaxScenarioSteps {
		p.add(n.Line, "%s has %d steps: at most %d are allowed", what, len(items), MaxScenarioSteps)
		items = items[:MaxScenarioSteps]
		ok = false
	}
	var steps []Step
	for _, item := range items {
		st, sok := p.step(item)
		if !sok {
			ok = false
			continue
		}
		steps = append(steps, st)
	}
	if !ok {
		// The order rules below would only echo the problems above.
		return nil, false
	}
	return steps, p.checkOrder(steps, what)
}

func (p *scenarioParser) step(n *yaml.Node) (Step, bool) {
	st := Step{Line: n.Line}
	if !p.notAlias(n) {
		return st, false
	}
	if n.Kind != yaml.MappingNode {
		p.add(n.Line, "a step must be a mapping starting with step: (one of %s); found %s", strings.Join(stepKinds, ", "), describe(n))
		return st, false
	}
	fields := p.pairs(n, "a step")
	i := slices.IndexFunc(fields, func(f kv) bool { return f.key == "step" })
	if i < 0 {
		p.add(n.Line, "this step has no step: field saying what it does: one of %s", strings.Join(stepKinds, ", "))
		return st, false
	}
	kind, ok := p.text(fields[i].val, "step")
	if !ok {
		return st, false
	}
	st.Kind = StepKind(kind)
	allowed, known := stepFields[st.Kind]
	if !known {
		p.add(fields[i].val.Line, "unknown step %q: a step is one of %s", kind, strings.Join(stepKinds, ", "))
		return st, false
	}
	r := &stepReader{p: p, line: n.Line, kind: kind, given: map[string]*yaml.Node{}, ok: true}
	for _, f := range fields {
		switch {
		case f.key == "step":
		case slices.Contains(allowed, f.key):
			r.given[f.key] = f.val
		default:
			p.add(f.line, "%s is not a field of a %s step: it takes %s", quoteField(f.key), kind, fieldList(allowed))
			r.ok = false
		}
	}

	switch st.Kind {
	case StepPickTicket:
		st.Title = r.title(true)
		st.Statuses = []TicketStatus{TicketOpen, TicketPartiallyPaid}
		if r.has("status") {
			st.Statuses = nil
			for _, s := range r.list("status", ticketStatuses) {
				st.Statuses = append(st.Statuses, TicketStatus(s))
			}
		}
		st.Server = r.text("server", MaxNameLen, `a server's name as the till sends it, or "" for all`)
	case StepInput:
		st.Title = r.title(true)
		st.Input = r.oneOf("input", "numeric", "text")
		st.Var = r.oneOf("var", VarTable, VarRef, VarAmount)
		if st.Var == VarAmount && st.Input == "text" {
			r.bad(r.given["input"].Line, "input text for var amount: an amount is typed as a number, use input: numeric")
		}
		limit := MaxInputLen
		if m, ok := inputMax[st.Var]; ok {
			limit = m
		}
		st.Min = r.integer("min", 1, MaxInputLen, 1)
		st.Max = r.integer("max", 1, MaxInputLen, limit)
		if st.Max > limit {
			r.bad(r.given["max"].Line, "max is %d but a %s has at most %d characters: give a max from 1 to %d", st.Max, st.Var, limit, limit)
		}
		if r.ok && st.Min > st.Max {
			r.bad(n.Line, "min (%d) is more than max (%d): give 1 ≤ min ≤ max ≤ %d", st.Min, st.Max, limit)
		}
	case StepLookup:
		st.By = r.oneOf("by", VarTable, VarRef)
	case StepShowTicket:
		st.Title = r.title(false)
		st.Choices = r.list("choices", []string{ChoiceFull, ChoiceSplit, ChoiceAmount, ChoiceTip})
	case StepPay:
		st.Label = DefaultPayLabel
		if r.has("label") {
			st.Label = r.screenText("label", true)
		}
	case StepPrint:
		st.Print = r.list("print", []string{PrintBank, PrintNote})
	case StepReprint:
		st.Print = []string{PrintBank, PrintNote}
		if r.has("print") {
			st.Print = r.list("print", []string{PrintBank, PrintNote})
		}
	case StepMessage:
		st.Title = r.title(true)
		st.Lines = r.messageLines()
		st.TimeoutS = r.integer("timeout_s", 0, MaxTimeoutS, DefaultTimeoutS)
	case StepDone:
		st.Title = r.title(true)
		st.TimeoutS = r.integer("timeout_s", 0, MaxTimeoutS, DefaultTimeoutS)
	}
	return st, r.ok
}

var ticketStatuses = []string{
	string(TicketOpen), string(TicketPartiallyPaid), string(TicketPaid), string(TicketOverpaid), string(TicketCancelled),
}

// stepReader reads the fields of one step, reporting what is wrong as it
// goes; ok is false once anything was.
type stepReader struct {
	p     *scenarioParser
	line  int
	kind  string
	given map[string]*yaml.Node
	ok    bool
}

func (r *stepReader) bad(line int, format string, args ...any) {
	r.p.add(line, format, args...)
	r.ok = false
}

func (r *stepReader) has(name string) bool {
	_, ok := r.given[name]
	return ok
}

// need returns a field the step cannot do without.
func (r *stepReader) need(name, what string) *yaml.Node {
	v, ok := r.given[name]
	if !ok {
		r.bad(r.line, "this %s step needs %s: %s", r.kind, name, what)
	}
	return v
}

func (r *stepReader) title(required bool) string {
	if !required && !r.has("title") {
		return ""
	}
	if r.need("title", "the text the terminal shows") == nil {
		return ""
	}
	return r.screenText("title", required)
}

func (r *stepReader) screenText(name string, required bool) string {
	s, ok := r.p.screenText(r.given[name], name, required)
	r.ok = r.ok && ok
	return s
}

// text returns an optional free text of at most maxLen characters.
func (r *stepReader) text(name string, maxLen int, what string) string {
	v, ok := r.given[name]
	if !ok {
		return ""
	}
	s, ok := r.p.text(v, name)
	if !ok {
		r.ok = false
		return ""
	}
	if msg := CheckText(s, 0, maxLen); msg != "" {
		r.bad(v.Line, "%s %s: it is %s, at most %d characters", name, msg, what, maxLen)
		return ""
	}
	return s
}

// oneOf returns a required field that takes one of allowed.
func (r *stepReader) oneOf(name string, allowed ...string) string {
	list := strings.Join(allowed, " or ")
	v := r.need(name, list)
	if v == nil {
		return ""
	}
	s, ok := r.p.text(v, name)
	if !ok {
		r.ok = false
		return ""
	}
	if !slices.Contains(allowed, s) {
		r.bad(v.Line, "%s %q: it is %s", name, s, list)
		return ""
	}
	return s
}

// integer returns an optional whole number within lo..hi, def if absent.
func (r *stepReader) integer(name string, lo, hi, def int) int {
	v, ok := r.given[name]
	if !ok {
		return def
	}
	i, ok := r.p.integer(v, name, lo, hi)
	if !ok {
		r.ok = false
		return def
	}
	return i
}

// list returns a required non-empty list of distinct values from allowed.
func (r *stepReader) list(name string, allowed []string) []string {
	v := r.need(name, "a list of "+strings.Join(allowed, ", "))
	if v == nil {
		return nil
	}
	l, ok := r.p.choiceList(v, name, allowed)
	r.ok = r.ok && ok
	return l
}

func (r *stepReader) messageLines() []string {
	n, ok := r.given["lines"]
	if !ok {
		return nil
	}
	if !r.p.notAlias(n) {
		r.ok = false
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		r.bad(n.Line, "lines must be a list of texts; found %s", describe(n))
		return nil
	}
	if len(n.Content) > MaxMessageLines {
		r.bad(n.Line, "lines has %d lines: at most %d fit on a terminal", len(n.Content), MaxMessageLines)
		return nil
	}
	var out []string
	for _, item := range n.Content {
		s, ok := r.p.screenText(item, "a line", false)
		r.ok = r.ok && ok
		out = append(out, s)
	}
	return out
}

// checkOrder checks that the steps make sense in their order: the ticket is
// chosen before it is shown, paid or its note printed; the bank ticket is
// printed after the payment; done comes last.
func (p *scenarioParser) checkOrder(steps []Step, what string) bool {
	ok := true
	bad := func(line int, format string, args ...any) {
		p.add(line, format, args...)
		ok = false
	}
	filled := map[string]int{} // var → line of the input step
	ticketAt, payAt, doneAt := 0, 0, 0
	pays := slices.ContainsFunc(steps, func(s Step) bool { return s.Kind == StepPay })
	for _, s := range steps {
		if doneAt != 0 {
			bad(s.Line, "this step comes after done (line %d), which ends the scenario: done must be the last step", doneAt)
			continue
		}
		switch s.Kind {
		case StepPickTicket, StepLookup:
			if ticketAt != 0 {
				bad(s.Line, "the ticket is already chosen at line %d: a scenario chooses one ticket (one pick_ticket or lookup)", ticketAt)
			}
			ticketAt = s.Line
		}
		switch s.Kind {
		case StepPickTicket:
			if pays {
				for _, st := range s.Statuses {
					if st != TicketOpen && st != TicketPartiallyPaid {
						bad(s.Line, "status %s: %s pays, so it may only pick tickets with something left to pay (open, partially_paid)", st, what)
					}
				}
			}
		case StepInput:
			filled[s.Var] = s.Line
		case StepLookup:
			if _, there := filled[s.By]; !there {
				bad(s.Line, "lookup by %s needs the %s asked first: put an input step with var: %s before it", s.By, s.By, s.By)
			}
		case StepShowTicket:
			if ticketAt == 0 {
				bad(s.Line, "show_ticket needs a ticket: put a pick_ticket or lookup step before it")
			}
		case StepPay:
			if ticketAt == 0 {
				bad(s.Line, "pay needs a ticket: put a pick_ticket or lookup step before it")
			}
			if payAt != 0 {
				bad(s.Line, "%s already pays at line %d: a scenario has at most one pay step", what, payAt)
			}
			payAt = s.Line
		case StepPrint:
			if slices.Contains(s.Print, PrintBank) && payAt == 0 {
				bad(s.Line, "print bank needs the payment first: put a pay step before it (or print only note)")
			}
			if slices.Contains(s.Print, PrintNote) && ticketAt == 0 {
				bad(s.Line, "print note needs a ticket: put a pick_ticket or lookup step before it")
			}
		case StepDone:
			doneAt = s.Line
		}
	}
	if last := steps[len(steps)-1]; last.Kind != StepDone && doneAt == 0 {
		bad(last.Line, "%s must end with a done step, which returns the terminal to idle; its last step is %s", what, last.Kind)
	}
	return ok
}

func (p *scenarioParser) keys(n *yaml.Node, what string, scenarios map[string]*Scenario) map[string]string {
	out := map[string]string{}
	entries := p.pairs(n, what)
	if len(entries) > MaxScenarioKeys {
		p.add(n.Line, "%s maps %d keys: at most %d are allowed", what, len(entries), MaxScenarioKeys)
		entries = entries[:MaxScenarioKeys]
	}
	for _, e := range entries {
		if !validName(e.key, maxKeyNameLen) {
			p.add(e.line, "key name %q: a key is named as the terminal names it (F1, F2, …): letters, digits, _ and - only, at most %d", e.key, maxKeyNameLen)
			continue
		}
		name, ok := p.text(e.val, "the scenario of key "+e.key)
		if !ok {
			continue
		}
		if _, ok := scenarios[name]; !ok {
			if p.declared[name] {
				continue // its own problems are reported
			}
			p.add(e.val.Line, "key %s starts scenario %q, which is not defined under scenarios (defined: %s)", e.key, name, scenarioNames(p.declared))
			continue
		}
		out[e.key] = name
	}
	return out
}

func (p *scenarioParser) terminals(n *yaml.Node, scenarios map[string]*Scenario, into map[string]map[string]string) {
	entries := p.pairs(n, "terminals")
	if len(entries) > MaxTerminalOverrides {
		p.add(n.Line, "terminals lists %d terminals: at most %d are allowed", len(entries), MaxTerminalOverrides)
		entries = entries[:MaxTerminalOverrides]
	}
	for _, e := range entries {
		if msg := CheckText(e.key, 1, MaxNameLen); msg != "" {
			p.add(e.line, "terminal %q: its name or ID %s (at most %d characters, printable)", e.key, msg, MaxNameLen)
			continue
		}
		into[e.key] = p.keys(e.val, "the keys of terminal "+strconv.Quote(e.key), scenarios)
	}
}

func scenarioNames(declared map[string]bool) string {
	names := slices.Sorted(maps.Keys(declared))
	if len(names) > 10 {
		return strings.Join(names[:10], ", ") + ", …"
	}
	return strings.Join(names, ", ")
}

func fieldList(fields []string) string {
	if len(fields) == 1 {
		return "only " + fields[0]
	}
	return strings.Join(fields[:len(fields)-1], ", ") + " and " + fields[len(fields)-1]
}

// quoteField names a field in a message: as is when it is a plain name,
// quoted when it holds something odd.
func quoteField(s string) string {
	if validName(s, 32) {
		return s
	}
	return strconv.Quote(s)
}

// contentHash identifies a file's content, to tell a real change from a
// touched file.
func contentHash(b []byte) [32]byte { return sha256.Sum256(b) }

// ScenarioFile is the shop's scenarios file, kept loaded: Current is always a
// valid set, the last one the file held. A change on disk that does not
// parse is refused (logged, and told by LastError) and the last good set
// stays in service, so a typo never leaves the terminals without scenarios.
type ScenarioFile struct {
	// PollInterval is how often Run looks at the file (default 1 s). Set it
	// before Run.
	PollInterval time.Duration

	path    string
	log     *slog.Logger
	cur     atomic.Pointer[ScenarioSet]
	lastErr atomic.Pointer[errBox]

	mu       sync.Mutex // serialises polls and saves
	seen     [32]byte   // the hash of the content last looked at, taken or refused
	settling [32]byte   // of a change seen at the last poll, not yet taken
}

type errBox struct{ err error }

// NewScenarioFile loads the scenarios file at path, first writing the
// built-in defaults there if there is none. A file that does not parse is an
// error that names its lines: the gateway does not start on a guess.
func NewScenarioFile(path string, log *slog.Logger) (*ScenarioFile, error) {
	if log == nil {
		log = slog.Default()
	}
	f := &ScenarioFile{PollInterval: time.Second, path: path, log: log}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if err := writeFileAtomic(path, defaultScenariosYAML, 0o644); err != nil {
			return nil, err
		}
		log.Info("scenarios file created with the defaults", "path", path)
	}
	data, err := readScenarioFile(path)
	if err != nil {
		return nil, err
	}
	set, err := f.parse(data)
	if err != nil {
		return nil, err
	}
	f.seen = contentHash(data)
	f.cur.Store(&set)
	f.lastErr.Store(&errBox{})
	log.Info("scenarios loaded", "path", path, "scenarios", len(set.Scenarios))
	return f, nil
}

// Path is the file's path.
func (f *ScenarioFile) Path() string { return f.path }

// Current returns the scenarios in service. The set is shared: read it, do
// not change it.
func (f *ScenarioFile) Current() ScenarioSet { return *f.cur.Load() }

// LastError says why the file's last change on disk was refused, or is nil
// when Current is what the file holds.
func (f *ScenarioFile) LastError() error { return f.lastErr.Load().err }

// Validate checks data as a scenarios file without saving it.
func (f *ScenarioFile) Validate(data []byte) error {
	_, err := ParseScenarios(data)
	return err
}

// Save replaces the file with data and puts it in service, if it is valid;
// if it is not, nothing changes and the error lists its problems.
func (f *ScenarioFile) Save(data []byte) error {
	set, err := ParseScenarios(data)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	perm := os.FileMode(0o644)
	if fi, err := os.Stat(f.path); err == nil {
		perm = fi.Mode().Perm()
	}
	if err := writeFileAtomic(f.path, data, perm); err != nil {
		return err
	}
	f.seen, f.settling = contentHash(data), [32]byte{}
	f.cur.Store(&set)
	f.lastErr.Store(&errBox{})
	f.log.Info("scenarios saved", "path", f.path, "scenarios", len(set.Scenarios))
	return nil
}

// Run watches the file until ctx is done, taking each valid change.
func (f *ScenarioFile) Run(ctx context.Context) error {
	every := f.PollInterval
	if every <= 0 {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			f.poll()
		}
	}
}

// poll reloads the file if its content changed. Polling rather than file
// system notifications: editors replace files in ways (rename over, write in
// place, network shares) that notifications miss. The content is read and
// hashed at every poll (the file is small): a modification time and a size
// prove nothing, since a file put back with cp -p, rsync -t or touch -r
// keeps an old time, and a coarse clock (FAT: 2 s) keeps the same one.
func (f *ScenarioFile) poll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	data, err := readScenarioFile(f.path)
	if err != nil {
		f.seen, f.settling = [32]byte{}, [32]byte{}
		f.refuse(fmt.Errorf("%w (the scenarios in service are kept)", err))
		return
	}
	hash := contentHash(data)
	if hash == f.seen {
		f.settling = [32]byte{}
		return
	}
	if hash != f.settling {
		// Being written, perhaps (an editor writing in place): take it
		// once it has stayed the same for a whole poll, not half-written.
		f.settling = hash
		return
	}
	f.seen, f.settling = hash, [32]byte{}
	set, err := f.parse(data)
	if err != nil {
		f.refuse(err)
		return
	}
	f.cur.Store(&set)
	f.lastErr.Store(&errBox{})
	f.log.Info("scenarios reloaded", "path", f.path, "scenarios", len(set.Scenarios))
}

// refuse records why the file on disk is not in service, and logs it once.
func (f *ScenarioFile) refuse(err error) {
	if prev := f.LastError(); prev != nil && prev.Error() == err.Error() {
		return
	}
	f.lastErr.Store(&errBox{err: err})
	f.log.Warn("scenarios file refused, the last good scenarios stay in service", "path", f.path, "err", err)
}

func (f *ScenarioFile) parse(data []byte) (ScenarioSet, error) {
	set, err := ParseScenarios(data)
	if fe, ok := err.(*ScenarioFileError); ok {
		fe.File = f.path
	}
	return set, err
}

// readScenarioFile reads path. Reading stops past the size limit, which
// the parser then reports.
func readScenarioFile(path string) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("gateway: scenarios: %w", err)
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, MaxScenarioFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("gateway: scenarios %s: %w", path, err)
	}
	return data, nil
}

// writeFileAtomic writes data to path so that a crash leaves either the old
// file or the new one, never a torn one: temp file, fsync, rename, fsync dir.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("gateway: write %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return fmt.Errorf("gateway: write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("gateway: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("gateway: sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("gateway: write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("gateway: rename %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // not supported on every OS (Windows): best effort
		d.Close()
	}
	return nil
}
