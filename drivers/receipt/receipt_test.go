package receipt

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the golden files are in Europe/Paris wherever the tests run
	"unicode/utf8"

	"github.com/passerelle/passerelle/gateway"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var widths = []int{24, 32, 42, 48}

func paris(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// briefBank is the brief's bank ticket.
func briefBank(t testing.TB) BankInput {
	return BankInput{
		Shop:           "NOM DU COMMERCE",
		MerchantID:     "0000015000",
		TerminalID:     "02189020000",
		Scheme:         "CB",
		MaskedPAN:      "#####5743",
		TransactionRef: "185568D324964D",
		AuthCode:       "185568",
		Amount:         1000,
		Currency:       "EUR",
		At:             time.Date(2016, 8, 16, 17, 45, 2, 0, time.UTC),
		Location:       paris(t),
	}
}

// ticket builds a ticket the way the gateway keeps it, VAT included.
func ticket(ref, table, server string, lines ...gateway.Line) gateway.Ticket {
	var total int64
	for _, l := range lines {
		total += l.Qty * l.UnitPrice
	}
	return gateway.Ticket{Ref: ref, Table: table, Server: server, Currency: "EUR",
		Lines: lines, Total: total, VAT: gateway.VATBreakdown(lines)}
}

func approved(id string, amount int64, pan string) gateway.Payment {
	return gateway.Payment{ID: id, Amount: amount, Currency: "EUR", Status: gateway.PaymentApproved,
		Card: &gateway.Card{Scheme: "CB", MaskedPAN: pan, Entry: "chip"}}
}

// briefNote is the brief's note, paid in full by card.
func briefNote(t testing.TB) NoteInput {
	return NoteInput{
		Shop: Header{Name: "NOM DU RESTAURANT", Address: "12 RUE DE LA RÉPUBLIQUE\n69002 LYON", Phone: "04 78 00 00 00"},
		Ticket: ticket("1253", "5", "Julie",
			gateway.Line{Label: "PLAT N°4", Qty: 1, UnitPrice: 2350, VATRate: 1000},
			gateway.Line{Label: "PLAT N°1", Qty: 1, UnitPrice: 3000, VATRate: 1000},
		),
		Payments: []gateway.Payment{approved("pay_1", 5350, "#####5743")},
		At:       time.Date(2016, 2, 12, 19, 45, 0, 0, time.UTC),
		Location: paris(t),
	}
}

// variantNote adds a drink at 20 %, a discount and a label longer than any
// width, and is paid in part: one card approved, one declined.
func variantNote(t testing.TB) NoteInput {
	n := briefNote(t)
	n.Ticket = ticket("1254", "12", "Jean-Baptiste",
		gateway.Line{Label: "PLAT N°4", Qty: 1, UnitPrice: 2350, VATRate: 1000},
		gateway.Line{Label: "PLAT N°1", Qty: 1, UnitPrice: 3000, VATRate: 1000},
		gateway.Line{Label: "PICHET CÔTES-DU-RHÔNE 50CL", Qty: 2, UnitPrice: 900, VATRate: 2000},
		gateway.Line{Label: "ASSIETTE DE FROMAGES AFFINÉS DE NOS MONTAGNES, CONFITURE MAISON", Qty: 1, UnitPrice: 1250, VATRate: 1000},
		gateway.Line{Label: "REMISE FIDÉLITÉ", Qty: 1, UnitPrice: -500, VATRate: 1000},
	)
	declined := approved("pay_2", 2900, "#####1111")
	declined.Status = gateway.PaymentDeclined
	n.Payments = []gateway.Payment{approved("pay_1", 5000, "#####5743"), declined}
	return n
}

func TestGolden(t *testing.T) {
	bank, note, variant := briefBank(t), briefNote(t), variantNote(t)
	cases := []struct {
		name   string
		layout func(cols int) ([]string, error)
	}{
		{"bank", func(cols int) ([]string, error) { return BankTicket(bank, cols) }},
		{"note", func(cols int) ([]string, error) { return Note(note, cols) }},
		{"note_variant", func(cols int) ([]string, error) { return Note(variant, cols) }},
	}
	for _, c := range cases {
		for _, cols := range widths {
			name := fmt.Sprintf("%s_%d", c.name, cols)
			t.Run(name, func(t *testing.T) {
				lines, err := c.layout(cols)
				if err != nil {
					t.Fatal(err)
				}
				checkWidth(t, lines, cols)
				got := strings.Join(lines, "\n") + "\n"
				path := filepath.Join("testdata", name+".golden")
				if *update {
					if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test -update to create it)", err)
				}
				if got != string(want) {
					t.Errorf("%s differs from %s (go test -update rewrites it):\ngot:\n%s\nwant:\n%s", name, path, got, want)
				}
			})
		}
	}
}

func checkWidth(t *testing.T, lines []string, cols int) {
	t.Helper()
	for i, l := range lines {
		if !utf8.ValidString(l) {
			t.Errorf("line %d is not valid UTF-8: %q", i, l)
		}
		if n := utf8.RuneCountInString(l); n > cols {
			t.Errorf("line %d is %d runes wide, printer is %d: %q", i, n, cols, l)
		}
	}
}

func TestWidthRange(t *testing.T) {
	for _, cols := range []int{-1, 0, 16, 23, 65, 80} {
		if _, err := BankTicket(briefBank(t), cols); !errors.Is(err, ErrWidth) {
			t.Errorf("BankTicket at %d columns: err = %v, want ErrWidth", cols, err)
		}
		if _, err := Note(briefNote(t), cols); !errors.Is(err, ErrWidth) {
			t.Errorf("Note at %d columns: err = %v, want ErrWidth", cols, err)
		}
	}
	for _, cols := range []int{24, 33, 64} {
		if _, err := Note(variantNote(t), cols); err != nil {
			t.Errorf("Note at %d columns: %v", cols, err)
		}
	}
}
