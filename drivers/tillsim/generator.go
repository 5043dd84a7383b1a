package tillsim

import (
	crand "crypto/rand"
	"fmt"
	"math/rand/v2"
	"strconv"

	"github.com/passerelle/passerelle/gateway"
)

// VAT rates of a French restaurant, in basis points: food and soft drinks
// served at the table are at 10 %, alcohol at 20 %.
const (
	VATFood    = 1000
	VATAlcohol = 2000
)

// Tables is how many tables the simulated restaurant has, numbered from 1.
const Tables = 30

type dish struct {
	label string
	price int64 // cents, VAT included
	vat   int64
}

// The menu, by course. Prices are a Paris brasserie's.
var (
	aperitifs = []dish{
		{"KIR", 550, VATAlcohol},
		{"COUPE DE CHAMPAGNE", 1100, VATAlcohol},
		{"PASTIS", 450, VATAlcohol},
		{"DEMI PRESSION", 450, VATAlcohol},
		{"DIABOLO MENTHE", 400, VATFood},
	}
	starters = []dish{
		{"SOUPE À L'OIGNON", 850, VATFood},
		{"SALADE DE CHÈVRE CHAUD", 1100, VATFood},
		{"ŒUF MAYONNAISE", 650, VATFood},
		{"TERRINE DE CAMPAGNE", 900, VATFood},
		{"ESCARGOTS DE BOURGOGNE X6", 1250, VATFood},
	}
	mains = []dish{
		{"ENTRECÔTE FRITES", 2350, VATFood},
		{"STEAK TARTARE", 1950, VATFood},
		{"CONFIT DE CANARD", 2150, VATFood},
		{"BŒUF BOURGUIGNON", 2050, VATFood},
		{"PAVÉ DE SAUMON", 1990, VATFood},
		{"MOULES FRITES", 1700, VATFood},
		{"CROQUE-MONSIEUR", 1250, VATFood},
		{"PLAT DU JOUR", 1500, VATFood},
	}
	desserts = []dish{
		{"CRÈME BRÛLÉE", 750, VATFood},
		{"TARTE TATIN", 800, VATFood},
		{"MOUSSE AU CHOCOLAT", 700, VATFood},
		{"ÎLE FLOTTANTE", 700, VATFood},
		{"PROFITEROLES", 900, VATFood},
	}
	wines = []dish{
		{"PICHET CÔTES DU RHÔNE", 1800, VATAlcohol},
		{"VERRE DE BORDEAUX", 650, VATAlcohol},
		{"BOUTEILLE SANCERRE", 3900, VATAlcohol},
		{"PICHET ROSÉ DE PROVENCE", 1700, VATAlcohol},
	}
	hotDrinks = []dish{
		{"CAFÉ", 220, VATFood},
		{"CAFÉ CRÈME", 380, VATFood},
		{"THÉ VERT", 450, VATFood},
	}
	water   = dish{"EAU MINÉRALE 50CL", 450, VATFood}
	servers = []string{"Julie", "Thomas", "Camille", "Nicolas", "Léa", "Mathieu", "Inès"}
)

// DiscountLabel is the label of the loyalty discount line.
const DiscountLabel = "REMISE FIDÉLITÉ"

// Generator makes plausible restaurant tickets. The same seed gives the same
// tickets; refs are the prefix and a counter, so they are unique per prefix.
// A Generator is not safe for concurrent use.
type Generator struct {
	rng    *rand.Rand
	prefix string
	n      int
}

// NewGenerator returns a generator whose tickets are refs prefix-000001,
// prefix-000002, ….
func NewGenerator(seed uint64, prefix string) *Generator {
	return &Generator{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), prefix: prefix}
}

// RunPrefix returns a ref prefix that is unique to this run: "SIM-" and six
// random letters. Letters only, so that the counter's digits can never join
// them into something that looks like a card number, which the gateway
// refuses.
func RunPrefix() string {
	const letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
	b := make([]byte, 6)
	crand.Read(b)
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return "SIM-" + string(b)
}

// Next returns the next ticket. Its total is always the sum of its lines,
// and always positive.
func (g *Generator) Next() gateway.TicketInput {
	g.n++
	r := g.rng
	covers := g.covers()
	in := gateway.TicketInput{
		Ref:      fmt.Sprintf("%s-%06d", g.prefix, g.n),
		Table:    strconv.Itoa(1 + r.IntN(Tables)),
		Covers:   int64(covers),
		Server:   servers[r.IntN(len(servers))],
		Currency: gateway.DefaultCurrency,
	}
	if r.IntN(4) == 0 {
		in.Loyalty = strconv.Itoa(100 + r.IntN(900))
	}

	// A till prints one line per dish with its quantity, in the order the
	// courses came: count first, then emit in course order.
	var order []dish
	qty := map[string]int64{}
	add := func(d dish, n int64) {
		if n <= 0 {
			return
		}
		if qty[d.label] == 0 {
			order = append(order, d)
		}
		qty[d.label] += n
	}
	pick := func(menu []dish) dish { return menu[r.IntN(len(menu))] }

	for range covers {
		if r.IntN(10) < 3 {
			add(pick(aperitifs), 1)
		}
	}
	for range covers {
		if r.IntN(10) < 4 {
			add(pick(starters), 1)
		}
	}
	for range covers {
		if r.IntN(10) < 9 {
			add(pick(mains), 1)
		}
	}
	if len(qty) == 0 || r.IntN(2) == 0 {
		add(pick(mains), 1) // nobody comes in for nothing
	}
	switch r.IntN(3) {
	case 0:
		add(pick(wines), 1+int64(covers)/3)
	case 1:
		add(water, int64(covers+1)/2)
	}
	for range covers {
		if r.IntN(10) < 5 {
			add(pick(desserts), 1)
		}
	}
	for range covers {
		if r.IntN(10) < 5 {
			add(pick(hotDrinks), 1)
		}
	}

	var food int64
	for _, d := range order {
		l := gateway.Line{Label: d.label, Qty: qty[d.label], UnitPrice: d.price, VATRate: d.vat}
		in.Lines = append(in.Lines, l)
		in.Total += l.Qty * l.UnitPrice
		if d.vat == VATFood {
			food += l.Qty * l.UnitPrice
		}
	}
	// A loyal customer sometimes gets 10 % off the food, never more: the
	// total stays positive.
	if in.Loyalty != "" && r.IntN(2) == 0 && food >= 1000 {
		off := -(food / 10)
		in.Lines = append(in.Lines, gateway.Line{Label: DiscountLabel, Qty: 1, UnitPrice: off, VATRate: VATFood})
		in.Total += off
	}
	return in
}

// Generated is how many tickets Next has returned.
func (g *Generator) Generated() int { return g.n }

// covers is how many people sit at the table: mostly two.
func (g *Generator) covers() int {
	switch n := g.rng.IntN(20); {
	case n < 3:
		return 1
	case n < 12:
		return 2
	case n < 15:
		return 3
	case n < 18:
		return 4
	default:
		return 5 + g.rng.IntN(4)
	}
}
