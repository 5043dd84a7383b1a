package tillsim

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passerelle/passerelle/drivers/tillapi"
	"github.com/passerelle/passerelle/gateway"
)

// fakeGateway accepts tickets the way the till API does on the wire: strict
// decoding, the default rules, 201 for a new ref. It counts how many POSTs
// were in flight at once.
type fakeGateway struct {
	rules gateway.Rules
	mu    sync.Mutex
	refs  map[string]int
	// refuse makes the gateway answer 422 to that ref.
	refuse string
	// hold, if set, is waited on by each request before it answers.
	hold chan struct{}

	inFlight, maxInFlight atomic.Int32
}

func newFakeGateway() *fakeGateway {
	return &fakeGateway{rules: gateway.DefaultConfig().Rules(), refs: map[string]int{}}
}

func (g *fakeGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := g.inFlight.Add(1)
	defer g.inFlight.Add(-1)
	for {
		m := g.maxInFlight.Load()
		if n <= m || g.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	if g.hold != nil {
		<-g.hold
	}
	if r.Method != http.MethodPost || r.URL.Path != "/api/v1/tickets" || r.Header.Get("Authorization") != "Bearer k" {
		http.Error(w, "unexpected request", http.StatusBadRequest)
		return
	}
	body, _ := io.ReadAll(r.Body)
	in, err := tillapi.DecodeTicket(body)
	if err == nil {
		err = g.rules.Validate(&in)
	}
	if err == nil && in.Ref == g.refuse {
		err = errors.New("refused by the test")
	}
	if err != nil {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusUnprocessableEntity)
		fmt.Fprintf(w, `{"title":"Invalid ticket","status":422,"detail":%q}`, err.Error())
		return
	}
	g.mu.Lock()
	g.refs[in.Ref]++
	first := g.refs[in.Ref] == 1
	g.mu.Unlock()
	if first {
		w.WriteHeader(http.StatusCreated)
	}
	fmt.Fprint(w, `{}`)
}

func TestLoadSendsEveryTicketOnce(t *testing.T) {
	g := newFakeGateway()
	g.refuse = "L-000007"
	srv := httptest.NewServer(g)
	defer srv.Close()
	c := NewClient(ClientConfig{URL: srv.URL, Key: "k", Conn: 4})
	var sends atomic.Int32
	l := Load{Tickets: 60, Concurrency: 4, OnSend: func(string, time.Time) { sends.Add(1) }}
	rep := l.Run(context.Background(), c, NewGenerator(1, "L"))

	if rep.Sent != 60 || rep.Created() != 59 || rep.ByStatus[422] != 1 || rep.Failed() != 1 || rep.Errors != 0 {
		t.Errorf("report %+v", rep)
	}
	if !strings.Contains(rep.Problems[422], "refused by the test") {
		t.Errorf("422 problem %q", rep.Problems[422])
	}
	if rep.Latency.N != 60 || rep.Elapsed <= 0 || rep.Throughput() <= 0 {
		t.Errorf("latency %+v, elapsed %v", rep.Latency, rep.Elapsed)
	}
	if sends.Load() != 60 || len(g.refs) != 59 {
		t.Errorf("OnSend called %d times, gateway saw %d refs", sends.Load(), len(g.refs))
	}
	for ref, n := range g.refs {
		if n != 1 {
			t.Errorf("ref %s posted %d times", ref, n)
		}
	}
	if m := g.maxInFlight.Load(); m > 4 {
		t.Errorf("%d POSTs in flight at once, concurrency is 4", m)
	}
}

// TestLoadConcurrency holds every answer until all workers have a POST in
// flight: the load must really run them side by side.
func TestLoadConcurrency(t *testing.T) {
	g := newFakeGateway()
	g.hold = make(chan struct{})
	srv := httptest.NewServer(g)
	defer srv.Close()
	go func() {
		// Not a speed check: a bound, so that a load that never has 8 POSTs
		// in flight fails the test instead of hanging it.
		deadline := time.Now().Add(time.Minute)
		for g.inFlight.Load() < 8 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		close(g.hold)
	}()
	c := NewClient(ClientConfig{URL: srv.URL, Key: "k", Conn: 8})
	rep := Load{Tickets: 16, Concurrency: 8}.Run(context.Background(), c, NewGenerator(2, "C"))
	if rep.Created() != 16 || g.maxInFlight.Load() != 8 {
		t.Errorf("created %d, max in flight %d; want 16, 8", rep.Created(), g.maxInFlight.Load())
	}
}

func TestLoadStopsWhenCancelled(t *testing.T) {
	g := newFakeGateway()
	srv := httptest.NewServer(g)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var n atomic.Int32
	l := Load{Tickets: 1000, Rate: 1e6, OnSend: func(string, time.Time) {
		if n.Add(1) == 5 {
			cancel()
		}
	}}
	rep := l.Run(ctx, NewClient(ClientConfig{URL: srv.URL, Key: "k"}), NewGenerator(3, "X"))
	if rep.Sent > 5 || rep.Failed() != 0 {
		t.Errorf("after cancel: %+v; want at most 5 sent, none failed", rep)
	}
}

func TestLoadNoGateway(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	rep := Load{Tickets: 3}.Run(context.Background(), NewClient(ClientConfig{URL: url, Key: "k"}), NewGenerator(4, "N"))
	if rep.Sent != 3 || rep.Errors != 3 || rep.Failed() != 3 || rep.FirstErr == nil || rep.Latency.N != 0 {
		t.Errorf("against a closed port: %+v", rep)
	}
}

