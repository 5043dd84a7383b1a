package main

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/passerelle/passerelle/drivers/listener"
	"github.com/passerelle/passerelle/drivers/metrics"
	"github.com/passerelle/passerelle/drivers/terminalws"
	"github.com/passerelle/passerelle/drivers/tillapi"
	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/store"
)

// newMetrics wires the metrics to the gateway's parts, and has the store's
// writer report its commits.
func newMetrics(st *store.Store, hub *terminalws.Hub, api *tillapi.Server, sync upstreamState, log *slog.Logger) *metrics.Metrics {
	m := metrics.New(metrics.Config{
		Counts: func(ctx context.Context) (metrics.Counts, error) {
			c, err := st.Counts(ctx)
			if err != nil {
				return metrics.Counts{}, err
			}
			out := metrics.Counts{TicketsByStatus: c.TicketsByStatus, PaymentsByStatus: c.PaymentsByStatus,
				LastSeq: c.LastSeq, UpstreamAcked: c.UpstreamAcked, CompactedThrough: c.CompactedThrough, DBBytes: c.DBBytes, WALBytes: c.WALBytes}
			for _, q := range c.Webhooks {
				out.Webhooks = append(out.Webhooks, metrics.WebhookQueue{Till: q.Till, Pending: q.Pending, Attempts: q.Attempts})
			}
			return out, nil
		},
		TerminalsOnline: func() int { return len(hub.OnlineIDs()) },
		EventStreams:    api.OpenStreams,
		UpstreamState: func(ctx context.Context) string {
			s, err := sync.Status(ctx)
			if err != nil {
				return gateway.UpstreamError
			}
			return s.State
		},
		Version: version,
		Log:     log,
	})
	st.ObserveCommits(m.ObserveCommit)
	return m
}

// metricsListener is the plain listener of metrics.listen: /metrics
// without a key, and nothing else.
func metricsListener(ctx context.Context, addr string, m *metrics.Metrics, log *slog.Logger) (*listener.Server, error) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	srv, err := listener.Listen(ctx, addr, nil, mux, log)
	if err != nil {
		return nil, err
	}
	log.Info("metrics listener", "addr", srv.Addr().String())
	return srv, nil
}
