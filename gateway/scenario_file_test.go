package gateway_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

// marked returns src without its "«" marker and the line the marker was on,
// so that a case shows where its problem is rather than counting lines.
func marked(t *testing.T, src string) ([]byte, int) {
	t.Helper()
	i := strings.Index(src, "«")
	if i < 0 {
		t.Fatalf("case has no « marker:\n%s", src)
	}
	return []byte(strings.Replace(src, "«", "", 1)), strings.Count(src[:i], "\n") + 1
}

// oneScenario is a file whose scenario "s" (on F1) has the given steps,
// indented as list items under steps.
func oneScenario(steps string) string {
	return "keys:\n  F1: s\nscenarios:\n  s:\n    title: Test\n    steps:\n" + steps
}

const (
	pickShowPay = "      - step: pick_ticket\n        title: T\n      - step: pay\n"
	doneStep    = "      - step: done\n        title: FIN\n"
)

func problems(t *testing.T, err error) *gateway.ScenarioFileError {
	t.Helper()
	var fe *gateway.ScenarioFileError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v (%T) is not a *ScenarioFileError", err, err)
	}
	return fe
}

func TestParseScenariosErrors(t *testing.T) {
	cases := []struct {
		name string
		src  string // « marks the line of the problem
		want string // in the message
	}{
		// The file as a whole.
		{"empty file", "«", "the file is empty"},
		{"only comments", "« # nothing here\n", "the file is empty"},
		{"root is a list", "«- a\n- b\n", "must be a mapping"},
		{"unknown section", "keys: {}\nscenarios:\n  s:\n    steps:\n" + pickShowPay + doneStep + "«colours: blue\n", `unknown section "colours"`},
		{"no scenarios section", "«keys:\n  F1: s\n", "scenarios section is missing"},
		{"empty scenarios", "keys: {}\n«scenarios: {}\n", "scenarios is empty"},
		{"second document", "scenarios:\n  s:\n    steps:\n" + pickShowPay + doneStep + "«---\nkeys: {}\n", "second YAML document"},

		// YAML syntax and encoding.
		{"tab indentation", "keys:\n  F1: s\nscenarios:\n«\ts:\n", "malformed"},
		{"unclosed flow list", "keys:\n  F1: s\nscenarios:\n  s:\n    steps:\n      - step: show_ticket\n«        choices: [full, split\n      - step: done\n", "malformed"},
		{"bad indentation", "scenarios:\n  s:\n    title: A\n«   steps: []\n", "malformed"},
		{"list item among fields", "scenarios:\n  s:\n    title: A\n«    - step: done\n", "malformed"},
		{"unclosed flow list, far from its end", "scenarios:\n  s:\n    steps:\n      - step: show_ticket\n        choices: [full,\n" + strings.Repeat("          split,\n", 60) + "«      - step: done\n", "malformed"},
		{"key less indented", "scenarios:\n  s:\n    steps:\n      - step: done\n        title: A\n«       timeout_s: 3\n", "malformed"},
		{"text after a list", "scenarios:\n  s:\n    steps:\n      - step: done\n        title: A\n«    oops\n", "malformed"},
		{"unclosed quote", "keys:\n  F1: s\n«  F2: \"oops\nscenarios: {}\n", "malformed"},
		{"unknown anchor", "keys:\n«  F1: *nope\n", "alias *nope refers to no anchor"},
		{"invalid UTF-8", "keys:\n«  F1: caf\xe9\n", "not valid UTF-8"},
		{"raw control character", "keys:\n«  F1: a\x01b\n", "control character U+0001"},
		{"alias", "scenarios:\n  s:\n    title: &t Test\n    steps:\n      - step: done\n«        title: *t\n", "aliases (*t) are not supported"},
		{"merge key", "scenarios:\n  s:\n    steps:\n      - step: done\n        title: A\n«        <<: {timeout_s: 3}\n", "merge keys"},

		// Duplicates, which YAML allows and we refuse.
		{"duplicate key", "keys:\n  F1: s\n«  F1: s\nscenarios:\n  s:\n    steps:\n" + doneStep, `"F1" is given twice in keys (first at line 2)`},
		{"duplicate scenario", "scenarios:\n  s:\n    steps:\n" + doneStep + "«  s:\n    steps:\n" + doneStep, `"s" is given twice in scenarios`},
		{"duplicate section", "keys: {}\n«keys: {}\nscenarios:\n  s:\n    steps:\n" + doneStep, `"keys" is given twice in the file`},
		{"duplicate step field", oneScenario("      - step: done\n        title: A\n«        title: B\n"), `"title" is given twice in a step`},

		// Keys and terminals.
		{"key to an undefined scenario", "keys:\n  F1: s\n«  F2: nope\nscenarios:\n  s:\n    steps:\n" + doneStep, `key F2 starts scenario "nope", which is not defined under scenarios (defined: s)`},
		{"terminal key to an undefined scenario", "terminals:\n  \"Terminal bar\":\n«    F1: nope\nscenarios:\n  s:\n    steps:\n" + doneStep, `key F1 starts scenario "nope"`},
		{"key name with a space", "keys:\n«  \"F 1\": s\nscenarios:\n  s:\n    steps:\n" + doneStep, `key name "F 1"`},
		{"key's scenario is a list", "keys:\n«  F1: [s]\nscenarios:\n  s:\n    steps:\n" + doneStep, "must be text; found a list"},
		{"keys is a list", "«keys: [F1]\nscenarios:\n  s:\n    steps:\n" + doneStep, "keys must be a mapping"},
		{"terminal name with a control character", "terminals:\n«  \"bar\\x07\": {}\nscenarios:\n  s:\n    steps:\n" + doneStep, "control characters"},

		// Scenarios.
		{"scenario name", "scenarios:\n«  \"paiement rapide\":\n    steps:\n" + doneStep, `scenario name "paiement rapide"`},
		{"unknown scenario field", "scenarios:\n  s:\n«    titel: A\n    steps:\n" + doneStep, `unknown field "titel" in scenario s: a scenario has title and steps`},
		{"no steps", "scenarios:\n«  s:\n    title: A\n", "scenario s has no steps"},
		{"empty steps", "scenarios:\n  s:\n«    steps: []\n", "scenario s has no steps"},
		{"null steps", "scenarios:\n  s:\n«    steps:\n", "scenario s has no steps"},
		{"empty scenario", "scenarios:\n«  s:\n", "scenario s is empty"},
		{"steps is a mapping", "scenarios:\n  s:\n    steps:\n«      step: done\n", "must be a list"},
		{"scenario title too long", "scenarios:\n  s:\n«    title: " + strings.Repeat("x", 65) + "\n    steps:\n" + doneStep, "title too long: it is shown on the terminal, at most 64 characters"},

		// Steps: kinds and fields.
		{"unknown step kind", oneScenario("«      - step: refund\n" + doneStep), `unknown step "refund": a step is one of pick_ticket, input, lookup, show_ticket, pay, print, reprint, message, done`},
		{"step without kind", oneScenario("«      - title: A\n" + doneStep), "this step has no step: field"},
		{"step is text", oneScenario("«      - done\n"), "a step must be a mapping"},
		{"field of another kind", oneScenario(pickShowPay[:len(pickShowPay)-1] + "\n«        choices: [full]\n" + doneStep), "choices is not a field of a pay step: it takes only label"},
		{"unknown step field", oneScenario("      - step: done\n        title: A\n«        colour: red\n"), "colour is not a field of a done step: it takes title and timeout_s"},
		{"missing title", oneScenario("«      - step: done\n"), "this done step needs title"},
		{"empty title", oneScenario("      - step: done\n«        title: \"\"\n"), "title is required"},
		{"title too long", oneScenario("      - step: done\n«        title: " + strings.Repeat("é", 65) + "\n"), "title too long"},
		{"title with a control character", oneScenario("      - step: done\n«        title: \"A\\x07B\"\n"), "title must not contain control characters"},
		{"title with a bidi override", oneScenario("      - step: done\n«        title: \"A\\u202EB\"\n"), "bidi"},
		{"title is a list", oneScenario("      - step: done\n«        title: [A]\n"), "title must be text; found a list"},
		{"timeout too long", oneScenario("      - step: done\n        title: A\n«        timeout_s: 61\n"), "timeout_s is 61: it must be from 0 to 60"},
		{"negative timeout", oneScenario("      - step: done\n        title: A\n«        timeout_s: -1\n"), "timeout_s is -1"},
		{"timeout as text", oneScenario("      - step: done\n        title: A\n«        timeout_s: \"3\"\n"), "timeout_s must be a whole number from 0 to 60"},
		{"timeout with a fraction", oneScenario("      - step: done\n        title: A\n«        timeout_s: 1.5\n"), "timeout_s must be a whole number"},
		{"message lines not a list", oneScenario("      - step: message\n        title: A\n«        lines: hello\n" + doneStep), "lines must be a list"},
		{"too many message lines", oneScenario("      - step: message\n        title: A\n«        lines: [a, b, c, d, e, f, g, h, i]\n" + doneStep), "at most 8 fit"},
		{"pay label empty", oneScenario("      - step: pick_ticket\n        title: T\n      - step: pay\n«        label: \"\"\n" + doneStep), "label is required"},

		// input
		{"input min 0", oneScenario("      - step: input\n        title: TABLE ?\n        input: numeric\n        var: table\n«        min: 0\n" + doneStep), "min is 0: it must be from 1 to 32"},
		{"input max 33", oneScenario("      - step: input\n        title: REF ?\n        input: text\n        var: ref\n«        max: 33\n" + doneStep), "max is 33: it must be from 1 to 32"},
		{"input max over the table's length", oneScenario("      - step: input\n        title: TABLE ?\n        input: numeric\n        var: table\n«        max: 20\n" + doneStep), "a table has at most 16 characters"},
		{"input min over max", oneScenario("«      - step: input\n        title: TABLE ?\n        input: numeric\n        var: table\n        min: 4\n        max: 2\n" + doneStep), "min (4) is more than max (2)"},
		{"input max not a number", oneScenario("      - step: input\n        title: TABLE ?\n        input: numeric\n        var: table\n«        max: four\n" + doneStep), `max must be a whole number from 1 to 32; found "four"`},
		{"input kind", oneScenario("      - step: input\n        title: TABLE ?\n«        input: digits\n        var: table\n" + doneStep), `input "digits": it is numeric or text`},
		{"input var", oneScenario("      - step: input\n        title: TABLE ?\n        input: numeric\n«        var: room\n" + doneStep), `var "room": it is table or ref or amount`},
		{"input without var", oneScenario("«      - step: input\n        title: TABLE ?\n        input: numeric\n" + doneStep), "this input step needs var"},
		{"amount typed as text", oneScenario("      - step: input\n        title: MONTANT ?\n«        input: text\n        var: amount\n" + doneStep), "an amount is typed as a number"},

		// lookup
		{"lookup without input", oneScenario("«      - step: lookup\n        by: table\n" + doneStep), "lookup by table needs the table asked first"},
		{"lookup by another var", oneScenario("      - step: input\n        title: REF ?\n        input: text\n        var: ref\n«      - step: lookup\n        by: table\n" + doneStep), "put an input step with var: table before it"},
		{"lookup by amount", oneScenario("      - step: lookup\n«        by: amount\n" + doneStep), `by "amount": it is table or ref`},

		// show_ticket, print: lists.
		{"choices empty", oneScenario("      - step: pick_ticket\n        title: T\n      - step: show_ticket\n«        choices: []\n" + doneStep), "choices is empty: give at least one of full, split, amount, tip"},
		{"choices unknown", oneScenario("      - step: pick_ticket\n        title: T\n      - step: show_ticket\n        choices:\n          - full\n«          - cash\n" + doneStep), `choices: unknown value "cash": allowed are full, split, amount, tip`},
		{"choices twice", oneScenario("      - step: pick_ticket\n        title: T\n      - step: show_ticket\n«        choices: [full, full]\n" + doneStep), `"full" is given twice`},
		{"choices not a list", oneScenario("      - step: pick_ticket\n        title: T\n      - step: show_ticket\n«        choices: full\n" + doneStep), "choices must be a list such as [full, split, amount, tip]"},
		{"show_ticket without choices", oneScenario("      - step: pick_ticket\n        title: T\n«      - step: show_ticket\n" + doneStep), "this show_ticket step needs choices"},
		{"print nothing", oneScenario(pickShowPay + "      - step: print\n«        print: []\n" + doneStep), "print is empty: give at least one of bank, note"},
		{"print receipt", oneScenario(pickShowPay + "      - step: print\n«        print: [receipt]\n" + doneStep), `unknown value "receipt": allowed are bank, note`},
		{"pick_ticket unknown status", oneScenario("      - step: pick_ticket\n        title: T\n«        status: [unpaid]\n" + doneStep), `unknown value "unpaid": allowed are open, partially_paid, paid, overpaid, cancelled`},

		// Order.
		{"print bank before pay", oneScenario("      - step: pick_ticket\n        title: T\n«      - step: print\n        print: [bank]\n      - step: pay\n" + doneStep), "print bank needs the payment first"},
		{"print bank without pay", oneScenario("«      - step: print\n        print: [bank]\n" + doneStep), "print bank needs the payment first"},
		{"print note without ticket", oneScenario("«      - step: print\n        print: [note]\n" + doneStep), "print note needs a ticket"},
		{"show_ticket without a ticket", oneScenario("«      - step: show_ticket\n        choices: [full]\n" + doneStep), "show_ticket needs a ticket: put a pick_ticket or lookup step before it"},
		{"pay without a ticket", oneScenario("«      - step: pay\n" + doneStep), "pay needs a ticket"},
		{"ticket chosen twice", oneScenario("      - step: pick_ticket\n        title: T\n«      - step: pick_ticket\n        title: U\n" + doneStep), "the ticket is already chosen at line 7"},
		{"two payments", oneScenario(pickShowPay + "«      - step: pay\n" + doneStep), "already pays at line 9: a scenario has at most one pay step"},
		{"paying a paid ticket", oneScenario("«      - step: pick_ticket\n        title: T\n        status: [open, paid]\n      - step: pay\n" + doneStep), "status paid: scenario s pays, so it may only pick tickets with something left to pay"},
		{"no done", oneScenario("      - step: pick_ticket\n        title: T\n«      - step: pay\n"), "scenario s must end with a done step"},
		{"step after done", oneScenario(doneStep + "«      - step: message\n        title: A\n"), "this step comes after done (line 7)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data, line := marked(t, c.src)
			set, err := gateway.ParseScenarios(data)
			if err == nil {
				t.Fatalf("parsed, want an error at line %d containing %q; got %+v", line, c.want, set)
			}
			fe := problems(t, err)
			if len(fe.Problems) != 1 {
				t.Errorf("%d problems, want 1: %v", len(fe.Problems), err)
			}
			p := fe.Problems[0]
			if p.Line != line || !strings.Contains(p.Message, c.want) {
				t.Errorf("got line %d: %s\nwant line %d: …%s…", p.Line, p.Message, line, c.want)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("line %d: ", line)) {
				t.Errorf("Error() does not name line %d: %s", line, err)
			}
		})
	}
}

