package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/passerelle/passerelle/gateway"
)

var metricsLine = regexp.MustCompile(`msg="metrics listener" addr=(\S+)`)

// TestMetricsScrape runs a real gateway with metrics.listen, makes tickets
// and an event stream, and scrapes /metrics on both listeners: parsed by
// Prometheus's own text parser, the values are what the gateway did.
func TestMetricsScrape(t *testing.T) {
	bin := buildPasserelle(t)
	data := t.TempDir()
	if err := os.WriteFile(filepath.Join(data, gateway.ConfigFile), []byte("metrics:\n  listen: 127.0.0.1:0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	key := addTill(t, bin, data, "Caisse 1")
	adminKey := addTillArgs(t, bin, data, "Manager", "--admin")
	g := startGateway(t, bin, data)
	hc := &http.Client{Timeout: 30 * time.Second}
	for n := range 5 {
		if status, err := postTicket(hc, g.url, key, content(fmt.Sprintf("M-%d", n), 1)); err != nil || status != 201 {
			t.Fatalf("ticket: %d %v", status, err)
		}
	}
	// One event stream, open while the scrape runs.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", g.url+"/api/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil { // the stream's first comment: it is counted
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, key string
		want      int
	}{{"no key", "", 401}, {"a till's key", key, 403}, {"a wrong key", "ptk_nothing", 401}} {
		if status, body := scrape(t, hc, g.url+"/metrics", tc.key); status != tc.want {
			t.Errorf("%s: %d, want %d: %s", tc.name, status, tc.want, body)
		}
	}
	// The writer reports a commit just after answering its callers: the
	// scrape waits for the fifth.
	var status int
	var body string
	var fams map[string]*dto.MetricFamily
	waitUntil(t, "five commits observed", func() bool {
		status, body = scrape(t, hc, g.url+"/metrics", adminKey)
		if status != 200 {
			t.Fatalf("admin scrape: %d %s", status, body)
		}
		fams = parseMetrics(t, body)
		h := fams["passerelle_store_commit_seconds"]
		return h != nil && h.GetMetric()[0].GetHistogram().GetSampleCount() >= 5
	})
	expectValue(t, fams, "passerelle_tickets", `status="open"`, 5)
	expectValue(t, fams, "passerelle_tickets", `status="paid"`, 0)
	expectValue(t, fams, "passerelle_payments", `status="approved"`, 0)
	expectValue(t, fams, "passerelle_events_last_seq", "", 5)
	expectValue(t, fams, "passerelle_events_compacted_through", "", 0)
	expectValue(t, fams, "passerelle_event_streams", "", 1)
	expectValue(t, fams, "passerelle_terminals_online", "", 0)
	expectValue(t, fams, "passerelle_upstream_lag_events", "", 0)
	expectValue(t, fams, "passerelle_upstream_state", `state="disabled"`, 1)
	expectValue(t, fams, "passerelle_store_scrape_error", "", 0)
	if f := fams["passerelle_store_bytes"]; f == nil || f.GetMetric()[0].GetGauge().GetValue() <= 0 {
		t.Errorf("store bytes: %v", f)
	}

	// metrics.listen: the same, without a key.
	m := metricsLine.FindStringSubmatch(g.log.String())
	if m == nil {
		t.Fatalf("no metrics listener in the log:\n%s", g.log.String())
	}
	status, body = scrape(t, hc, "http://"+m[1]+"/metrics", "")
	if status != 200 {
		t.Fatalf("plain listener: %d %s", status, body)
	}
	expectValue(t, parseMetrics(t, body), "passerelle_tickets", `status="open"`, 5)
	if status, _ := scrape(t, hc, "http://"+m[1]+"/api/v1/tickets", key); status != 404 {
		t.Errorf("the metrics listener serves the till API: %d", status)
	}
}

func addTillArgs(t *testing.T, bin, data, name string, extra ...string) string {
	t.Helper()
	out, err := exec.Command(bin, append([]string{"till", "add", name, "--data", data}, extra...)...).Output()
	if err != nil {
		t.Fatalf("till add: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func scrape(t *testing.T, hc *http.Client, url, key string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func parseMetrics(t *testing.T, body string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse the scrape: %v\n%s", err, body)
	}
	return fams
}

// expectValue checks the gauge of family name whose labels, written
// name="value", include labels.
func expectValue(t *testing.T, fams map[string]*dto.MetricFamily, name, labels string, want float64) {
	t.Helper()
	f := fams[name]
	if f == nil {
		t.Errorf("no %s", name)
		return
	}
	for _, m := range f.GetMetric() {
		var ls []string
		for _, l := range m.GetLabel() {
			ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
		}
		if labels != "" && !strings.Contains(strings.Join(ls, ","), labels) {
			continue
		}
		if got := m.GetGauge().GetValue(); got != want {
			t.Errorf("%s{%s} = %v, want %v", name, labels, got, want)
		}
		return
	}
	t.Errorf("no %s{%s}", name, labels)
}
