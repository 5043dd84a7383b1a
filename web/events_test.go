package web_test

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

// stream reads server-sent events, one event's lines at a time.
type stream struct {
	t     *testing.T
	lines chan string
}

func openStream(t *testing.T, srv *httptest.Server, cookie string) (*stream, *http.Response) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/admin/events", nil)
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: "passerelle", Value: cookie})
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	st := &stream{t: t, lines: make(chan string, 100)}
	go func() {
		defer close(st.lines)
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			st.lines <- sc.Text()
		}
	}()
	return st, res
}

// next returns the next event of that name and its data, skipping others.
func (s *stream) next(name string) string {
	s.t.Helper()
	timeout := time.After(10 * time.Second)
	event := ""
	for {
		select {
		case l, ok := <-s.lines:
			if !ok {
				s.t.Fatalf("stream closed before event %q", name)
			}
			if v, ok := strings.CutPrefix(l, "event: "); ok {
				event = v
			}
			if v, ok := strings.CutPrefix(l, "data: "); ok && event == name {
				return v
			}
			if l == "" {
				event = ""
			}
		case <-timeout:
			s.t.Fatalf("no event %q within 10 s", name)
		}
	}
}

func TestLiveEvents(t *testing.T) {
	s := newShop(t)
	c := s.setup()
	srv := httptest.NewServer(s.h)
	defer srv.Close()

	if _, res := openStream(t, srv, ""); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("stream without a session: %d", res.StatusCode)
	}

	st, res := openStream(t, srv, c.session())
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	// A ticket posted by a till is told at once, without its content.
	tk := s.ticket("T-LIVE", "4", gateway.Line{Label: "Secret du chef", Qty: 1, UnitPrice: 500, VATRate: 1000})
	data := st.next("change")
	if !strings.Contains(data, `"type":"ticket.created"`) || !strings.Contains(data, tk.ID) {
		t.Fatalf("change event %s", data)
	}
	if strings.Contains(data, "Secret du chef") {
		t.Fatal("the stream carries the ticket's content")
	}
	// The page it tells of then shows the ticket.
	if r := c.get("/"); !strings.Contains(r.body, tk.ID) {
		t.Fatal("the dashboard does not show the new ticket")
	}

	// A terminal coming online is told too.
	term := s.pair("LIVE-1")
	st.next("change") // terminal.paired
	s.hub.set(term.ID, true)
	if data := st.next("terminals"); data != `{"online":1}` {
		t.Fatalf("terminals event %s", data)
	}

	// The session ends while the page is open: the stream says so.
	s.clock.Add(gateway.AdminSessionTTL)
	st.next("expired")
}