func TestParseScenariosListsEveryProblem(t *testing.T) {
	src := `keys:
  F1: nope
scenarios:
  a:
    steps:
      - step: done
        title: A
        timeout_s: 99
  b:
    tittle: B
    steps:
      - step: pay
      - step: done
        title: B
`
	_, err := gateway.ParseScenarios([]byte(src))
	fe := problems(t, err)
	var got []int
	for _, p := range fe.Problems {
		got = append(got, p.Line)
	}
	// In line order, though the key's problem is found last.
	if want := []int{2, 8, 10, 12}; !reflect.DeepEqual(got, want) {
		t.Errorf("problems at lines %v, want %v: %v", got, want, err)
	}
	if fe.Truncated {
		t.Error("Truncated with 4 problems")
	}
}

func TestParseScenariosCapsProblems(t *testing.T) {
	var b strings.Builder
	b.WriteString("keys:\n")
	for i := range 30 {
		fmt.Fprintf(&b, "  K%d: nope\n", i)
	}
	b.WriteString("terminals:\n  bar:\n")
	for i := range 30 {
		fmt.Fprintf(&b, "    K%d: nope\n", i)
	}
	b.WriteString("scenarios:\n  s:\n    steps:\n" + doneStep)
	_, err := gateway.ParseScenarios([]byte(b.String()))
	fe := problems(t, err)
	if len(fe.Problems) != 50 || !fe.Truncated {
		t.Errorf("%d problems, truncated %v; want 50, true", len(fe.Problems), fe.Truncated)
	}
	if !strings.Contains(err.Error(), "more problems not listed") {
		t.Errorf("Error() does not say problems were left out: %s", err)
	}
}

