package web_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/web"
)

// fill posts n open tickets, from several goroutines so that the store
// commits them in groups.
func (s *shop) fill(n int) {
	var wg sync.WaitGroup
	work := make(chan int)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				lines := []gateway.Line{{Label: "Menu du jour", Qty: 2, UnitPrice: 1850, VATRate: 1000},
					{Label: "Carafe de vin", Qty: 1, UnitPrice: 1200, VATRate: 2000},
					{Label: "Café", Qty: 2, UnitPrice: 250, VATRate: 1000}}
				_, _, err := s.tickets.Submit(s.t.Context(), s.till, gateway.TicketInput{Ref: fmt.Sprintf("B%04d", i),
					Table: fmt.Sprint(1 + i%40), Server: "Léa", Currency: "EUR", Lines: lines, Total: 2*1850 + 1200 + 2*250})
				if err != nil {
					s.t.Error(err)
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
}

// pageWeight is what a browser downloads for the dashboard: the HTML and
// the stylesheet and script it links to.
func pageWeight(html string) int {
	return len(html) + web.AssetSize("app.css") + web.AssetSize("app.js")
}

// The dashboard stays light: an empty shop's fits a budget that a phone on
// the shop's Wi-Fi loads at once.
func TestDashboardWeight(t *testing.T) {
	s := newShop(t)
	c := s.setup()
	r := c.get("/")
	r.want(t, http.StatusOK)
	w := pageWeight(r.body)
	t.Logf("dashboard, empty shop: HTML %d B + CSS %d B + JS %d B = %d B", len(r.body),
		web.AssetSize("app.css"), web.AssetSize("app.js"), w)
	if w > 24<<10 {
		t.Errorf("the empty dashboard weighs %d bytes, over the 24 KiB budget", w)
	}
}

// BenchmarkDashboard500 is the server's time to answer the dashboard of a
// shop with 500 open tickets: session check, queries and rendering.
//
//	go test -run='^$' -bench=Dashboard -benchmem ./web/
func BenchmarkDashboard500(b *testing.B) {
	s := newShop(b)
	s.fill(500)
	c := s.setup()
	r := c.get("/")
	if r.StatusCode != http.StatusOK || r.count("open-ticket") != 500 {
		b.Fatalf("dashboard: %d, %d tickets", r.StatusCode, r.count("open-ticket"))
	}
	for b.Loop() {
		if r := c.get("/"); r.StatusCode != http.StatusOK {
			b.Fatal(r.StatusCode)
		}
	}
	b.ReportMetric(float64(len(r.body)), "html-B")
	b.ReportMetric(float64(pageWeight(r.body)), "page-B")
}