func TestTLSPinning(t *testing.T) {
	g := newFakeGateway()
	srv := httptest.NewTLSServer(g)
	defer srv.Close()
	sum := sha256.Sum256(srv.Certificate().Raw)
	fp := hex.EncodeToString(sum[:])
	colons := strings.ToUpper(strings.Join(splitEvery(fp, 2), ":"))
	wrong := "00" + fp[2:]

	body := []byte(`{"ref":"P1","lines":[{"label":"CAFÉ","qty":1,"unit_price":220,"vat_rate":1000}],"total":220}`)
	tests := []struct {
		name        string
		fingerprint string
		insecure    bool
		wantErr     string // "" for a 2xx
	}{
		{"pinned", fp, false, ""},
		{"pinned with colons", colons, false, ""},
		{"pin wins over insecure", wrong, true, "not the pinned"},
		{"wrong pin", wrong, false, "not the pinned"},
		{"insecure", "", true, ""},
		{"system roots", "", false, "certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conf, err := TLSConfig(tt.fingerprint, tt.insecure)
			if err != nil {
				t.Fatal(err)
			}
			c := NewClient(ClientConfig{URL: srv.URL, Key: "k", TLS: conf})
			res, err := c.PostTicket(context.Background(), body)
			switch {
			case tt.wantErr == "" && (err != nil || res.Status/100 != 2):
				t.Errorf("got %+v, %v; want a 2xx", res, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("got %+v, %v; want an error with %q", res, err, tt.wantErr)
			}
			var cve *tls.CertificateVerificationError
			if tt.name == "system roots" && !errors.As(err, &cve) {
				t.Errorf("error %v is not a certificate verification error", err)
			}
		})
	}
	for _, bad := range []string{"zz", fp[:62], fp + "00"} {
		if _, err := TLSConfig(bad, false); err == nil {
			t.Errorf("fingerprint %q accepted", bad)
		}
	}
}

func splitEvery(s string, n int) []string {
	var out []string
	for len(s) > n {
		out = append(out, s[:n])
		s = s[n:]
	}
	return append(out, s)
}

// TestLoadOverTLS runs the load's own connections over TLS, pinned.
func TestLoadOverTLS(t *testing.T) {
	g := newFakeGateway()
	srv := httptest.NewTLSServer(g)
	defer srv.Close()
	sum := sha256.Sum256(srv.Certificate().Raw)
	conf, err := TLSConfig(hex.EncodeToString(sum[:]), false)
	if err != nil {
		t.Fatal(err)
	}
	c := NewClient(ClientConfig{URL: srv.URL, Key: "k", TLS: conf, Conn: 3})
	rep := Load{Tickets: 30, Concurrency: 3}.Run(context.Background(), c, NewGenerator(5, "T"))
	if rep.Created() != 30 || rep.Failed() != 0 {
		t.Errorf("over TLS: %+v", rep)
	}

	wrong, _ := TLSConfig(strings.Repeat("00", 32), false)
	c = NewClient(ClientConfig{URL: srv.URL, Key: "k", TLS: wrong})
	rep = Load{Tickets: 2}.Run(context.Background(), c, NewGenerator(6, "W"))
	if rep.Errors != 2 || rep.FirstErr == nil || !strings.Contains(rep.FirstErr.Error(), "not the pinned") {
		t.Errorf("with a wrong pin: %+v", rep)
	}
}

// TestLoadConnectionClose: a gateway that closes the connection after each
// answer (Connection: close) or while it is idle costs a new connection,
// never a failed ticket.
func TestLoadConnectionClose(t *testing.T) {
	g := newFakeGateway()
	srv := httptest.NewUnstartedServer(g)
	srv.Config.SetKeepAlivesEnabled(false)
	srv.Start()
	defer srv.Close()
	c := NewClient(ClientConfig{URL: srv.URL, Key: "k", Conn: 2})
	rep := Load{Tickets: 20, Concurrency: 2}.Run(context.Background(), c, NewGenerator(7, "K"))
	if rep.Created() != 20 || rep.Failed() != 0 {
		t.Errorf("with Connection: close: %+v", rep)
	}

	srv2 := httptest.NewServer(g)
	defer srv2.Close()
	pc, err := NewClient(ClientConfig{URL: srv2.URL, Key: "k"}).PostConn()
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	gen := NewGenerator(8, "I")
	for i := range 3 {
		body, _ := json.Marshal(gen.Next())
		res, err := pc.Post(context.Background(), body)
		if err != nil || res.Status != http.StatusCreated {
			t.Fatalf("post %d: %+v, %v", i, res, err)
		}
		srv2.CloseClientConnections() // the idle connection goes away
	}
}

// TestLoadDeadlineIsNoFailure: a run whose context ends while POSTs are
// under way counts them as interrupted, not failed, as with net/http.
func TestLoadDeadlineIsNoFailure(t *testing.T) {
	g := newFakeGateway()
	g.hold = make(chan struct{}) // no answer until the end
	srv := httptest.NewServer(g)
	defer srv.Close()
	defer close(g.hold)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	rep := Load{Tickets: 4, Concurrency: 4}.Run(ctx, NewClient(ClientConfig{URL: srv.URL, Key: "k", Conn: 4}), NewGenerator(9, "D"))
	if rep.Failed() != 0 || rep.Sent != 0 {
		t.Errorf("cut by the deadline: %+v; want nothing sent, nothing failed", rep)
	}
}