func TestParseScenariosLimits(t *testing.T) {
	t.Run("scenarios", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("scenarios:\n")
		for i := range gateway.MaxScenarios + 1 {
			fmt.Fprintf(&b, "  s%d:\n    steps:\n%s", i, doneStep)
		}
		_, err := gateway.ParseScenarios([]byte(b.String()))
		p := problems(t, err).Problems
		if len(p) != 1 || p[0].Line != 2 || !strings.Contains(p[0].Message, "101 scenarios are defined: at most 100") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("steps", func(t *testing.T) {
		steps := strings.Repeat("      - step: message\n        title: A\n", gateway.MaxScenarioSteps) + doneStep
		_, err := gateway.ParseScenarios([]byte(oneScenario(steps)))
		p := problems(t, err).Problems
		if len(p) != 1 || p[0].Line != 7 || !strings.Contains(p[0].Message, "51 steps: at most 50") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("exactly at the limits", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("scenarios:\n")
		for i := range gateway.MaxScenarios {
			fmt.Fprintf(&b, "  s%d:\n    steps:\n", i)
			b.WriteString(strings.Repeat("      - step: message\n        title: A\n", gateway.MaxScenarioSteps-1) + doneStep)
		}
		set, err := gateway.ParseScenarios([]byte(b.String()))
		if err != nil {
			t.Fatal(err)
		}
		if len(set.Scenarios) != gateway.MaxScenarios || len(set.Scenarios["s0"].Steps) != gateway.MaxScenarioSteps {
			t.Errorf("%d scenarios, %d steps", len(set.Scenarios), len(set.Scenarios["s0"].Steps))
		}
	})
	t.Run("file size", func(t *testing.T) {
		data := []byte(oneScenario(doneStep) + strings.Repeat("# padding\n", gateway.MaxScenarioFileSize/10))
		_, err := gateway.ParseScenarios(data)
		p := problems(t, err).Problems
		if len(p) != 1 || !strings.Contains(p[0].Message, "larger than") {
			t.Errorf("got %v", err)
		}
	})
}

func TestDefaultScenarios(t *testing.T) {
	set, err := gateway.ParseScenarios(gateway.DefaultScenariosYAML())
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"F1": "paiement_proximite", "F2": "recherche_ticket", "F4": "duplicata"}; !reflect.DeepEqual(set.Keys, want) {
		t.Errorf("keys %v, want %v", set.Keys, want)
	}
	if len(set.Terminals) != 0 {
		t.Errorf("terminals %v, want none", set.Terminals)
	}
	// Lines are where the steps are in the file: drop them to compare.
	stripped := func(sc *gateway.Scenario) []gateway.Step {
		var out []gateway.Step
		for _, s := range sc.Steps {
			if s.Line < 1 {
				t.Errorf("%s: step %s has no line", sc.Name, s.Kind)
			}
			s.Line = 0
			out = append(out, s)
		}
		return out
	}

	f1, ok := set.ScenarioFor("trm_x", "Terminal salle", "F1")
	if !ok || f1.Name != "paiement_proximite" || f1.Title != "Paiement de proximité" || f1.Line < 1 {
		t.Fatalf("F1: %+v, %v", f1, ok)
	}
	want1 := []gateway.Step{
		{Kind: gateway.StepPickTicket, Title: "Sélection du ticket", Statuses: []gateway.TicketStatus{gateway.TicketOpen, gateway.TicketPartiallyPaid}},
		{Kind: gateway.StepShowTicket, Choices: []string{"full", "split", "amount", "tip"}},
		{Kind: gateway.StepPay, Label: "DÉBIT"},
		{Kind: gateway.StepPrint, Print: []string{"bank"}},
		{Kind: gateway.StepDone, Title: "PAIEMENT ACCEPTÉ", TimeoutS: 3},
	}
	if got := stripped(f1); !reflect.DeepEqual(got, want1) {
		t.Errorf("F1 steps:\n got %+v\nwant %+v", got, want1)
	}

	f2, ok := set.ScenarioFor("trm_x", "Terminal salle", "F2")
	if !ok || f2.Name != "recherche_ticket" || f2.Title != "Recherche d'un ticket pour règlement" {
		t.Fatalf("F2: %+v, %v", f2, ok)
	}
	want2 := []gateway.Step{
		{Kind: gateway.StepInput, Title: "NUMÉRO DE TABLE ?", Input: "numeric", Min: 1, Max: 4, Var: "table"},
		{Kind: gateway.StepLookup, By: "table"},
		{Kind: gateway.StepShowTicket, Choices: []string{"full", "split", "amount"}},
		{Kind: gateway.StepPay, Label: "DÉBIT"},
		{Kind: gateway.StepPrint, Print: []string{"bank", "note"}},
		{Kind: gateway.StepDone, Title: "PAIEMENT ACCEPTÉ", TimeoutS: 3},
	}
	if got := stripped(f2); !reflect.DeepEqual(got, want2) {
		t.Errorf("F2 steps:\n got %+v\nwant %+v", got, want2)
	}

	f4, ok := set.ScenarioFor("trm_x", "Terminal salle", "F4")
	want4 := []gateway.Step{
		{Kind: gateway.StepReprint, Print: []string{"bank", "note"}},
		{Kind: gateway.StepDone, Title: "DUPLICATA IMPRIMÉ", TimeoutS: 3},
	}
	if !ok || f4.Name != "duplicata" || !reflect.DeepEqual(stripped(f4), want4) {
		t.Errorf("F4: %+v, %v", f4, ok)
	}

	// The step's line is the line of its "- step:", for messages at run time.
	lines := strings.Split(string(gateway.DefaultScenariosYAML()), "\n")
	for _, sc := range []*gateway.Scenario{f1, f2, f4} {
		if got := strings.TrimSpace(lines[sc.Line-1]); got != sc.Name+":" {
			t.Errorf("scenario %s: line %d is %q", sc.Name, sc.Line, got)
		}
		for _, s := range sc.Steps {
			if got := strings.TrimSpace(lines[s.Line-1]); got != "- step: "+string(s.Kind) {
				t.Errorf("%s step %s: line %d is %q", sc.Name, s.Kind, s.Line, got)
			}
		}
	}
}

// Windows editors save with CRLF line ends, and Notepad may add a BOM: the
// same file, saved so, means the same.
func TestParseScenariosWindowsText(t *testing.T) {
	want, err := gateway.ParseScenarios(gateway.DefaultScenariosYAML())
	if err != nil {
		t.Fatal(err)
	}
	crlf := bytes.ReplaceAll(gateway.DefaultScenariosYAML(), []byte("\n"), []byte("\r\n"))
	for name, data := range map[string][]byte{
		"CRLF":     crlf,
		"BOM+CRLF": append([]byte("\uFEFF"), crlf...),
	} {
		got, err := gateway.ParseScenarios(data)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: parsed differently", name)
		}
	}
	// Lines still count the same.
	bad := bytes.ReplaceAll([]byte(oneScenario("      - step: pay\n"+doneStep)), []byte("\n"), []byte("\r\n"))
	_, err = gateway.ParseScenarios(bad)
	if p := problems(t, err).Problems; p[0].Line != 7 {
		t.Errorf("CRLF file: problem at line %d, want 7: %v", p[0].Line, err)
	}
	// A UTF-16 file (Notepad's "Unicode") is refused with a hint.
	_, err = gateway.ParseScenarios([]byte("\xff\xfek\x00e\x00y\x00s\x00:\x00\n\x00"))
	if err == nil || !strings.Contains(err.Error(), "save the file as UTF-8") {
		t.Errorf("UTF-16 file: %v", err)
	}
}

