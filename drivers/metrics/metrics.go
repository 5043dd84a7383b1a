// Package metrics serves the gateway's metrics in the Prometheus text
// format: counts read from the store at each scrape, gauges of the live
// connections, and the histogram of the store's commits.
package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/passerelle/passerelle/gateway"
)

// Counts is what a scrape reads of the store.
type Counts struct {
	TicketsByStatus  map[string]int64
	PaymentsByStatus map[string]int64
	LastSeq          int64 // the event log's last event
	UpstreamAcked    int64 // the last event the hub acknowledged
	CompactedThrough int64 // the event log's compaction horizon
	Webhooks         []WebhookQueue
	DBBytes          int64
	WALBytes         int64
}

// WebhookQueue is one till's webhook backlog.
type WebhookQueue struct {
	Till     string
	Pending  int64
	Attempts int
}

// Config holds what New needs; every func is called at each scrape.
type Config struct {
	Counts          func(ctx context.Context) (Counts, error)
	TerminalsOnline func() int
	EventStreams    func() int                       // open SSE streams of tills
	UpstreamState   func(ctx context.Context) string // online, offline, error, disabled...
	Version         string
	Log             *slog.Logger
}

// Metrics is the gateway's registry.
type Metrics struct {
	reg     *prometheus.Registry
	commits *prometheus.HistogramVec
	batch   prometheus.Histogram
	log     *slog.Logger
}

// scrapeTimeout bounds the store's reads of one scrape.
const scrapeTimeout = 5 * time.Second

// New returns the registry, with the Go runtime's and the process's own
// metrics beside Passerelle's.
func New(c Config) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), log: c.Log}
	m.commits = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "passerelle_store_commit_seconds",
		Help: "Time of one commit of the store's writer, its fsync included.",
		// From a fast SSD's fsync to an SD card's worst.
		Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .2, .5, 1, 2, 5},
	}, nil)
	m.batch = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "passerelle_store_commit_callers",
		Help:    "Writes (requests) committed together in one commit.",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128},
	})
	m.reg.MustRegister(m.commits, m.batch, &collector{c: c},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	info := prometheus.NewGauge(prometheus.GaugeOpts{Name: "passerelle_build_info", Help: "The running version.",
		ConstLabels: prometheus.Labels{"version": c.Version}})
	info.Set(1)
	m.reg.MustRegister(info)
	return m
}

// ObserveCommit records one commit of the store's writer.
func (m *Metrics) ObserveCommit(took time.Duration, callers int) {
	m.commits.WithLabelValues().Observe(took.Seconds())
	m.batch.Observe(float64(callers))
}

// Handler serves the metrics to anyone: for metrics.listen, a listener of
// its own on a trusted network.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorLog: errorLog{m.log}, ErrorHandling: promhttp.ContinueOnError})
}

// Authenticator resolves a till key (gateway.Tills.Authenticate).
type Authenticator interface {
	Authenticate(ctx context.Context, key string) (gateway.Till, error)
}

// AdminOnly serves the metrics to a request bearing an admin till key, as
// Prometheus sends it (authorization: in its scrape config): 401 without
// a valid key, 403 with a till's own key.
func (m *Metrics) AdminOnly(tills Authenticator) http.Handler {
	h := m.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, key, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		key = strings.TrimSpace(key)
		if !strings.EqualFold(scheme, "Bearer") || key == "" {
			refuse(w, http.StatusUnauthorized, "an admin till key is required: Authorization: Bearer <key>")
			return
		}
		till, err := tills.Authenticate(r.Context(), key)
		switch {
		case errors.Is(err, gateway.ErrUnauthorized):
			refuse(w, http.StatusUnauthorized, "an admin till key is required: Authorization: Bearer <key>")
			return
		case err != nil:
			m.log.Error("metrics: authenticate", "err", err)
			refuse(w, http.StatusInternalServerError, "the gateway could not check the key")
			return
		case !till.Admin:
			refuse(w, http.StatusForbidden, "this till's key is not an admin key (passerelle till add NAME --admin)")
			return
		}
		h.ServeHTTP(w, r)
	})
}

