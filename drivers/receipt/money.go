package receipt

import "github.com/passerelle/passerelle/gateway"

// FormatCents formats an amount in cents the French way: "1 234,56",
// "-5,00", with an ordinary space between thousands (see the package
// documentation for why). It is the gateway's, so that a terminal's screens
// and its receipts show the same amounts.
func FormatCents(c int64) string {
	return gateway.FormatCents(c)
}

// formatRate formats a VAT rate in basis points: 1000 is "10,00%", as on the
// brief's note. Basis points are hundredths of a percent, as cents are of a
// euro, hence FormatCents.
func formatRate(bp int64) string {
	return FormatCents(bp) + "%"
}
