// Package views holds the admin page's templ components. Each page is a
// pure function of its view-model, defined here; the web package fills
// them in.
package views

import (
	"time"

	"github.com/passerelle/passerelle/gateway"
)

// Page is what every page shows around its content.
type Page struct {
	L        Lang
	Loc      *time.Location // the shop's time zone
	Currency string
	Title    string // translated
	Nav      string // the menu entry to highlight
	Shop     string
	LoggedIn bool
	CSRF     string // the session's token, in a meta tag and every form
	Path     string // this page's path and query, for the language switch
	CSS, JS  string // asset URLs
	Notice   string // a one-off message, translated
}

// Errors are a form's problems by field name; "" is the whole form's.
type Errors map[string]string

// Setup is the first-start page that chooses the admin password.
type Setup struct {
	Page
	CodeFile string // where the setup code is on the box; "" if not said
	Errors   Errors
}

// Login is the login page.
type Login struct {
	Page
	Next    string
	Expired bool
	Errors  Errors
}

// Dashboard is the home page.
type Dashboard struct {
	Page
	Open          []gateway.Ticket // open and partially paid
	OpenMore      bool             // more than shown
	OpenDue       int64
	Overpaid      []gateway.Ticket
	Takings       int64 // approved today
	Tips          int64
	PaymentsToday int
	InProgress    []gateway.Payment
	Terminals     []TerminalRow
	Online        int
	Sync          Sync
	ScenarioError string // why the scenarios file on disk is refused, if it is
	Alerts        Alerts
}

// Alerts are what is wrong with the box itself: the dashboard warns of them.
type Alerts struct {
	// DiskFull says since when nothing is recorded: the disk is full.
	DiskFull string
	// ClockOff is how far this box's clock is from what a till or a
	// terminal sent (theirs minus ours), and ClockSource which one; zero
	// while they agree.
	ClockOff    time.Duration
	ClockSource string
}

// Sync is the state of upstream sync.
type Sync struct {
	Configured  bool
	QueueDepth  int
	OldestEvent time.Time
	LastSuccess time.Time
	LastError   string
}

// TicketFilter is the tickets page's filter form.
type TicketFilter struct {
	Status string
	Table  string
	Day    string // YYYY-MM-DD, "" for every day
}

// Tickets is the tickets page.
type Tickets struct {
	Page
	Filter  TicketFilter
	Errors  Errors
	Tickets []gateway.Ticket
	Next    string // URL of the next page, if any
}

// TicketDetail is one ticket's page.
type TicketDetail struct {
	Page
	Ticket    gateway.Ticket
	Events    []gateway.Event
	CanCancel bool
	Error     string
}

// PaymentFilter is the payments page's filter form.
type PaymentFilter struct {
	Day      string
	Terminal string
	Status   string
}

// Payments is the payments page.
type Payments struct {
	Page
	Filter     PaymentFilter
	Errors     Errors
	Terminals  []string // names, for the filter
	Payments   []PaymentRow
	Total      int64 // approved among those shown
	InProgress []PaymentRow
	Review     []PaymentRow // the terminal's result contradicted the manager's decision
	Overpaid   []gateway.Ticket
}

// PaymentRow is a payment with what the list shows of its ticket.
type PaymentRow struct {
	gateway.Payment
	TicketRef string
	Online    bool // its terminal is connected (a pending payment can be aborted)
}

// TerminalRow is a paired terminal and whether it is connected.
type TerminalRow struct {
	gateway.Terminal
	Online bool
}

// Discovered is a terminal seen on the network but not paired.
type Discovered struct {
	Serial string
	Model  string
	Addr   string
	Seen   time.Time
}

// Pairing is a fresh pairing code, shown once.
type Pairing struct {
	Code    string
	Link    string
	QR      QR
	Expires time.Time
}

// QR is a QR code drawn as one SVG path of its dark modules.
type QR struct {
	Size int    // modules on a side
	Path string // the path's d attribute
}

// Terminals is the terminals page.
type Terminals struct {
	Page
	Pairing    *Pairing
	Voided     *gateway.PairingVoid // the outstanding codes were voided: say why
	Terminals  []TerminalRow
	Discovered []Discovered
	Errors     Errors // by "rename-<id>" and ""
	Renaming   map[string]string
}

// Simulator is the page of the terminal simulator, a payment terminal in
// the browser driven by its own script.
type Simulator struct {
	Page
	Script string // the simulator's script URL
}

// TillRow is a till with its webhook delivery state.
type TillRow struct {
	gateway.Till
	Webhook *gateway.WebhookCursor // nil if nothing was ever attempted
}