// The full example in docs/scenarios.md is a valid file.
func TestScenariosDocExample(t *testing.T) {
	doc, err := os.ReadFile("../docs/scenarios.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```yaml\n")
	example, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("no yaml example in docs/scenarios.md")
	}
	set, err := gateway.ParseScenarios([]byte(example))
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Scenarios) != 3 || set.Terminals["Terminal bar"]["F1"] != "recherche_ticket" {
		t.Errorf("parsed %d scenarios, terminals %v", len(set.Scenarios), set.Terminals)
	}
}

func TestParseScenariosFields(t *testing.T) {
	src := `keys:
  F1: s
terminals:
  "Terminal bar":
    F1: t
  trm_0123:
    F2: s
scenarios:
  s:
    steps:
      - step: pick_ticket
        title: Tickets de Paul
        status: [partially_paid]
        server: Paul
      - step: show_ticket
        title: Votre note
        choices: [amount]
      - step: pay
      - step: print
        print: [note, bank]
      - step: message
        title: MERCI
        lines: [À bientôt, ""]
        timeout_s: 0
      - step: done
        title: FIN
        timeout_s: 10
  t:
    title: Par référence
    steps:
      - step: input
        title: "N° DE TICKET ?"
        input: text
        var: ref
      - step: lookup
        by: ref
      - step: print
        print: [note]
      - step: done
        title: OK
`
	set, err := gateway.ParseScenarios([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	s := set.Scenarios["s"]
	if s.Title != "s" {
		t.Errorf("title %q: a scenario without title is titled by its name", s.Title)
	}
	pick := s.Steps[0]
	if !reflect.DeepEqual(pick.Statuses, []gateway.TicketStatus{gateway.TicketPartiallyPaid}) || pick.Server != "Paul" || pick.Line != 11 {
		t.Errorf("pick_ticket %+v", pick)
	}
	if st := s.Steps[1]; st.Title != "Votre note" || !reflect.DeepEqual(st.Choices, []string{"amount"}) {
		t.Errorf("show_ticket %+v", st)
	}
	if st := s.Steps[2]; st.Label != "DÉBIT" {
		t.Errorf("pay label %q, want the default DÉBIT", st.Label)
	}
	if st := s.Steps[3]; !reflect.DeepEqual(st.Print, []string{"note", "bank"}) {
		t.Errorf("print %+v", st)
	}
	if st := s.Steps[4]; st.TimeoutS != 0 || !reflect.DeepEqual(st.Lines, []string{"À bientôt", ""}) {
		t.Errorf("message %+v: an explicit timeout_s 0 stays 0", st)
	}
	if st := s.Steps[5]; st.TimeoutS != 10 {
		t.Errorf("done %+v", st)
	}
	in := set.Scenarios["t"].Steps[0]
	if in.Min != 1 || in.Max != 32 || in.Input != "text" || in.Var != "ref" {
		t.Errorf("input %+v: min defaults to 1, max to the longest a ref may be asked", in)
	}
	for _, c := range []struct{ id, name, key, want string }{
		{"trm_9", "Terminal bar", "F1", "t"},    // by name
		{"trm_0123", "Salle", "F2", "s"},        // by ID
		{"trm_0123", "Salle", "F1", "s"},        // not overridden: the shop's
		{"trm_9", "Terminal bar", "F2", ""},     // nobody maps F2 for it
		{"trm_9", "Terminal bar", "F9", ""},     // nobody maps F9
		{"trm_0123", "Terminal bar", "F1", "t"}, // the ID has no F1: then the name
	} {
		sc, ok := set.ScenarioFor(c.id, c.name, c.key)
		got := ""
		if ok {
			got = sc.Name
		}
		if got != c.want {
			t.Errorf("ScenarioFor(%s, %s, %s) = %q, want %q", c.id, c.name, c.key, got, c.want)
		}
	}
}

// logBuffer is a slog handler's output that tests may read while the file's
// goroutine writes.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newScenarioFile(t *testing.T, path string) (*gateway.ScenarioFile, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	f, err := gateway.NewScenarioFile(path, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return f, logs
}

// waitFor polls cond until it holds, failing the test after a generous
// deadline: the deadline is a hang guard, not a speed assertion.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// runFile runs f's polling, quickly, until the test ends.
func runFile(t *testing.T, f *gateway.ScenarioFile) {
	t.Helper()
	f.PollInterval = 5 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func TestScenarioFileCreatesDefaults(t *testing.T) {
	path := filepath.Join(t.TempDir(), gateway.ScenariosFile)
	f, logs := newScenarioFile(t, path)
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, gateway.DefaultScenariosYAML()) {
		t.Error("the file written is not the defaults")
	}
	if f.Current().Keys["F1"] != "paiement_proximite" || f.LastError() != nil {
		t.Errorf("current %+v, last error %v", f.Current().Keys, f.LastError())
	}
	if !strings.Contains(logs.String(), "created with the defaults") {
		t.Errorf("logs: %s", logs)
	}
	// No temporary file left behind.
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d files, want 1", len(entries))
	}

	// An existing file is loaded, not replaced.
	custom := oneScenario(doneStep)
	if err := os.WriteFile(path, []byte(custom), 0o644); err != nil {
		t.Fatal(err)
	}
	f, _ = newScenarioFile(t, path)
	if f.Current().Keys["F1"] != "s" {
		t.Errorf("keys %v", f.Current().Keys)
	}
	if got, _ := os.ReadFile(path); string(got) != custom {
		t.Error("an existing file was rewritten")
	}
}

func TestScenarioFileBadAtStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), gateway.ScenariosFile)
	if err := os.WriteFile(path, []byte("keys:\n  F1: nope\nscenarios:\n  s:\n    steps:\n"+doneStep), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := gateway.NewScenarioFile(path, slog.New(slog.DiscardHandler))
	if err == nil {
		t.Fatal("a bad file at start was accepted")
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "line 2: key F1") {
		t.Errorf("error %q should name the file and the line", err)
	}
}

func TestScenarioFileReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), gateway.ScenariosFile)
	f, logs := newScenarioFile(t, path)
	runFile(t, f)

	// As the admin UI or a careful editor would: a poll never sees the
	// file half-written, so each change is refused or taken exactly once.
	write := func(s string) {
		t.Helper()
		tmp := path + ".new"
		if err := os.WriteFile(tmp, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	f1 := func() string { return f.Current().Keys["F1"] }

	// A valid change is picked up.
	v2 := strings.Replace(string(gateway.DefaultScenariosYAML()), "F1: paiement_proximite", "F1: recherche_ticket", 1)
	write(v2)
	waitFor(t, "the valid change", func() bool { return f1() == "recherche_ticket" })
	if f.LastError() != nil {
		t.Errorf("LastError %v after a valid change", f.LastError())
	}
	// The set is swapped in before the reload is logged.
	waitFor(t, "the reload in the log", func() bool { return strings.Contains(logs.String(), "scenarios reloaded") })

	// A broken one is refused: the last good set stays, LastError says where.
	broken := strings.Replace(v2, "  F2: recherche_ticket", "  F2: recherche_tiket", 1)
	brokenLine := strings.Count(broken[:strings.Index(broken, "recherche_tiket")], "\n") + 1
	write(broken)
	waitFor(t, "the broken change to be refused", func() bool { return f.LastError() != nil })
	if !strings.Contains(f.LastError().Error(), fmt.Sprintf("line %d: key F2", brokenLine)) {
		t.Errorf("LastError %q does not name line %d", f.LastError(), brokenLine)
	}
	if f1() != "recherche_ticket" || f.Current().Keys["F2"] != "recherche_ticket" {
		t.Errorf("the last good set was not kept: %v", f.Current().Keys)
	}
	waitFor(t, "the refusal in the log", func() bool { return strings.Contains(logs.String(), "refused") })
	if l := logs.String(); !strings.Contains(l, fmt.Sprintf("line %d", brokenLine)) {
		t.Errorf("the log does not name the line: %s", l)
	}

	// Fixed again: picked up, LastError cleared.
	write(string(gateway.DefaultScenariosYAML()))
	waitFor(t, "the fix", func() bool { return f1() == "paiement_proximite" })
	if f.LastError() != nil {
		t.Errorf("LastError %v after the fix", f.LastError())
	}
	if n := strings.Count(logs.String(), "refused"); n != 1 {
		t.Errorf("the refusal was logged %d times, want once", n)
	}

	// A file gone keeps the set, and says so.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the missing file to be noticed", func() bool { return f.LastError() != nil })
	if f1() != "paiement_proximite" {
		t.Errorf("the set was dropped with the file")
	}
	write(v2)
	waitFor(t, "the file to come back", func() bool { return f.LastError() == nil && f1() == "recherche_ticket" })
}

func TestScenarioFileSave(t *testing.T) {
	path := filepath.Join(t.TempDir(), gateway.ScenariosFile)
	f, logs := newScenarioFile(t, path)
	before, _ := os.ReadFile(path)

	bad := []byte("keys:\n  F1: s\nscenarios:\n  s:\n    steps:\n      - step: pay\n" + doneStep)
	if err := f.Validate(bad); err == nil || problems(t, err).Problems[0].Line != 6 {
		t.Errorf("Validate: %v, want a problem at line 6", err)
	}
	err := f.Save(bad)
	if err == nil || problems(t, err).Problems[0].Line != 6 {
		t.Errorf("Save: %v, want a problem at line 6", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
		t.Error("an invalid Save changed the file")
	}
	if f.Current().Keys["F1"] != "paiement_proximite" {
		t.Error("an invalid Save changed the current set")
	}

	good := []byte(oneScenario(doneStep))
	if err := f.Validate(good); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
		t.Error("Validate changed the file")
	}
	if err := f.Save(good); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, good) {
		t.Error("Save did not write the file")
	}
	if f.Current().Keys["F1"] != "s" || f.LastError() != nil {
		t.Errorf("after Save: keys %v, last error %v", f.Current().Keys, f.LastError())
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d files, want 1: a temporary file was left", len(entries))
	}

	// The saved file is not then "reloaded" as a change on disk.
	f.PollInterval = time.Millisecond
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := f.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "reloaded") {
		t.Errorf("a saved file was reloaded: %s", logs)
	}
}

