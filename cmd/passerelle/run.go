package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/passerelle/passerelle/docs"
	"github.com/passerelle/passerelle/drivers/listener"
	"github.com/passerelle/passerelle/drivers/terminalws"
	"github.com/passerelle/passerelle/drivers/tillapi"
	"github.com/passerelle/passerelle/drivers/webhook"
	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/store"
	"github.com/passerelle/passerelle/sync/upstream"
	"github.com/passerelle/passerelle/web"
)

// Files in the data directory.
const (
	dbFile        = "passerelle.db"
	scenariosFile = "scenarios.yaml"
)

// eventWindow is how many recent events the bus keeps in memory: enough for
// readers a few seconds behind at full load, small enough that the events'
// JSON (1.5 KB on average) stays a few megabytes.
const eventWindow = 2048

// storeWatch is how often the gateway looks for events that another process
// (a CLI command) wrote to the store.
const storeWatch = 500 * time.Millisecond

func runGateway(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := dataFlag(fs)
	listen := fs.String("listen", os.Getenv("PASSERELLE_LISTEN"), "listen address, default :8420 (env PASSERELLE_LISTEN)")
	noTLS := fs.Bool("no-tls", false, "serve plain HTTP (tests, or behind a TLS proxy)")
	coalesce := fs.Duration("coalesce", terminalws.Coalesce, "how long changes are gathered before terminals are told of them, as one frame each; 0 for none (docs/benchmarks.md)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	cfg, err := loadConfig(*data)
	if err != nil {
		return err
	}
	if *listen != "" {
		cfg.Listen = *listen
	}
	if *noTLS {
		cfg.TLS = false
	}
	return serve(ctx, *data, cfg, tuning{coalesce: cmp.Or(*coalesce, -1)}, log)
}

// tuning is what `run` can set that the shop's configuration does not
// have: knobs to measure the gateway by (docs/benchmarks.md). The zero
// value is the defaults, as the service runs.
type tuning struct {
	coalesce time.Duration // terminalws.Config.Coalesce
}

func loadConfig(data string) (gateway.Config, error) {
	if err := checkDataDir(data); err != nil {
		return gateway.Config{}, err
	}
	if err := os.MkdirAll(data, 0o700); err != nil {
		return gateway.Config{}, fmt.Errorf("data directory: %w", err)
	}
	return gateway.LoadConfig(filepath.Join(data, gateway.ConfigFile))
}

func serve(ctx context.Context, data string, cfg gateway.Config, tune tuning, log *slog.Logger) error {
	abs, _ := filepath.Abs(data)
	bus := gateway.NewEventBus(eventWindow)
	st, err := store.Open(ctx, filepath.Join(data, dbFile), log, bus)
	if err != nil {
		return err
	}
	defer st.Close() // last: after the server and the workers have stopped
	last, err := st.LastSeq(ctx)
	if err != nil {
		return err
	}
	bus.Start(last)

	scenarios, err := gateway.NewScenarioFile(filepath.Join(data, scenariosFile), log)
	if err != nil {
		return err
	}
	// The admin page edits the shop's settings: what reads them reads
	// them live.
	live := newSettings(filepath.Join(data, gateway.ConfigFile), cfg)
	tickets := gateway.NewTickets(st, live.Rules, time.Now)
	tills := gateway.NewTills(st, time.Now)
	events := gateway.NewEventLog(st, bus)
	hooks := webhook.New(webhook.Config{Store: st, Events: events, Log: log})
	payments := gateway.NewPayments(st, time.Now, 0)
	printer := livePrinter{live}
	terminals := gateway.NewTerminals(st, time.Now)
	clock := gateway.NewClockWatch(time.Now)
	hub := terminalws.New(terminalws.Config{
		Clock:     clock,
		Tills:     tills,
		Terminals: terminals,
		Payments:  payments,
		Sessions:  gateway.NewSessions(st, payments, scenarios.Current, printer, time.Now),
		Events:    events,
		Log:       log,
		Coalesce:  tune.coalesce,
	})
	discovery := gateway.NewDiscovery(st, hub.Online, time.Now)
	captures, err := newCaptures(cfg, data, tickets, log)
	if err != nil {
		return err
	}
	gatewayID, err := gateway.GatewayID(ctx, st, time.Now)
	if err != nil {
		return err
	}

	upSettings := upstreamSettings(filepath.Join(data, gateway.ConfigFile))
	syncState := upstreamState{store: st, settings: upSettings, data: data}
	pusher := upstream.New(upstream.Config{Store: st, Events: events, Settings: upSettings, DataDir: data,
		Orders: tickets, OrderCursor: st.WebCursor,
		Location: func() *time.Location { return live.Config().Location() }, Log: log, Now: time.Now})

	mux := http.NewServeMux()
	hub.Register(mux)
	parts := newParts()
	parts.check("terminals", hub.Health)
	parts.check("store", st.WriteHealth)
	api := tillapi.New(tillapi.Config{Tickets: tickets, Tills: tills, Events: events, Log: log, Abort: hub.Abort, OpenAPI: docs.OpenAPI, Compacted: st.CompactedThrough, Clock: clock,
		Health: func(ctx context.Context) tillapi.Health {
			h := tillapi.Health{Status: "ok", Version: version, Store: "ok", Upstream: gateway.UpstreamDisabled}
			if err := st.Ping(ctx); err != nil {
				h.Status, h.Store = "degraded", "error"
			} else if st.WriteHealth() != nil {
				h.Status, h.Store = "degraded", "full"
			}
			if down := parts.down(); len(down) > 0 {
				h.Status, h.Down = "degraded", down
			}
			if s, err := syncState.Status(ctx); err == nil {
				h.Upstream = s.State
			}
			return h
		}})
	api.Register(mux)
	met := newMetrics(st, hub, api, syncState, log)
	mux.Handle("GET /metrics", met.AdminOnly(tills))

	hosts := hostNames(slices.Concat(cfg.AllowedHosts, mdnsHostNames(cfg)))
	var cert *tls.Certificate
	scheme, fingerprint := "http", ""
	if cfg.TLS {
		c, err := listener.LoadOrCreateCert(data, hosts, time.Now())
		if err != nil {
			return err
		}
		cert, scheme, fingerprint = &c, "https", listener.Fingerprint(c)
		log.Info("TLS certificate", "fingerprint", fingerprint, "pin", listener.PublicKeyPin(c))
	}

	// The admin page: / and below, beside /api/, /ws/ and /healthz. Until
	// its password is chosen, the setup page asks for the code in the data
	// directory: being first on the LAN is not enough to choose it.
	codeDir := abs // the path shown to the manager: absolute if it can be
	if codeDir == "" {
		codeDir = data
	}
	codes := gateway.NewSetupCodeFile(codeDir)
	admin := gateway.NewAdmin(st, codes, time.Now)
	_, err = admin.SetupCode(ctx)
	needSetup := err == nil
	if err != nil && !errors.Is(err, gateway.ErrAdminPasswordSet) {
		return err
	}
	link := &linkTarget{} // known once bound, before serving
	web.New(web.Config{Admin: admin, Tickets: tickets, Tills: tills, Terminals: terminals, Payments: payments,
		Events: events, Store: st, Hub: hub, Scenarios: scenarios, Settings: live, Webhooks: hooks, Discovery: webDiscovery{discovery}, Sync: syncState, Upstream: syncState,
		Capture:     captureView{captures, data},
		PairingLink: func(code string) string { return link.link(code) },
		Fingerprint: fingerprint, DataDir: data, SetupCodeFile: codes.Path(), Version: version, Log: log, Now: time.Now,
		Alerts: boxAlerts(st, clock)}).Register(mux)
	srv, err := listener.Listen(ctx, cfg.Listen, cert, listener.HostCheck(hosts, mux), log)
	if err != nil {
		return err
	}
	if *link, err = boundTarget(srv.Addr().String(), cfg.MDNS.Interfaces, fingerprint); err != nil {
		return err
	}
	defer recordListening(data, srv.Addr(), cfg, fingerprint, log)()
	log.Info("passerelle started", "version", version, "data", abs, "url", openURL(scheme, srv.Addr()))
	if needSetup {
		// The code itself is never logged: logs travel further than the
		// box's disk.
		log.Warn("the admin password is not set: open url and type the setup code, which is in file or printed by `passerelle admin setup-code`",
			"url", openURL(scheme, srv.Addr()), "file", codes.Path())
	}

	var msrv *listener.Server
	if cfg.Metrics.Listen != "" {
		if msrv, err = metricsListener(ctx, cfg.Metrics.Listen, met, log); err != nil {
			return err
		}
	}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(parts.run(gctx, "server", srv.Run))
	if msrv != nil {
		g.Go(parts.run(gctx, "metrics", msrv.Run))
	}
	g.Go(parts.run(gctx, "webhooks", hooks.Run))
	g.Go(parts.run(gctx, "retention", func(ctx context.Context) error {
		return st.RunRetention(ctx, retentionPolicy(cfg, upSettings), retentionEvery, time.Now, log)
	}))
	g.Go(parts.run(gctx, "upstream", pusher.Run))
	g.Go(parts.run(gctx, "terminals", hub.Run))
	g.Go(parts.run(gctx, "scenarios", scenarios.Run))
	for _, c := range captures {
		g.Go(parts.run(gctx, "capture "+c.Status().Name, c.Run))
	}
	g.Go(parts.run(gctx, "event watch", func(ctx context.Context) error { return events.WatchStore(ctx, storeWatch, log) }))
	// systemd's notifications are optional (none outside systemd): not a part.
	g.Go(func() error { return superviseSystemd(gctx, st.Ping, log) })
	// mDNS is optional: its tasks log their failure and return nil.
	shopName := func() string { return live.Config().Shop.Name }
	for _, task := range discoveryTasks(cfg, shopName, gatewayID, srv.Addr(), fingerprint, discovery, log) {
		g.Go(func() error { return task(gctx) })
	}
	err = g.Wait()
	if err != nil && !errors.Is(err, context.Canceled) {
		log.Error("passerelle stopped: a part stopped for good", "err", err)
	}
	log.Info("passerelle stopped")
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// hostNames is what the Host check and the certificate accept: the box's
// own names and the configured ones.
func hostNames(extra []string) []string {
	names := append([]string{"localhost"}, extra...)
	if h, err := os.Hostname(); err == nil && h != "" {
		h = strings.ToLower(h)
		names = append(names, h, h+".local")
	}
	return names
}

// openURL is the address to print for a person: a wildcard listen address
// becomes localhost.
func openURL(scheme string, addr net.Addr) string {
	host, port, _ := net.SplitHostPort(addr.String())
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return scheme + "://" + net.JoinHostPort(host, port) + "/"
}