// NewTillForm is the till creation form.
type NewTillForm struct {
	Name        string
	CallbackURL string
	Admin       bool
}

// CreatedTill is a till just created, with its key, shown once.
type CreatedTill struct {
	Name          string
	Key           string
	WebhookSecret string
}

// Tills is the tills page.
type Tills struct {
	Page
	Tills    []TillRow
	Form     NewTillForm
	Errors   Errors
	Created  *CreatedTill
	CanRetry bool
	// Editing is the callback URL typed for a till, by ID, when it was
	// refused.
	Editing map[string]string
	// Secret is shown once a till that had no callback URL gets one: its
	// webhook secret was never shown.
	Secret *CreatedTill
}

// KeyRow is one key of the scenario mapping.
type KeyRow struct {
	Key      string
	Scenario string
	Title    string
	Terminal string // "" for the whole shop
}

// Problem is a problem of the scenarios file, at its line.
type Problem struct {
	Line    int
	Message string
}

// Scenarios is the scenarios page.
type Scenarios struct {
	Page
	Keys      []KeyRow
	Text      string
	Problems  []Problem
	Truncated bool
	Lines     []string // the text's lines, shown numbered when it has problems
	Refused   string   // why the file on disk is not in service
	Valid     bool     // the text was validated and is valid (not saved)
	Saved     bool
}

// ReportRow is one line of a day report's table.
type ReportRow struct {
	Label  string
	Count  int
	Amount int64
	Tip    int64
}

// VATRow is one VAT rate's share of the day's takings.
type VATRow struct {
	Rate  int64
	Base  int64
	VAT   int64
	Total int64
}

// Report is the day report (Z report).
type Report struct {
	Page
	Date       time.Time
	DayValue   string // YYYY-MM-DD
	Prev, Next string // the days before and after, YYYY-MM-DD
	Errors     Errors
	Approved   ReportRow
	ByVAT      []VATRow
	VATTotal   VATRow
	ByScheme   []ReportRow
	ByTerminal []ReportRow
	ByServer   []ReportRow
	Other      []ReportRow // declined, cancelled, error, unknown, pending
	Overpaid   []gateway.Ticket
}

// ShopForm is the shop settings form.
type ShopForm struct {
	Name     string
	Address  string
	Phone    string
	VATRates string
	TimeZone string
}

// Settings is the settings page.
type Settings struct {
	Page
	Shop        ShopForm
	ShopErrors  Errors
	PassErrors  Errors
	Currency    string
	Fingerprint string
	DataDir     string
	DBSize      int64
	Version     string
	TimeZones   []string

	HasUpstream    bool
	Upstream       Upstream
	UpstreamForm   UpstreamForm
	UpstreamErrors Errors
	UpstreamTest   string // what a test of the connection gave
}

// Upstream is upstream sync as the settings page shows it.
type Upstream struct {
	On            bool
	URL           string
	StoreID       string
	CAFingerprint string
	Pinned        bool // a certificate or a fingerprint is pinned
	State         string
	Queue         int64
	AckedThrough  int64
	LastSuccess   time.Time
	LastError     string
}

// UpstreamForm is the upstream settings form. Key is never shown back.
type UpstreamForm struct {
	URL           string
	StoreID       string
	Key           string
	CAFingerprint string
}

// ErrorPage is a page that says what went wrong.
type ErrorPage struct {
	Page
	Status  int
	Message string
}

// Capture is the print capture page: the capture printers and their
// recent jobs, newest first.
type Capture struct {
	Page
	Printers []CapturePrinter
	Jobs     []CaptureJob
}

// CapturePrinter is one capture printer's row.
type CapturePrinter struct {
	Name, Listen, Forward, Till, Template string
	Online                                *bool // nil: not tried yet
	Waiting                               int   // jobs in the spool
}

// CaptureJob is one print job: its text, and what was read from it.
type CaptureJob struct {
	ID              string
	At              time.Time
	Printer, Status string // created, updated, unchanged, unparsed, refused
	Reason, Text    string
	HasRead         bool
	Ref             string
	Total           int64
}

// CaptureJob's ID, for the template editor, is kept apart: the page's
// rows link to it.

// TemplateEditor is the template editor, tried against one job.
type TemplateEditor struct {
	Page
	JobID, Name, Source, Text string
	Errors                    Errors
	Try                       TemplateTry
}

// TemplateTry is what a template read from a job.
type TemplateTry struct {
	Tried      bool
	Error      string // why it does not compile or read the job
	Ref, Table string
	Lines      []gateway.Line
	Total      int64
}