// A change that keeps the file's size and modification time (a coarse
// clock, or a tool that restores the mtime) is still seen: a file modified
// recently is hashed again at each poll.
func TestScenarioFileSameSizeSameMtime(t *testing.T) {
	path := filepath.Join(t.TempDir(), gateway.ScenariosFile)
	a := oneScenario(doneStep)
	b := strings.Replace(a, "title: FIN", "title: END", 1)
	if err := os.WriteFile(path, []byte(a), 0o644); err != nil {
		t.Fatal(err)
	}
	mtime := time.Now().Truncate(time.Second)
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	f, _ := newScenarioFile(t, path)
	runFile(t, f)

	if err := os.WriteFile(path, []byte(b), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	title := func() string { return f.Current().Scenarios["s"].Steps[0].Title }
	waitFor(t, "the same-size change", func() bool { return title() == "END" })
}

// A same-size change written with an old modification time (a file put
// back with cp -p, rsync -t or touch -r, from a copy made an hour ago) is
// seen too: the content is hashed at every poll, the time is no proof
// that nothing changed.
func TestScenarioFileSameSizeOldMtime(t *testing.T) {
	path := filepath.Join(t.TempDir(), gateway.ScenariosFile)
	a := oneScenario(doneStep)
	b := strings.Replace(a, "title: FIN", "title: END", 1)
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.WriteFile(path, []byte(a), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	f, logs := newScenarioFile(t, path)
	runFile(t, f)

	if err := os.WriteFile(path, []byte(b), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	title := func() string { return f.Current().Scenarios["s"].Steps[0].Title }
	waitFor(t, "the change with the old mtime", func() bool { return title() == "END" })
	if n := strings.Count(logs.String(), "scenarios reloaded"); n != 1 {
		t.Errorf("reloaded %d times, want once:\n%s", n, logs)
	}
}

// Current may be read while the file changes under it.
func TestScenarioFileConcurrentReads(t *testing.T) {
	path := filepath.Join(t.TempDir(), gateway.ScenariosFile)
	f, _ := newScenarioFile(t, path)
	a := gateway.DefaultScenariosYAML()
	b := []byte(oneScenario(doneStep))
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				set := f.Current()
				if _, ok := set.Scenarios[set.Keys["F1"]]; !ok {
					t.Error("a half-swapped set was seen")
					return
				}
			}
		})
	}
	for i := range 6 {
		data := a
		if i%2 == 1 {
			data = b
		}
		if err := f.Save(data); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
}