func refuse(w http.ResponseWriter, status int, detail string) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="passerelle"`)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	slug := map[int]string{401: "unauthorized", 403: "forbidden", 500: "internal"}[status]
	json.NewEncoder(w).Encode(map[string]any{"type": "urn:passerelle:problem:" + slug,
		"title": http.StatusText(status), "status": status, "detail": detail})
}

type errorLog struct{ log *slog.Logger }

func (e errorLog) Println(v ...any) { e.log.Warn("metrics: scrape", "err", v) }

// collector reads the counts at each scrape.
type collector struct{ c Config }

var (
	descTickets   = prometheus.NewDesc("passerelle_tickets", "Tickets in the store, by status.", []string{"status"}, nil)
	descPayments  = prometheus.NewDesc("passerelle_payments", "Payments in the store, by outcome (status).", []string{"status"}, nil)
	descLastSeq   = prometheus.NewDesc("passerelle_events_last_seq", "The event log's last event.", nil, nil)
	descCompacted = prometheus.NewDesc("passerelle_events_compacted_through", "The event log's compaction horizon: events up to it no longer carry their ticket.", nil, nil)
	descUpAcked   = prometheus.NewDesc("passerelle_upstream_acked_seq", "The last event the hub acknowledged.", nil, nil)
	descUpLag     = prometheus.NewDesc("passerelle_upstream_lag_events", "Events not yet acknowledged by the hub (0 when sync is off).", nil, nil)
	descUpState   = prometheus.NewDesc("passerelle_upstream_state", "The upstream sync's state: 1 for the current one.", []string{"state"}, nil)
	descHookQueue = prometheus.NewDesc("passerelle_webhook_pending_events", "Events waiting for delivery to a till's callback.", []string{"till"}, nil)
	descHookFail  = prometheus.NewDesc("passerelle_webhook_failed_attempts", "Failed attempts at the first waiting event of a till's callback.", []string{"till"}, nil)
	descTerminals = prometheus.NewDesc("passerelle_terminals_online", "Payment terminals connected now.", nil, nil)
	descStreams   = prometheus.NewDesc("passerelle_event_streams", "Open SSE event streams of tills.", nil, nil)
	descDBBytes   = prometheus.NewDesc("passerelle_store_bytes", "Size of the database's files.", []string{"file"}, nil)
	descScrapeErr = prometheus.NewDesc("passerelle_store_scrape_error", "1 when this scrape could not read the store.", nil, nil)
)

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descTickets, descPayments, descLastSeq, descCompacted, descUpAcked, descUpLag, descUpState,
		descHookQueue, descHookFail, descTerminals, descStreams, descDBBytes, descScrapeErr} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	if c.c.TerminalsOnline != nil {
		gauge(descTerminals, float64(c.c.TerminalsOnline()))
	}
	if c.c.EventStreams != nil {
		gauge(descStreams, float64(c.c.EventStreams()))
	}
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	state := ""
	if c.c.UpstreamState != nil {
		state = c.c.UpstreamState(ctx)
		gauge(descUpState, 1, state)
	}
	n, err := c.c.Counts(ctx)
	if err != nil {
		gauge(descScrapeErr, 1)
		return
	}
	gauge(descScrapeErr, 0)
	for _, st := range []gateway.TicketStatus{gateway.TicketOpen, gateway.TicketPartiallyPaid, gateway.TicketPaid, gateway.TicketOverpaid, gateway.TicketCancelled} {
		gauge(descTickets, float64(n.TicketsByStatus[string(st)]), string(st))
	}
	for _, st := range []gateway.PaymentStatus{gateway.PaymentPending, gateway.PaymentApproved, gateway.PaymentDeclined,
		gateway.PaymentCancelled, gateway.PaymentError, gateway.PaymentUnknown} {
		gauge(descPayments, float64(n.PaymentsByStatus[string(st)]), string(st))
	}
	gauge(descLastSeq, float64(n.LastSeq))
	gauge(descCompacted, float64(n.CompactedThrough))
	gauge(descUpAcked, float64(n.UpstreamAcked))
	lag := 0.0
	if state != "" && state != gateway.UpstreamDisabled && n.LastSeq > n.UpstreamAcked {
		lag = float64(n.LastSeq - n.UpstreamAcked)
	}
	gauge(descUpLag, lag)
	for _, q := range n.Webhooks {
		gauge(descHookQueue, float64(q.Pending), q.Till)
		gauge(descHookFail, float64(q.Attempts), q.Till)
	}
	gauge(descDBBytes, float64(n.DBBytes), "db")
	gauge(descDBBytes, float64(n.WALBytes), "wal")
}
