package tillapi_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
)

// BenchmarkPostTicket measures the whole POST /api/v1/tickets path over
// real HTTP on loopback: decode, validate, the durable group commit, the
// event, the answer. Client and server share the CPU, as with a till on
// the box itself.
func BenchmarkPostTicket(b *testing.B) {
	for _, conc := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("concurrency=%d", conc), func(b *testing.B) {
			e := newEnv(b, envOptions{})
			key := e.addTill("Caisse bench", false)
			var n atomic.Int64
			b.SetParallelism((conc + 1) / 2) // GOMAXPROCS is 2 here
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					body := fmt.Sprintf(`{"ref":"B%d","table":"%d","lines":[{"label":"PLAT N°4","qty":1,"unit_price":2350,"vat_rate":1000},{"label":"PICHET","qty":1,"unit_price":3000,"vat_rate":2000}],"total":5350}`, i, i%30)
					req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/tickets", bytes.NewBufferString(body))
					req.Header.Set("Authorization", "Bearer "+key)
					resp, err := e.client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusCreated {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tickets/s")
		})
	}
}