func FuzzParseScenarios(f *testing.F) {
	f.Add(gateway.DefaultScenariosYAML())
	f.Add([]byte(oneScenario(doneStep)))
	f.Add([]byte("keys:\n  F1: nope\nscenarios:\n  s:\n    steps:\n      - step: pay\n"))
	f.Add([]byte("keys: [\nscenarios:\n\t- x\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := gateway.ParseScenarios(data)
		if err != nil {
			fe := problems(t, err)
			if len(fe.Problems) == 0 || len(fe.Problems) > 50 {
				t.Fatalf("%d problems", len(fe.Problems))
			}
			for _, p := range fe.Problems {
				if p.Line < 1 || p.Line > len(data)+1 || p.Message == "" {
					t.Fatalf("problem %+v in a file of %d bytes", p, len(data))
				}
			}
			return
		}
		for key, name := range set.Keys {
			if set.Scenarios[name] == nil {
				t.Fatalf("key %s starts %q, which is not defined", key, name)
			}
		}
		for term, keys := range set.Terminals {
			for key, name := range keys {
				if set.Scenarios[name] == nil {
					t.Fatalf("terminal %s: key %s starts %q, which is not defined", term, key, name)
				}
			}
		}
		for name, sc := range set.Scenarios {
			if len(sc.Steps) == 0 || sc.Steps[len(sc.Steps)-1].Kind != gateway.StepDone {
				t.Fatalf("scenario %s does not end with done: %+v", name, sc.Steps)
			}
		}
	})
}
