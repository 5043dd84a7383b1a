package gateway

// A scenario is data: the steps a terminal walks through when the waiter
// presses a key. The shop's scenarios live in scenarios.yaml in the data
// directory (see docs/scenarios.md); ScenarioSet is that file once parsed
// and validated.

// ScenarioSet is the shop's scenarios and which key starts which.
type ScenarioSet struct {
	// Keys maps a terminal key ("F1") to a scenario name, for the whole shop.
	Keys map[string]string
	// Terminals overrides Keys per terminal, by terminal name or ID.
	Terminals map[string]map[string]string
	Scenarios map[string]*Scenario
}

// Scenario is one named sequence of steps.
type Scenario struct {
	Name  string
	Title string
	Steps []Step
	Line  int // where it starts in the file
}

// StepKind names what a step does.
type StepKind string

const (
	// StepPickTicket shows a menu of tickets (filtered) and lets the waiter pick one.
	StepPickTicket StepKind = "pick_ticket"
	// StepInput asks for a value (table number, ticket ref, amount) into Var.
	StepInput StepKind = "input"
	// StepLookup finds the ticket by the table or ref asked before; several
	// open tickets for one table are offered as a menu; none shows a message.
	StepLookup StepKind = "lookup"
	// StepShowTicket shows the chosen ticket with Choices: pay what is due,
	// split in N, another amount, add a tip.
	StepShowTicket StepKind = "show_ticket"
	// StepPay asks the terminal to run the card payment.
	StepPay StepKind = "pay"
	// StepPrint prints the bank ticket, the note, or both.
	StepPrint StepKind = "print"
	// StepReprint prints again, marked DUPLICATA, the receipts of the
	// terminal's last approved payment: its bank ticket, its ticket's
	// note, or both (the default).
	StepReprint StepKind = "reprint"
	// StepMessage shows lines for TimeoutS seconds.
	StepMessage StepKind = "message"
	// StepDone ends the scenario with a title and returns to idle.
	StepDone StepKind = "done"
)

// Choices a show_ticket step may offer.
const (
	ChoiceFull   = "full"
	ChoiceSplit  = "split"
	ChoiceAmount = "amount"
	ChoiceTip    = "tip"
)

// What a print step may print.
const (
	PrintBank = "bank"
	PrintNote = "note"
)

// Variables an input step may fill, and a lookup step may use.
const (
	VarTable  = "table"
	VarRef    = "ref"
	VarAmount = "amount"
)

// Step is one step of a scenario. Which fields matter depends on Kind.
type Step struct {
	Kind  StepKind
	Line  int    // where it is in the file, for messages at run time
	Title string // every kind that shows a screen
	Lines []string

	// pick_ticket
	Statuses []TicketStatus // default: open and partially_paid
	Server   string         // only this server's tickets ("" for all)

	// input
	Input string // "numeric" or "text"
	Min   int    // shortest answer, in characters
	Max   int    // longest answer, in characters
	Var   string // table, ref or amount

	// lookup
	By string // table or ref

	// show_ticket
	Choices []string

	// pay
	Label string // shown by the terminal during the card step: "DÉBIT"

	// print, reprint
	Print []string // bank, note

	// message, done
	TimeoutS int
}

// ScenarioFor returns the scenario that key starts on the terminal: the
// terminal's own mapping (by ID, then name) first, then the shop's.
func (s ScenarioSet) ScenarioFor(terminalID, terminalName, key string) (*Scenario, bool) {
	for _, who := range []string{terminalID, terminalName} {
		if m, ok := s.Terminals[who]; ok {
			if name, ok := m[key]; ok {
				sc, ok := s.Scenarios[name]
				return sc, ok
			}
		}
	}
	name, ok := s.Keys[key]
	if !ok {
		return nil, false
	}
	sc, ok := s.Scenarios[name]
	return sc, ok
}
